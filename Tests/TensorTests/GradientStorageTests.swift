import Testing
import Tensor
import Scheduler
import Kernels

/// Note [Gradients into the update's memory]: an update with `gradientStorage` whose gradient is a
/// product nothing else reads gets the gradient written, scaled, into that memory by its own task.
@Suite struct GradientStorageTests {
    /// What the hooks saw: per parameter, whether the gradient came in its storage, and the
    /// scaled gradient (as the hook received it, or scaled by the hook when it got the plan's).
    final class Received: @unchecked Sendable {
        var inStorage: [Bool] = [false, false, false]
        var gradients: [[Float]] = [[], [], []]
    }

    /// A two-layer perceptron's gradients handed to hooks that do not write the parameters (as a
    /// data-parallel trainer's do), one step.
    static func step(storage: Bool, fusion: Bool, workers: Int, scale: Float, batch: Int = 48) throws -> (Received, names: [String]) {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 5)
        let x = g.constant(.randomNormal(shape: [batch, 70], using: &rng))
        let w0 = g.parameter("w0", .randomNormal(shape: [70, 40], standardDeviation: 0.1, using: &rng))
        let b0 = g.parameter("b0", .randomNormal(shape: [40], using: &rng))
        let w1 = g.parameter("w1", .randomNormal(shape: [40, 3], standardDeviation: 0.2, using: &rng))
        let target = g.constant(.randomNormal(shape: [batch, 3], using: &rng))
        let loss = try meanSquaredError(tanh(x.matmul(w0) + b0).matmul(w1), target)
        let parameters = [w0, b0, w1]
        let grads = try g.gradients(of: loss, wrt: parameters)
        let received = Received()
        var memory: [UnsafeMutablePointer<Float>] = []
        defer { for m in memory { m.deallocate() } }
        var updates: [ParameterUpdate<Float>] = []
        for (i, (p, d)) in zip(parameters, grads).enumerated() {
            let slot = UnsafeMutablePointer<Float>.allocate(capacity: p.count)
            slot.initialize(repeating: .nan, count: p.count)
            memory.append(slot)
            let address = Int(bitPattern: slot)
            var send = ParameterUpdate(parameter: p, gradient: d, name: "send \(i)") { _, gradient in
                if Int(bitPattern: gradient.baseAddress) == address {
                    received.inStorage[i] = true
                    received.gradients[i] = Array(gradient)
                } else {
                    received.gradients[i] = gradient.map { $0 * scale }
                }
            }
            send.writesParameter = false
            if storage {
                send.gradientStorage = slot
                send.gradientScale = { scale }
            }
            updates.append(send)
        }
        let executor = Executor(workers: workers)
        defer { executor.shutdown() }
        let plan = try Plan(outputs: [loss], updates: updates, executor: executor, fusion: fusion)
        try plan.run()
        return (received, plan.taskInfo.map(\.name))
    }

    @Test(arguments: [1, 2, 3])
    func productGradientsArriveScaledInTheirStorage(workers: Int) throws {
        // 1/3 is not a power of two: the product's alpha·acc must round as the hook's g·scale does.
        let scale: Float = 1.0 / 3.0
        let (direct, names) = try Self.step(storage: true, fusion: true, workers: workers, scale: scale)
        let (copied, separate) = try Self.step(storage: false, fusion: true, workers: 1, scale: scale)
        // The weights' gradients are products: written into the storage by the hook's task.
        #expect(direct.inStorage == [true, false, true])
        #expect(names.contains("matmul+send 0") && names.contains("matmul+send 2"), "\(names)")
        #expect(copied.inStorage == [false, false, false])
        #expect(!separate.contains("matmul+send 0"), "\(separate)")
        // The bias gradient (a column sum) comes in the plan's buffer, unscaled.
        #expect(direct.gradients == copied.gradients)
        #expect(direct.gradients.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isFinite) })
    }

    @Test func withoutFusionTheHookGetsThePlansBuffer() throws {
        let scale: Float = 0.5
        let (unfused, names) = try Self.step(storage: true, fusion: false, workers: 2, scale: scale)
        let (fused, _) = try Self.step(storage: true, fusion: true, workers: 2, scale: scale)
        #expect(unfused.inStorage == [false, false, false])
        #expect(names.contains("send 0") && !names.contains("matmul+send 0"), "\(names)")
        // The weights' gradients bitwise; the bias gradient, a column sum of the product's blocks
        // in the fused plan (Note [Bias gradients from the product's blocks]), within rounding.
        #expect(unfused.gradients[0] == fused.gradients[0] && unfused.gradients[2] == fused.gradients[2])
        #expect(zip(unfused.gradients[1], fused.gradients[1]).allSatisfy { abs($0 - $1) <= 1e-5 * (1 + abs($0)) })
    }
}
