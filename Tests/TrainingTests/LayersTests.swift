import Foundation
import Scheduler
import Tensor
import Testing
import Training

@Suite struct LayersTests {
    @Test func parsesSpecsAndNamesBadParts() throws {
        #expect(try LayerSpec.parse("dense(128)-relu-flatten-dense(10)") == [.dense(units: 128), .activation(.relu), .flatten, .dense(units: 10)])
        #expect(try LayerSpec.parse(" dense( 4 ) - tanh ").map(\.description) == ["dense(4)", "tanh"])
        for (bad, words) in [("dense(0)", "positive"), ("dense(3", "parenthesis"), ("relux", "unknown layer 'relux'"),
                             ("dense(2)--relu", "single '-'"), ("relu(2)", "takes 0"), ("", "separated")] {
            #expect { try LayerSpec.parse(bad) } throws: { "\($0)".contains(words) }
        }
    }

    @Test func sequentialOfDenseLayersIsTheMLP() throws {
        // Same widths, same activation, same generator: the same weights, so the same logits.
        var a = SeededGenerator(seed: 5), b = SeededGenerator(seed: 5)
        let g1 = Graph<Double>(), g2 = Graph<Double>()
        let mlp = MLP(graph: g1, widths: [6, 9, 4], activation: .relu, using: &a)
        let seq = try Sequential(graph: g2, inputShape: [6], layers: LayerSpec.parse("dense(9)-relu-dense(4)"), using: &b)
        #expect(seq.parameterNames == ["layer0.weight", "layer0.bias", "layer2.weight", "layer2.bias"])
        #expect(try mlp.parameters.map { try g1.value(of: $0).scalars } == seq.parameters.map { try g2.value(of: $0).scalars })
        var rng = SeededGenerator(seed: 9)
        let x = Tensor<Double>.randomNormal(shape: [3, 6], standardDeviation: 1, using: &rng)
        let x1 = g1.placeholder("x", shape: [3, 6]), x2 = g2.placeholder("x", shape: [3, 6])
        let y1 = try mlp.prediction(x1), y2 = try seq.prediction(x2)
        let p1 = try Plan(outputs: [y1]), p2 = try Plan(outputs: [y2])
        try p1.run(feeds: [x1: x])
        try p2.run(feeds: [x2: x])
        #expect(try p1.value(of: y1).scalars == p2.value(of: y2).scalars)
    }

    @Test func shapesAreCheckedAsTheModelIsBuilt() throws {
        var rng = SeededGenerator(seed: 1)
        // A dense layer on images needs flatten first; a model must end with one vector per sample.
        #expect { try Sequential(graph: Graph<Float>(), inputShape: [4, 4, 1], layers: [.dense(units: 3)], using: &rng) }
            throws: { "\($0)".contains("put flatten before it") }
        #expect { try Sequential(graph: Graph<Float>(), inputShape: [4, 4, 1], layers: [.activation(.relu)], using: &rng) }
            throws: { "\($0)".contains("end with flatten") }
        let flat = try Sequential(graph: Graph<Float>(), inputShape: [4, 4, 1], layers: LayerSpec.parse("flatten-dense(2)"), using: &rng)
        #expect(flat.outputWidth == 2 && flat.parameters.map(\.shape) == [[16, 2], [2]])
    }

