import Kernels
import Scheduler
import Testing
import Tensor
import Training

/// A stand-in for a data-parallel exchange in one process: trains `share` of each batch (the
/// whole batch or its first half), lets the plan hand over each gradient, and applies the
/// optimizer's updates after the run, as a reducer does once the sums have arrived.
private final class LoopbackExchange: GradientExchange {
    typealias Scalar = Float
    let state: OptimizerState<Float>
    let half: Bool
    /// Raw memory, allocated once: hooks of different parameters run at the same time on
    /// different workers, each writing only its own parameter's slots.
    let gradients: [UnsafeMutableBufferPointer<Float>]
    let storage: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>
    var steps: [(local: Int, batch: Int)] = []
    var finished = 0

    init(state: OptimizerState<Float>, half: Bool) {
        self.state = state
        self.half = half
        gradients = state.parameterSizes.map { n in
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
            b.initialize(repeating: 0)
            return b
        }
        storage = .allocate(capacity: state.parameterSizes.count)
        storage.initialize(repeating: nil, count: state.parameterSizes.count)
    }

    deinit {
        for g in gradients { g.deallocate() }
        storage.deallocate()
    }

    func localRows(of batch: ArraySlice<Int>) -> ArraySlice<Int> {
        half ? batch.prefix((batch.count + 1) / 2) : batch
    }

    func planUpdate(parameter index: Int, replacing update: ParameterUpdate<Float>) -> ParameterUpdate<Float> {
        let storage = Unchecked(storage), copy = Unchecked(gradients[index])
        var hook = ParameterUpdate(parameter: update.parameter, gradient: update.gradient, name: "copy \(index)") { values, g in
            storage.value[index] = values.baseAddress
            _ = copy.value.update(fromContentsOf: g)
        }
        hook.writesParameter = false
        hook.priority = index + 1
        return hook
    }

    func beginStep(localRows: Int, batchRows: Int) throws { steps.append((localRows, batchRows)) }

    func finishStep() throws {
        for p in gradients.indices {
            state.update(parameter: p, values: UnsafeMutableBufferPointer(start: storage[p]!, count: gradients[p].count),
                         gradients: UnsafeBufferPointer(gradients[p]))
        }
        finished += 1
    }
}

/// Pointers a hook may capture (hooks are `@Sendable`; each writes only its own parameter's memory).
private struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// `Trainer.gradientExchange`: the hook a data-parallel run plugs into the training step.
@Suite struct GradientExchangeTests {
    /// Handing gradients out of the plan and updating after the run is the same computation as
    /// updating inside it: the parameters and losses are bitwise those of a trainer alone.
    @Test func anExchangeThatKeepsTheWholeBatchTrainsBitwiseLikeATrainerAlone() throws {
        let data = try Dataset.synthetic(count: 100, featureCount: 12, classCount: 3, seed: 7)
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        func make() throws -> Trainer<Float> {
            try Trainer<Float>(widths: [12, 16, 3], optimizer: .adam(learningRate: .constant(0.01)),
                               batchSize: 32, seed: 3, executor: executor)
        }
        let alone = try make(), exchanged = try make()
        let exchange = LoopbackExchange(state: exchanged.optimizerState, half: false)
        exchanged.gradientExchange = exchange
        for _ in 0..<3 {
            let a = try alone.trainEpoch(on: data), b = try exchanged.trainEpoch(on: data)
            #expect(a.loss.bitPattern == b.loss.bitPattern)
            #expect(a.samples == b.samples)
        }
        let expected = try alone.parameterValues().map { $0.map(\.bitPattern) }
        #expect(try exchanged.parameterValues().map { $0.map(\.bitPattern) } == expected)
        // 100 rows in batches of 32: 32, 32, 32, 4 per epoch, 3 epochs.
        #expect(exchange.steps.map(\.batch) == Array(repeating: [32, 32, 32, 4], count: 3).flatMap { $0 })
        #expect(exchange.steps.allSatisfy { $0.local == $0.batch })
        #expect(exchange.finished == 12)
        #expect(exchanged.optimizerState.step == 12)
    }

    /// The trainer feeds only the rows the exchange picks, and reports over those.
    @Test func theTrainerTrainsOnlyTheRowsTheExchangePicks() throws {
        let data = try Dataset.synthetic(count: 100, featureCount: 12, classCount: 3, seed: 7)
        let trainer = try Trainer<Float>(widths: [12, 16, 3], optimizer: .sgd(learningRate: .constant(0.1)),
                                         batchSize: 32, seed: 3, executor: nil)
        let exchange = LoopbackExchange(state: trainer.optimizerState, half: true)
        trainer.gradientExchange = exchange
        let result = try trainer.trainEpoch(on: data)
        // Halves of 32, 32, 32 and 4 rows (rounded up): 16 + 16 + 16 + 2.
        #expect(result.samples == 50)
        #expect(exchange.steps.map(\.local) == [16, 16, 16, 2])
        #expect(exchange.steps.map(\.batch) == [32, 32, 32, 4])
    }
}
