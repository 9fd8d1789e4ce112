import Foundation
import Scheduler
import Tensor
import Testing
import Training

/// Batch normalization's running statistics (state updated inside the training plan, saved in
/// checkpoints) and the sequence layers (position, attention, last) of a character-level model.
@Suite struct StatefulLayersTests {
    /// Four rows, two features: feature 0 is 1, 3, 5, 7 and feature 1 is 2, 6, 4, 8 (means 4 and
    /// 5, unbiased variances 20/3 each).
    static func fourRows() throws -> Dataset {
        try Dataset(features: [1, 2, 3, 6, 5, 4, 7, 8], targets: [0, 1, 0, 1], featureCount: 2, targetCount: 1,
                    task: .multiclass, classCount: 2)
    }

    static func batchNormModel(_ executor: Executor?, learningRate: Float = 0) throws -> Trainer<Double> {
        var rng = SeededGenerator(seed: 7)
        let model = try Sequential(graph: Graph<Double>(), inputShape: [2], layers: LayerSpec.parse("batchnorm-dense(2)"), using: &rng)
        #expect(model.stateNames == ["layer0.running_mean", "layer0.running_variance"])
        return try Trainer(model: model, loss: .crossEntropy, optimizer: .sgd(learningRate: .constant(learningRate)),
                           batchSize: 4, seed: 1, executor: executor)
    }

    @Test func aTrainingStepMovesTheRunningStatisticsTowardTheBatch() throws {
        let trainer = try Self.batchNormModel(nil)
        #expect(try trainer.stateValues() == [[0, 0], [1, 1]])
        _ = try trainer.trainEpoch(on: Self.fourRows())          // one step of the whole batch
        let state = try trainer.stateValues()
        // mean: 0.9 · 0 + 0.1 · [4, 5]; variance: 0.9 · 1 + 0.1 · 20/3
        for (got, want) in zip(state[0] + state[1], [0.4, 0.5, 0.9 + 2.0 / 3, 0.9 + 2.0 / 3]) {
            #expect(abs(got - want) < 1e-12, "\(state)")
        }
        _ = try trainer.trainEpoch(on: Self.fourRows())
        let again = try trainer.stateValues()
        #expect(abs(again[0][0] - (0.9 * 0.4 + 0.4)) < 1e-12)
    }

    @Test func evaluationUsesTheRunningStatisticsNotTheBatch() throws {
        let trainer = try Self.batchNormModel(nil, learningRate: 0.1)
        for _ in 0..<3 { _ = try trainer.trainEpoch(on: Self.fourRows()) }
        // A row's prediction is the same alone as among the others.
        let all = try trainer.evaluate(Self.fourRows()).predictions
        let alone = try trainer.evaluate(Self.fourRows().rows([2])).predictions
        for (a, b) in zip(alone, all[4..<6]) { #expect(abs(Double(a) - Double(b)) < 1e-12) }
    }

    @Test func stateIsTheSameForAnyWorkerCount() throws {
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        let serial = try Self.batchNormModel(nil, learningRate: 0.1), parallel = try Self.batchNormModel(executor, learningRate: 0.1)
        for _ in 0..<3 {
            _ = try serial.trainEpoch(on: Self.fourRows())
            _ = try parallel.trainEpoch(on: Self.fourRows())
        }
        #expect(try serial.stateValues() == parallel.stateValues())
        #expect(try serial.parameterValues() == parallel.parameterValues())
    }

    @Test func checkpointsKeepTheStateAndRefuseAModelWithout() throws {
        let trainer = try Self.batchNormModel(nil, learningRate: 0.1)
        _ = try trainer.trainEpoch(on: Self.fourRows())
        let saved = try Checkpoint(decoding: trainer.checkpoint().encoded(), name: "bn")
        #expect(saved.state.map(\.name) == ["layer0.running_mean", "layer0.running_variance"])
        let fresh = try Self.batchNormModel(nil, learningRate: 0.1)
        try fresh.restore(from: saved)
        #expect(try fresh.stateValues() == trainer.stateValues())
        #expect(try fresh.parameterValues() == trainer.parameterValues())
        var stateless = saved
        stateless.state = []
        #expect { try fresh.loadParameters(from: stateless) } throws: { "\($0)".contains("model state") }
    }

    @Test func parsesTheNewLayerKinds() throws {
        let specs = try LayerSpec.parse("embedding(16)-position-attention(2)-layernorm-last-batchnorm-dense(3)")
        #expect(specs == [.embedding(vocabulary: 0, dimension: 16), .position, .attention(heads: 2), .layerNorm, .lastStep,
                          .batchNorm, .dense(units: 3)])
        #expect(try LayerSpec.parse(specs.map(\.description).joined(separator: "-")) == specs)
        var rng = SeededGenerator(seed: 1)
        let g = Graph<Float>()
        #expect { try Sequential(graph: g, inputShape: [4], layers: specs, using: &rng) }
            throws: { "\($0)".contains("vocabulary comes from a text") }
        #expect { try Sequential(graph: g, inputShape: [4], layers: LayerSpec.parse("embedding(9,6)-attention(4)-last-dense(2)"), using: &rng) }
            throws: { "\($0)".contains("does not split into 4 heads") }
        #expect { try Sequential(graph: g, inputShape: [4], layers: LayerSpec.parse("attention(1)-last-dense(2)"), using: &rng) }
            throws: { "\($0)".contains("put embedding before it") }
        let model = try Sequential(graph: g, inputShape: [4], layers: LayerSpec.parse("embedding(9,6)-position-attention(3)-last-dense(2)"), using: &rng)
        #expect(model.layers.map(\.outputShape) == [[4, 6], [4, 6], [4, 6], [6], [2]])
        #expect(model.parameters.map(\.shape) == [[9, 6], [4, 6], [6, 6], [6, 6], [6, 6], [6, 6], [6, 2], [2]])
    }

    @Test func attentionLooksBackToEarlierPositions() throws {
        // The label is the FIRST of four tokens; the model predicts from the LAST position, so it
        // must attend back. Without attention (the same model minus that layer) it cannot.
        var rng = SeededGenerator(seed: 5)
        var features: [Double] = [], labels: [Double] = []
        for _ in 0..<400 {
            let tokens = (0..<4).map { _ in Double(Int(rng.next() % 4)) }
            features += tokens
            labels.append(tokens[0])
        }
        let data = try Dataset(features: features, targets: labels, featureCount: 4, targetCount: 1, task: .multiclass, classCount: 4)
        func accuracy(_ layers: String) throws -> Double {
            var init1 = SeededGenerator(seed: 2)
            let model = try Sequential(graph: Graph<Float>(), inputShape: [4], layers: LayerSpec.parse(layers), using: &init1)
            let trainer = try Trainer(model: model, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(0.02)),
                                      batchSize: 32, seed: 1, executor: nil)
            for _ in 0..<40 { _ = try trainer.trainEpoch(on: data) }
            return try trainer.evaluate(data).metric
        }
        let with = try accuracy("embedding(4,16)-position-attention(2)-layernorm-last-dense(4)")
        let without = try accuracy("embedding(4,16)-position-layernorm-last-dense(4)")
        #expect(with > 0.95, "with attention: \(with)")
        #expect(without < 0.4, "without attention: \(without)")
    }
}
