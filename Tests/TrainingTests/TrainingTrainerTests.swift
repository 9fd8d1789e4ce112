import Foundation
import Kernels
import Scheduler
import Testing
import Tensor
import Training

/// Standardized train/test splits of a bundled data set (the same preparation `bench train` does).
private func prepared(_ file: String, header: CSVOptions.Header, seed: UInt64) throws -> (Dataset, Dataset) {
    let all = try Dataset(csvFile: file, options: CSVOptions(header: header))
    let (train, test) = all.split(testFraction: 0.2, seed: seed)
    let scaler = FeatureScaler(standardizing: train)
    return (scaler.apply(to: train), scaler.apply(to: test))
}

private func bits(_ values: [[Float]]) -> [[UInt32]] { values.map { $0.map(\.bitPattern) } }

@Suite(.serialized) struct TrainingTrainerTests {
    @Test func irisReaches90PercentWithin40Epochs() throws {
        let (train, test) = try prepared(TrainingFixtures.iris, header: .present, seed: 1)
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        let trainer = try Trainer<Float>(widths: [4, 16, 3], optimizer: .adam(learningRate: .constant(0.01)),
                                  batchSize: 16, seed: 1, executor: executor)
        var first = Double.nan
        for _ in 0..<40 {
            let r = try trainer.trainEpoch(on: train)
            if first.isNaN { first = r.loss }
        }
        let evaluation = try trainer.evaluate(test)
        #expect(evaluation.metric >= 0.90, "iris test accuracy \(evaluation.accuracy)")
        #expect(evaluation.loss < first)
        #expect(evaluation.confusion?.total == test.count)
    }

    @Test func digitsReaches95PercentWithin12Epochs() throws {
        let (train, test) = try prepared(TrainingFixtures.digits, header: .absent, seed: 42)
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        let trainer = try Trainer<Float>(widths: [64, 128, 10], optimizer: .adam(learningRate: .constant(0.001)),
                                  batchSize: 32, seed: 42, executor: executor)
        var results: [Trainer<Float>.EpochResult] = []
        for _ in 0..<12 { results.append(try trainer.trainEpoch(on: train)) }
        let evaluation = try trainer.evaluate(test)
        #expect(evaluation.metric >= 0.95, "digits test accuracy \(evaluation.accuracy)")
        #expect(results.last!.loss < results.first!.loss / 3)
        #expect(results.allSatisfy { $0.samples == train.count })
    }

    @Test(arguments: Optimizer.Kind.allCases)
    func everyOptimizerLowersTheLoss(kind: Optimizer.Kind) throws {
        let (train, _) = try prepared(TrainingFixtures.iris, header: .present, seed: 3)
        let lr: Float = kind == .adam || kind == .adamw ? 0.01 : kind == .sgd ? 0.1 : 0.03
        let trainer = try Trainer<Float>(widths: [4, 8, 3], optimizer: Optimizer(kind: kind, learningRate: .constant(lr), weightDecay: 1e-4),
                                  batchSize: 10, seed: 3, executor: nil)
        let first = try trainer.evaluate(train).loss
        for _ in 0..<5 { _ = try trainer.trainEpoch(on: train) }
        let after = try trainer.evaluate(train).loss
        #expect(after < 0.8 * first, "\(kind): loss \(first) -> \(after)")
        #expect(trainer.optimizerState.step == 5 * 12)
    }

