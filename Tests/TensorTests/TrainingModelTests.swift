import Testing
import Tensor

@Suite struct TrainingModelTests {
    @Test func mlpHasNamedParametersOfTheRightShapes() {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 1)
        let mlp = MLP(graph: g, widths: [64, 128, 10], using: &rng)
        #expect(mlp.layers.count == 2)
        #expect(mlp.parameters.map(\.shape) == [[64, 128], [128], [128, 10], [10]])
        #expect(mlp.parameterShapes.map(\.name) == ["dense0.weight", "dense0.bias", "dense1.weight", "dense1.bias"])
        #expect(g.parameters.count == 4)
    }

    @Test func initializationIsSeededAndFollowsTheScheme() throws {
        func weights(seed: UInt64, activation: Activation) throws -> [Float] {
            let g = Graph<Float>()
            var rng = SeededGenerator(seed: seed)
            let mlp = MLP(graph: g, widths: [200, 300, 4], activation: activation, using: &rng)
            #expect(try g.value(of: mlp.layers[0].bias).scalars.allSatisfy { $0 == 0 })
            return try g.value(of: mlp.layers[0].weight).scalars
        }
        let he = try weights(seed: 3, activation: .relu)
        #expect(try weights(seed: 3, activation: .relu) == he)
        #expect(try weights(seed: 4, activation: .relu) != he)
        // He: normal, standard deviation sqrt(2 / 200) = 0.1
        let mean = he.reduce(0.0) { $0 + Double($1) } / Double(he.count)
        let std = (he.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(he.count) - mean * mean).squareRoot()
        #expect(abs(mean) < 0.005 && abs(std - 0.1) < 0.003)
        // Glorot: uniform in ±sqrt(6 / 500), standard deviation limit / sqrt(3)
        let glorot = try weights(seed: 3, activation: .tanh)
        let limit = Float((6.0 / 500).squareRoot())
        #expect(glorot.allSatisfy { abs($0) <= limit })
        #expect(glorot.max()! > 0.95 * limit && glorot.min()! < -0.95 * limit)
    }

    @Test func modelWidthsParse() throws {
        #expect(try MLP<Float>.parseWidths("64,128,10") == [64, 128, 10])
        #expect(try MLP<Float>.parseWidths(" 784, 1024 ,10") == [784, 1024, 10])
        #expect(throws: ModelSpecError.self) { try MLP<Float>.parseWidths("64") }
        #expect(throws: ModelSpecError("model widths '64,x,10': 'x' is not a positive integer")) {
            try MLP<Float>.parseWidths("64,x,10")
        }
        #expect(throws: ModelSpecError.self) { try MLP<Float>.parseWidths("64,0,10") }
        #expect(throws: ModelSpecError.self) { try MLP<Float>.parseWidths("64,,10") }
    }

    @Test func lossesBuildScalarNodes() throws {
        let g = Graph<Float>()
        let logits = g.placeholder("logits", shape: [4, 3])
        let labels = g.placeholder("labels", shape: [4])
        let targets = g.placeholder("targets", shape: [4, 3])
        #expect(try Loss.softmaxCrossEntropy(logits: logits, targets: labels).count == 1)
        #expect(try Loss.meanSquaredError(logits: logits, targets: targets).count == 1)
        #expect(try Loss.binaryCrossEntropyWithLogits(logits: logits, targets: targets).count == 1)
        #expect(throws: GraphError.self) { try Loss.meanSquaredError(logits: logits, targets: labels) }
    }
}
