import Foundation
import Scheduler
import Testing
import Tensor
import Training

/// `Trainer.trainEpoch(on:) async`: the same training as the blocking form, and cancellable.
@Suite struct AsyncTrainingTests {
    static func irisSplit() throws -> Dataset {
        let all = try Dataset(csvFile: TrainingFixtures.iris, options: CSVOptions(header: .present))
        let (train, _) = all.split(testFraction: 0.2, seed: 3)
        return FeatureScaler(standardizing: train).apply(to: train)
    }

    static func trainer(_ executor: Executor?) throws -> Trainer<Float> {
        try Trainer<Float>(widths: [4, 8, 3], optimizer: .adam(learningRate: .constant(0.01)),
                           batchSize: 16, seed: 3, executor: executor)
    }

    /// Bit for bit the parameters, losses and batch callbacks of the blocking epochs, then the same
    /// evaluation and predictions.
    @Test(arguments: [0, 2])
    func asyncEpochsTrainExactlyAsBlockingOnes(workers: Int) async throws {
        let train = try Self.irisSplit()
        let executor = workers > 0 ? Executor(workers: workers, pinning: false) : nil
        let blocking = try Self.trainer(executor)
        let blockingLosses = try trainBlocking(blocking, on: train, epochs: 3)
        let suspending = try Self.trainer(executor)
        var losses: [Double] = []
        var batches = 0
        for _ in 0..<3 {
            losses.append(try await suspending.trainEpoch(on: train, afterBatch: { _ in batches += 1 }).loss)
        }
        #expect(suspending.epoch == 3)
        #expect(batches == 3 * ((train.count + 15) / 16))
        #expect(losses.map(\.bitPattern) == blockingLosses.map(\.bitPattern))
        let a = try blocking.parameterValues(), b = try suspending.parameterValues()
        #expect(a.map { $0.map(\.bitPattern) } == b.map { $0.map(\.bitPattern) })
        // Evaluation and prediction too (the same model, so the same figures).
        let (evaluated, predicted) = try evaluateBlocking(blocking, on: train)
        let evaluatedAsync = try await suspending.evaluate(train)
        let predictedAsync = try await suspending.predict(train)
        #expect(evaluatedAsync.loss.bitPattern == evaluated.loss.bitPattern)
        #expect(evaluatedAsync.predictions == evaluated.predictions)
        #expect(evaluatedAsync.accuracy == evaluated.accuracy)
        #expect(predictedAsync.width == 3 && predicted.width == 3)
        #expect(predictedAsync.values == predicted.values)
        #expect(predictedAsync.values.count == train.count * 3)
    }

    /// A cancelled task trains nothing: `CancellationError`, no epoch counted, parameters unchanged.
    @Test func aCancelledEpochThrowsAndDoesNotCount() async throws {
        let train = try Self.irisSplit()
        let outcome = Task { () async throws -> (error: (any Error)?, epoch: Int, unchanged: Bool) in
            let trainer = try Self.trainer(Executor(workers: 2, pinning: false))
            let before = try trainer.parameterValues()
            withUnsafeCurrentTask { $0?.cancel() }
            var error: (any Error)? = nil
            do { _ = try await trainer.trainEpoch(on: train) } catch let e { error = e }
            return (error, trainer.epoch, try trainer.parameterValues() == before)
        }
        let (error, epoch, unchanged) = try await outcome.value
        #expect(error is CancellationError, "threw \(String(describing: error))")
        #expect(epoch == 0)
        #expect(unchanged)
    }
}

/// The blocking epochs, from a synchronous function (the blocking form is unavailable in async code).
private func trainBlocking(_ trainer: Trainer<Float>, on data: Dataset, epochs: Int) throws -> [Double] {
    try (0..<epochs).map { _ in try trainer.trainEpoch(on: data).loss }
}

private func evaluateBlocking(_ trainer: Trainer<Float>, on data: Dataset) throws
    -> (Trainer<Float>.Evaluation, (values: [Double], width: Int)) {
    (try trainer.evaluate(data), try trainer.predict(data))
}
