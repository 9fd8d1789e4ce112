import Kernels
import Testing
import Tensor
import Training

/// Runs `steps` updates of a one-element parameter starting at `start` with the given gradients.
private func trajectory(start: Float, gradients: [Float], slots slotCount: Int,
                        _ update: (UnsafeMutableBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, Int) -> Void) -> [Float] {
    var p: [Float] = [start]
    var slots = [Float](repeating: 0, count: max(1, slotCount))
    var out: [Float] = []
    for (t, g) in gradients.enumerated() {
        let grad: [Float] = [g]
        p.withUnsafeMutableBufferPointer { pb in
            grad.withUnsafeBufferPointer { gb in
                slots.withUnsafeMutableBufferPointer { sb in update(pb, gb, sb, t + 1) }
            }
        }
        out.append(p[0])
    }
    return out
}

private func close(_ a: [Float], _ b: [Double], tolerance: Double = 2e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs(Double($0) - $1) <= tolerance * max(1, abs($1)) }
}

@Suite struct TrainingOptimizerTests {
    @Test func sgdMatchesHandValues() {
        // p = 1, g = 0.5, lr = 0.1: 1 - 0.05 = 0.95, then 0.9. With weight decay 0.1: g' = 0.5 + 0.1 * p.
        let plain = trajectory(start: 1, gradients: [0.5, 0.5], slots: 0) { p, g, _, _ in
            OptimizerSteps.sgd(parameters: p, gradients: g, learningRate: 0.1)
        }
        #expect(close(plain, [0.95, 0.9]))
        // step 1: g' = 0.6, p = 0.94; step 2: g' = 0.5 + 0.094 = 0.594, p = 0.94 - 0.0594 = 0.8806
        let decayed = trajectory(start: 1, gradients: [0.5, 0.5], slots: 0) { p, g, _, _ in
            OptimizerSteps.sgd(parameters: p, gradients: g, learningRate: 0.1, weightDecay: 0.1)
        }
        #expect(close(decayed, [0.94, 0.8806]))
    }

    @Test func momentumMatchesHandValues() {
        // mu = 0.9, lr = 0.1, g = 1: v = 1, 1.9, 2.71; p = 0.9, 0.71, 0.439
        let heavyBall = trajectory(start: 1, gradients: [1, 1, 1], slots: 1) { p, g, v, _ in
            OptimizerSteps.momentum(parameters: p, gradients: g, velocity: v, learningRate: 0.1, momentum: 0.9)
        }
        #expect(close(heavyBall, [0.9, 0.71, 0.439]))
        // Nesterov: direction g + mu * v = 1.9, 2.71, 3.439; p = 0.81, 0.539, 0.1951
        let nesterov = trajectory(start: 1, gradients: [1, 1, 1], slots: 1) { p, g, v, _ in
            OptimizerSteps.momentum(parameters: p, gradients: g, velocity: v, learningRate: 0.1, momentum: 0.9, nesterov: true)
        }
        #expect(close(nesterov, [0.81, 0.539, 0.1951]))
    }

