import Foundation
import Testing
import Tensor
import Training

/// Training a graph file (docs/examples/iris-mlp.json) is training the same model built in Swift:
/// the same initial values, loss, optimizer, seed and data give bitwise the same parameters.
@Suite struct GraphFileTrainerTests {
    static let example = URL(fileURLWithPath: TrainingFixtures.root + "/docs/examples/iris-mlp.json")

    /// Iris through the preprocessor (header present, label column 4), split 80/20.
    static func iris() throws -> (prep: Preprocessor, train: Dataset, test: Dataset) {
        let table = try DataTable(csvFile: TrainingFixtures.iris, options: .init(header: .present))
        let (trainRows, testRows) = Dataset.splitOrder(count: table.rowCount, testFraction: 0.2, seed: 1)
        let prep = try Preprocessor(fitting: table, rows: Array(trainRows), labelColumns: [4])
        return (prep, try prep.dataset(table, rows: Array(trainRows)), try prep.dataset(table, rows: Array(testRows)))
    }

    @Test func graphFileTrainsBitwiseLikeTheSameModelBuiltInSwift() throws {
        let (prep, train, test) = try Self.iris()
        #expect(prep.task == .multiclass && prep.featureCount == 4 && train.count == 120)
        let optimizer = Optimizer.adam(learningRate: .constant(0.01))

        // The file's model.
        let file = try GraphFile<Float>(contentsOf: Self.example)
        let section = try #require(file.training)
        #expect(section.knownLoss == .crossEntropy && section.batchSize == 16)
        let spec = try section.trainingGraph(featureNames: prep.encodedFeatureNames)
        let fromFile = try Trainer(graph: spec, loss: section.knownLoss, optimizer: optimizer, seed: 4, executor: nil)
        let initial = try ["w1", "b1", "w2", "b2"].map { try file.graph.value(of: file.nodes[$0]!) }
        #expect(spec.parameters == ["w1", "b1", "w2", "b2"].map { file.nodes[$0]! })

        // The same model in Swift: placeholders of the same shapes, Dense layers set to the file's values.
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 123)
        let x = g.placeholder("x", shape: [16, 4]), labels = g.placeholder("labels", shape: [16])
        let hidden = Dense(graph: g, name: "dense0", inputs: 4, outputs: 16, activation: .relu, using: &rng)
        let output = Dense(graph: g, name: "dense1", inputs: 16, outputs: 3, activation: .identity, using: &rng)
        for (node, value) in zip([hidden.weight, hidden.bias, output.weight, output.bias], initial) {
            try g.setValue(value, of: node)
        }
        let logits = try output(hidden(x))
        let swiftSpec = try TrainingGraph(inputs: [.init(x)], target: labels, prediction: logits,
                                          loss: try Loss.crossEntropy(prediction: logits, target: labels))
        let inSwift = try Trainer(graph: swiftSpec, loss: .crossEntropy, optimizer: optimizer, seed: 4, executor: nil)
        #expect(try inSwift.parameterValues() == fromFile.parameterValues())

        for _ in 0..<3 {
            let a = try fromFile.trainEpoch(on: train), b = try inSwift.trainEpoch(on: train)
            #expect(a.loss.bitPattern == b.loss.bitPattern && a.samples == 112 && b.samples == 112)
        }
        #expect(fromFile.optimizerState.step == 21 && inSwift.optimizerState.step == 21)
        let trained = try fromFile.parameterValues()
        let trainedInSwift = try inSwift.parameterValues()
        #expect(trained.map { $0.map(\.bitPattern) } == trainedInSwift.map { $0.map(\.bitPattern) })
        #expect(trained[0] != initial[0].scalars, "training changed nothing")
        // The trained parameters live in the file's graph: writing it saves them.
        #expect(try file.graph.value(of: file.nodes["w2"]!).scalars == trained[2])

        // Evaluation on rows that are not a batch multiple (30): every row, the same in both.
        let a = try fromFile.evaluate(test), b = try inSwift.evaluate(test)
        #expect(a.predictions.count == 90 && a.predictions.map(\.bitPattern) == b.predictions.map(\.bitPattern))
        #expect(a.loss == b.loss && a.confusion == b.confusion)
    }
}
