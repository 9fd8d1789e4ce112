import Foundation
import Testing
import Tensor
import Training

/// `Optimizer.clipNorm` (Note [Gradient clipping]): one SGD step with clipping moves the
/// parameters by the unclipped step times `min(1, c / (norm + 1e-6))`, the norm taken over every
/// parameter's gradient together; within the norm the step is unchanged; and the factor is the
/// documented one.
@Suite struct GradientClippingTests {
    /// Parameters after one full-batch step of SGD at rate 1 (so the step is minus the gradient).
    static func oneStep(clipNorm: Float?) throws -> (before: [[Float]], after: [[Float]]) {
        var rng = SeededGenerator(seed: 11)
        var features: [Double] = [], labels: [Double] = []
        for i in 0..<24 {
            features += (0..<5).map { _ in rng.nextNormal() + Double(i % 3) }
            labels.append(Double(i % 3))
        }
        let data = try Dataset(features: features, targets: labels, featureCount: 5, targetCount: 1, task: .multiclass, classCount: 3)
        var initial = SeededGenerator(seed: 2)
        let model = try Sequential(graph: Graph<Float>(), inputShape: [5], layers: LayerSpec.parse("dense(7)-tanh-dense(3)"),
                                   using: &initial)
        let optimizer = Optimizer(kind: .sgd, learningRate: .constant(1), clipNorm: clipNorm)
        let trainer = try Trainer(model: model, loss: .crossEntropy, optimizer: optimizer, batchSize: 24, seed: 1, executor: nil)
        let before = try trainer.parameterValues()
        _ = try trainer.trainEpoch(on: data)
        return (before, try trainer.parameterValues())
    }

    @Test func clippingScalesTheWholeStepByTheGlobalNorm() throws {
        let free = try Self.oneStep(clipNorm: nil)
        let steps = zip(free.before, free.after).map { b, a in zip(b, a).map { Double($1 - $0) } }
        let norm = steps.joined().reduce(0) { $0 + $1 * $1 }.squareRoot()
        try #require(norm > 0.05, "the test needs a step larger than the clip norm below (norm \(norm))")
        let clip: Float = 0.05
        let factor = Optimizer(kind: .sgd, learningRate: .constant(1), clipNorm: clip).clipFactor(norm: norm)
        #expect(abs(factor - Double(clip) / (norm + 1e-6)) < 1e-15)
        let clipped = try Self.oneStep(clipNorm: clip)
        #expect(clipped.before == free.before)
        for (p, (b, a)) in zip(clipped.before, clipped.after).enumerated() {
            for j in b.indices {
                let expected = steps[p][j] * factor
                #expect(abs(Double(a[j] - b[j]) - expected) <= 1e-5 * norm * factor + 1e-7, "parameter \(p)[\(j)]")
            }
        }
        // Within the norm the factor is exactly 1 and the step is the unclipped one.
        let loose = try Self.oneStep(clipNorm: Float(norm * 10))
        for (p, (b, a)) in zip(loose.before, loose.after).enumerated() {
            for j in b.indices { #expect(abs(Double(a[j] - b[j]) - steps[p][j]) <= 1e-6, "parameter \(p)[\(j)]") }
        }
        #expect(Optimizer(kind: .adam, learningRate: .constant(1), clipNorm: 1).clipFactor(norm: 0.5) == 1)
        #expect(Optimizer(kind: .adam, learningRate: .constant(1)).clipFactor(norm: 50) == 1)
        #expect("\(Optimizer(kind: .sgd, learningRate: .constant(0.1), clipNorm: 2))".contains("clip norm 2.0"))
    }
}