    @Test func adamMatchesHandValues() {
        // Step 1, g = 0.5: m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25; p = 1 - 0.1 * 0.5 / (0.5 + 1e-8).
        // Step 2, g = -1: m = -0.055, v = 0.00124975; m^ = -0.055 / 0.19, v^ = 0.00124975 / 0.001999.
        // Step 3, g = 0.25: m = -0.0245, v = 0.00131100025 (values from the same formulas in Double).
        let grads: [Float] = [0.5, -1, 0.25]
        let adam = trajectory(start: 1, gradients: grads, slots: 2) { p, g, s, t in
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: UnsafeMutableBufferPointer(rebasing: s[0..<1]),
                                secondMoment: UnsafeMutableBufferPointer(rebasing: s[1..<2]), step: t, learningRate: 0.1)
        }
        #expect(close(adam, [0.900000002, 0.9366103542405654, 0.9502794203389762]))
        // AdamW, weight decay 0.1: p *= 1 - 0.01 first: step 1 gives 0.99 - 0.1 = 0.89.
        let adamw = trajectory(start: 1, gradients: grads, slots: 2) { p, g, s, t in
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: UnsafeMutableBufferPointer(rebasing: s[0..<1]),
                                secondMoment: UnsafeMutableBufferPointer(rebasing: s[1..<2]), step: t, learningRate: 0.1,
                                weightDecay: 0.1, decoupledWeightDecay: true)
        }
        #expect(close(adamw, [0.890000002, 0.9177103542205653, 0.9222023167767704]))
        // Adam with L2: g' = g + 0.1 p: step 1 g' = 0.6, m^ = 0.6, sqrt(v^) = 0.6, p = 0.9.
        let l2 = trajectory(start: 1, gradients: grads, slots: 2) { p, g, s, t in
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: UnsafeMutableBufferPointer(rebasing: s[0..<1]),
                                secondMoment: UnsafeMutableBufferPointer(rebasing: s[1..<2]), step: t, learningRate: 0.1,
                                weightDecay: 0.1)
        }
        #expect(close(l2, [0.9000000016666666, 0.9252635194456061, 0.9247305742687093]))
    }

    /// The vectorized square root Adam uses stays within 1 ulp of the correctly rounded one.
    @Test func vectorSquareRootIsAccurate() {
        var rng = SeededGenerator(seed: 8)
        var worst: Float = 0
        for _ in 0..<20_000 {
            var v = SIMD8<Float>()
            for k in 0..<8 { v[k] = Float(rng.nextUniform() * 2) * Float.pow2(rng.nextIndex(below: 200) - 100) }
            let s = OptimizerSteps.squareRoot(v)
            for k in 0..<8 {
                let exact = v[k].squareRoot()
                worst = max(worst, abs(s[k] - exact) / exact.ulp)
            }
        }
        #expect(worst <= 1, "worst error \(worst) ulp")
        let special = OptimizerSteps.squareRoot(SIMD8<Float>(0, .infinity, 1, 4, 0.25, 1e-30, 3e38, .leastNormalMagnitude))
        #expect(special[0] == 0 && special[1] == .infinity && special[2] == 1 && special[3] == 2 && special[4] == 0.5)
        #expect(abs(special[5] - 1e-15) <= Float(1e-15).ulp && abs(special[6] - Float(3e38).squareRoot()) <= Float(3e38).squareRoot().ulp)
        #expect(OptimizerSteps.squareRoot(SIMD8<Float>(repeating: .nan))[0].isNaN)
    }

    /// The remainder of a buffer (not a multiple of 8) is computed exactly like full vectors.
    @Test(arguments: Optimizer.Kind.allCases)
    func everyElementGetsTheSameUpdate(kind: Optimizer.Kind) {
        let n = 19
        let optimizer = Optimizer(kind: kind, learningRate: .constant(0.05), weightDecay: 0.01)
        let state = OptimizerState<Float>(optimizer: optimizer, parameterSizes: [n])
        var p = [Float](repeating: 0.7, count: n)
        let g = [Float](repeating: -0.3, count: n)
        for _ in 0..<3 {
            p.withUnsafeMutableBufferPointer { pb in
                g.withUnsafeBufferPointer { gb in state.update(parameter: 0, values: pb, gradients: gb) }
            }
            state.advance()
        }
        #expect(p.allSatisfy { $0.bitPattern == p[0].bitPattern })
        #expect(p[0] != 0.7)
        #expect(state.step == 3)
    }

    /// A loop that claims two threads and runs the pieces one by one, last piece first.
    struct ReversedPiecesLoop: ParallelLoop {
        var concurrency: Int { 2 }
        func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
            for start in stride(from: range.lowerBound, to: range.upperBound, by: max(1, grain)).reversed() {
                body(start..<min(start + max(1, grain), range.upperBound))
            }
        }
    }

    /// A large parameter's update split into chunks gives bitwise the serial result.
    @Test(arguments: [Optimizer.Kind.adamw, .nesterov])
    func splitUpdatesMatchSerialUpdates(kind: Optimizer.Kind) {
        let n = OptimizerState<Float>.splitThreshold * 2 + 13
        var rng = SeededGenerator(seed: 21)
        let start = (0..<n).map { _ in Float(rng.nextNormal()) }
        let grads = (0..<3).map { _ in (0..<n).map { _ in Float(rng.nextNormal()) } }
        let optimizer = Optimizer(kind: kind, learningRate: .constant(0.01), weightDecay: 0.01)
        func train(_ loop: (any ParallelLoop)?) -> [Float] {
            let state = OptimizerState<Float>(optimizer: optimizer, parameterSizes: [n])
            var p = start
            for g in grads {
                p.withUnsafeMutableBufferPointer { pb in
                    g.withUnsafeBufferPointer { gb in
                        if let loop { state.updateHook(parameter: 0, loop: loop)(pb, gb) } else { state.update(parameter: 0, values: pb, gradients: gb) }
                    }
                }
                state.advance()
            }
            return p
        }
        let serial = train(nil), split = train(ReversedPiecesLoop())
        #expect(serial.map(\.bitPattern) == split.map(\.bitPattern))
        #expect(serial != start)
    }

    @Test func optimizerStateUsesTheScheduleAndStep() {
        // SGD with a step schedule: lr 0.1 for steps 0 and 1, then 0.05.
        let state = OptimizerState<Float>(optimizer: .sgd(learningRate: .step(base: 0.1, every: 2, factor: 0.5)), parameterSizes: [1])
        var p: [Float] = [0]
        let g: [Float] = [1]
        let hook = state.updateHook(parameter: 0)
        for _ in 0..<3 {
            p.withUnsafeMutableBufferPointer { pb in g.withUnsafeBufferPointer { gb in hook(pb, gb) } }
            state.advance()
        }
        #expect(abs(p[0] - -0.25) < 1e-6)
    }

    @Test func schedules() {
        #expect(LearningRateSchedule.constant(0.3).rate(atStep: 1000) == 0.3)
        let step = LearningRateSchedule.step(base: 0.1, every: 10, factor: 0.5)
        #expect(step.rate(atStep: 9) == 0.1)
        #expect(abs(step.rate(atStep: 10) - 0.05) < 1e-8)
        #expect(abs(step.rate(atStep: 25) - 0.025) < 1e-8)
        let cosine = LearningRateSchedule.cosine(base: 1, totalSteps: 100, minimum: 0.1)
        #expect(cosine.rate(atStep: 0) == 1)
        #expect(abs(cosine.rate(atStep: 50) - 0.55) < 1e-6)
        #expect(abs(cosine.rate(atStep: 100) - 0.1) < 1e-6)
        #expect(abs(cosine.rate(atStep: 500) - 0.1) < 1e-6)
        #expect(cosine.rate(atStep: 30) > cosine.rate(atStep: 31))
    }
}

private extension Float {
    static func pow2(_ e: Int) -> Float { Float(sign: .plus, exponent: e, significand: 1) }
}