    @Test func sequentialTrainsAndItsDescriptionRoundTrips() throws {
        // Two Gaussian blobs: a layered model trains with cross-entropy, and Predictor rebuilds it.
        var rng = SeededGenerator(seed: 3)
        var features: [Double] = [], labels: [Double] = []
        for i in 0..<200 {
            let c = Double(i % 2)
            features += [c * 2 - 1 + 0.3 * rng.nextNormal(), 0.3 * rng.nextNormal()]
            labels.append(c)
        }
        let data = try Dataset(features: features, targets: labels, featureCount: 2, targetCount: 1, task: .multiclass, classCount: 2)
        var init1 = SeededGenerator(seed: 1)
        let specs = try LayerSpec.parse("dense(8)-tanh-dense(2)")
        let model = try Sequential(graph: Graph<Float>(), inputShape: [2], layers: specs, using: &init1)
        let trainer = try Trainer(model: model, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(0.05)),
                                  batchSize: 20, seed: 1, executor: nil)
        for _ in 0..<10 { _ = try trainer.trainEpoch(on: data) }
        #expect(try trainer.evaluate(data).metric > 0.95)
        let description = ModelDescription.sequential(inputShape: [2], layers: specs, loss: .crossEntropy)
        #expect(try ModelDescription(json: description.json()) == description)
    }

    @Test func parsesEveryLayerKind() throws {
        let specs = try LayerSpec.parse("embedding(50,8)-layernorm-dropout(0.25)-maxpool(3,2)-avgpool(2)-globalavgpool")
        #expect(specs == [.embedding(vocabulary: 50, dimension: 8), .layerNorm, .dropout(rate: 0.25),
                          .maxPool(kernel: 3, stride: 2), .averagePool(kernel: 2, stride: 2), .globalAveragePool])
        #expect(try LayerSpec.parse(specs.map(\.description).joined(separator: "-")) == specs)
        #expect { try LayerSpec.parse("dropout(1.5)") } throws: { "\($0)".contains("rate in [0, 1)") }
    }

    @Test func dropoutTrainsWithAStepAndIsOffInEvaluation() throws {
        // Training with dropout is reproducible (same seed: bitwise the same parameters, whatever
        // the workers), and evaluation uses no mask (two evaluations agree, and equal a dropout-free
        // forward pass of the same weights).
        let data = try Dataset(csvFile: TrainingFixtures.iris, options: CSVOptions(header: .present))
        func train(_ executor: Executor?) throws -> (Trainer<Float>, Sequential<Float>) {
            var rng = SeededGenerator(seed: 4)
            let model = try Sequential(graph: Graph<Float>(), inputShape: [4], layers: LayerSpec.parse("dense(16)-relu-dropout(0.5)-dense(3)"), using: &rng)
            let trainer = try Trainer(model: model, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(0.01)),
                                      batchSize: 16, seed: 2, executor: executor)
            for _ in 0..<3 { _ = try trainer.trainEpoch(on: data) }
            return (trainer, model)
        }
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        let (serial, model) = try train(nil)
        let (parallel, _) = try train(executor)
        #expect(model.stepPlaceholder != nil)
        #expect(try serial.parameterValues() == parallel.parameterValues())
        let first = try serial.evaluate(data), second = try serial.evaluate(data)
        #expect(first.predictions == second.predictions)
        // The same weights without the dropout layer give the same evaluation.
        var rng = SeededGenerator(seed: 4)
        let plain = try Sequential(graph: Graph<Float>(), inputShape: [4], layers: LayerSpec.parse("dense(16)-relu-dense(3)"), using: &rng)
        let check = try Trainer(model: plain, loss: .crossEntropy, optimizer: .sgd(learningRate: .constant(0)), batchSize: 16, seed: 2, executor: nil)
        try check.setParameterValues(serial.parameterValues())
        #expect(try check.evaluate(data).predictions == first.predictions)
    }

    @Test func convolutionLayersShapeImages() throws {
        let specs = try LayerSpec.parse("conv(4,3)-relu-maxpool(2)-conv(6,3,1,0)-flatten-dense(5)")
        #expect(specs[0] == .conv(filters: 4, kernel: 3, stride: 1, padding: 1) && specs[3] == .conv(filters: 6, kernel: 3, stride: 1, padding: 0))
        #expect(try LayerSpec.parse(specs.map(\.description).joined(separator: "-")) == specs)
        var rng = SeededGenerator(seed: 2)
        let g = Graph<Double>()
        let model = try Sequential(graph: g, inputShape: [8, 8, 1], layers: specs, using: &rng)
        // 8x8x1 -conv(pad 1)-> 8x8x4 -pool-> 4x4x4 -conv(pad 0)-> 2x2x6 -> 24 -> 5
        #expect(model.layers.map(\.outputShape) == [[8, 8, 4], [8, 8, 4], [4, 4, 4], [2, 2, 6], [24], [5]])
        #expect(model.parameters.map(\.shape) == [[3, 3, 1, 4], [4], [3, 3, 4, 6], [6], [24, 5], [5]])
        #expect { try Sequential(graph: g, inputShape: [64], layers: LayerSpec.parse("conv(2,3)-flatten-dense(2)"), using: &rng) }
            throws: { "\($0)".contains("--image") }
        #expect { try Sequential(graph: g, inputShape: [2, 2, 1], layers: LayerSpec.parse("conv(2,5,1,0)-flatten-dense(2)"), using: &rng) }
            throws: { "\($0)".contains("does not fit") }
        // A tiny CNN learns to tell a bright left half from a bright right half.
        var data: [Double] = [], labels: [Double] = []
        for i in 0..<64 {
            let left = i % 2 == 0
            for _ in 0..<4 { for c in 0..<4 { data.append((c < 2) == left ? 1 + 0.1 * rng.nextNormal() : 0.1 * rng.nextNormal()) } }
            labels.append(left ? 0 : 1)
        }
        let set = try Dataset(features: data, targets: labels, featureCount: 16, targetCount: 1, task: .binary, classCount: 2)
        let cnn = try Sequential(graph: Graph<Double>(), inputShape: [4, 4, 1], layers: LayerSpec.parse("conv(3,3)-relu-globalavgpool-dense(2)"), using: &rng)
        let trainer = try Trainer(model: cnn, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(0.05)), batchSize: 16, seed: 1, executor: nil)
        for _ in 0..<20 { _ = try trainer.trainEpoch(on: set) }
        #expect(try trainer.evaluate(set).metric == 1)
    }
}