    /// The plan's update hook applies exactly the optimizer step to the gradient the graph computes.
    @Test func updateHookAppliesTheStepToTheGraphsGradient() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 5)
        let mlp = MLP(graph: g, widths: [3, 4, 2], using: &rng)
        let x = g.placeholder("x", shape: [5, 3])
        let y = g.placeholder("y", shape: [5])
        let loss = try Loss.crossEntropy(prediction: mlp(x), target: y)
        let grads = try g.gradients(of: loss, wrt: mlp.parameters)
        let feeds = [x: Tensor<Float>.randomNormal(shape: [5, 3], using: &rng), y: Tensor<Float>([0, 1, 1, 0, 1])]
        let gradientPlan = try Plan(outputs: grads)
        try gradientPlan.run(feeds: feeds)
        let gradientValues = try grads.map { try gradientPlan.value(of: $0).scalars }
        var expected = try mlp.parameters.map { try g.value(of: $0).scalars }
        let velocities = expected.map { [Float](repeating: 0, count: $0.count) }
        for i in expected.indices {
            var v = velocities[i]
            expected[i].withUnsafeMutableBufferPointer { p in
                gradientValues[i].withUnsafeBufferPointer { gr in
                    v.withUnsafeMutableBufferPointer { OptimizerSteps.momentum(parameters: p, gradients: gr, velocity: $0, learningRate: 0.1, momentum: 0.9) }
                }
            }
        }
        let state = OptimizerState<Float>(optimizer: .momentum(learningRate: .constant(0.1)), parameterSizes: mlp.parameters.map(\.count))
        let updates = mlp.parameters.indices.map {
            ParameterUpdate(parameter: mlp.parameters[$0], gradient: grads[$0], state.updateHook(parameter: $0))
        }
        let trainPlan = try Plan(outputs: [loss], updates: updates)
        try trainPlan.run(feeds: feeds)
        state.advance()
        let updated = try mlp.parameters.map { try g.value(of: $0).scalars }
        #expect(bits(updated) == bits(expected))
    }

    /// Same seed, same numbers, whether one worker or two run the plans.
    @Test func oneAndTwoWorkersGiveBitwiseEqualTraining() throws {
        let (train, test) = try prepared(TrainingFixtures.digits, header: .absent, seed: 9)
        func run(workers: Int) throws -> ([[Float]], [Double], Double) {
            let executor = Executor(workers: workers)
            defer { executor.shutdown() }
            let trainer = try Trainer<Float>(widths: [64, 32, 10], optimizer: .adam(learningRate: .constant(0.002)),
                                      batchSize: 50, seed: 9, executor: executor)
            let losses = try (0..<2).map { _ in try trainer.trainEpoch(on: train).loss }
            return (try trainer.parameterValues(), losses, try trainer.evaluate(test).loss)
        }
        let one = try run(workers: 1), two = try run(workers: 2)
        #expect(bits(one.0) == bits(two.0))
        #expect(one.1.map(\.bitPattern) == two.1.map(\.bitPattern))
        #expect(one.2.bitPattern == two.2.bitPattern)
    }

    /// Training 2 epochs, saving, loading into a fresh trainer and training 2 more gives bitwise the
    /// parameters of 4 uninterrupted epochs (the data order, optimizer moments and step all resume).
    @Test(arguments: [Optimizer.Kind.adam, .nesterov])
    func resumingFromACheckpointMatchesUninterruptedTraining(kind: Optimizer.Kind) throws {
        let (train, _) = try prepared(TrainingFixtures.iris, header: .present, seed: 4)
        let optimizer = Optimizer(kind: kind, learningRate: .cosine(base: 0.01, totalSteps: 40, minimum: 0.001))
        func makeTrainer() throws -> Trainer<Float> {
            try Trainer<Float>(widths: [4, 12, 3], optimizer: optimizer, batchSize: 32, seed: 4, executor: nil)
        }
        let straight = try makeTrainer()
        var straightLosses: [Double] = []
        for _ in 0..<4 { straightLosses.append(try straight.trainEpoch(on: train).loss) }

        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try makeTrainer()
        for _ in 0..<2 { _ = try first.trainEpoch(on: train) }
        try first.checkpoint(metadata: ["data": "iris"]).write(to: dir + "/run.ckpt")

        let resumed = try makeTrainer()
        try resumed.restore(from: Checkpoint(contentsOf: dir + "/run.ckpt"))
        #expect(resumed.epoch == 2 && resumed.optimizerState.step == first.optimizerState.step)
        var resumedLosses: [Double] = []
        for _ in 0..<2 { resumedLosses.append(try resumed.trainEpoch(on: train).loss) }
        #expect(bits(try resumed.parameterValues()) == bits(try straight.parameterValues()))
        #expect(resumedLosses.map(\.bitPattern) == straightLosses[2...].map(\.bitPattern))
    }

    /// With a recorder, each batch's run is traced: every task of the batch's plan appears once.
    @Test func batchesCanBeTraced() throws {
        let (train, _) = try prepared(TrainingFixtures.iris, header: .present, seed: 2)
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        let trainer = try Trainer<Float>(widths: [4, 8, 3], optimizer: .adam(learningRate: .constant(0.01)),
                                  batchSize: 50, seed: 2, executor: executor)
        let recorder = TraceRecorder()
        var seen: [(rows: Int, tasks: Int, traced: Int)] = []
        _ = try trainer.trainEpoch(on: train, observer: recorder) { info in
            seen.append((info.rows, info.plan.taskCount, recorder.events.filter { $0.task >= 0 }.count))
            recorder.reset()
        }
        #expect(seen.map(\.rows) == [50, 50, 20])
        #expect(seen.allSatisfy { $0.tasks == $0.traced && $0.tasks > 0 })
    }

    @Test func checkpointsOfOtherModelsAreRejected() throws {
        let small = try Trainer<Float>(widths: [4, 8, 3], optimizer: .adam(learningRate: .constant(0.01)), batchSize: 8, seed: 1, executor: nil)
        let checkpoint = try small.checkpoint()
        let wider = try Trainer<Float>(widths: [4, 9, 3], optimizer: .adam(learningRate: .constant(0.01)), batchSize: 8, seed: 1, executor: nil)
        #expect(throws: CheckpointError.mismatch("parameter 'dense0.weight' has shape [4, 8] in the checkpoint, [4, 9] in the model")) {
            try wider.restore(from: checkpoint)
        }
        let deeper = try Trainer<Float>(widths: [4, 8, 8, 3], optimizer: .adam(learningRate: .constant(0.01)), batchSize: 8, seed: 1, executor: nil)
        #expect(throws: CheckpointError.self) { try deeper.restore(from: checkpoint) }
        let sgd = try Trainer<Float>(widths: [4, 8, 3], optimizer: .sgd(learningRate: .constant(0.01)), batchSize: 8, seed: 1, executor: nil)
        #expect(throws: CheckpointError.self) { try sgd.restore(from: checkpoint) }
        let otherSeed = try Trainer<Float>(widths: [4, 8, 3], optimizer: .adam(learningRate: .constant(0.01)), batchSize: 8, seed: 2, executor: nil)
        #expect(throws: CheckpointError.self) { try otherSeed.restore(from: checkpoint) }
    }

    @Test func dataThatDoesNotFitTheModelIsAnError() throws {
        let trainer = try Trainer<Float>(widths: [5, 8, 3], optimizer: .sgd(learningRate: .constant(0.1)), batchSize: 8, seed: 1, executor: nil)
        let iris = try Dataset(csvFile: TrainingFixtures.iris)
        #expect(throws: ModelSpecError.self) { try trainer.trainEpoch(on: iris) }
        #expect(throws: ModelSpecError.self) { try Trainer<Float>(widths: [4], optimizer: .sgd(learningRate: .constant(0.1)), batchSize: 8, seed: 1, executor: nil) }
    }
}
