import Testing
import Tensor
import Training

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
        #expect(try Loss.crossEntropy(prediction: logits, target: labels).count == 1)
        #expect(try Loss.meanSquaredError(prediction: logits, target: targets).count == 1)
        #expect(try Loss.binaryCrossEntropy(prediction: logits, target: targets).count == 1)
        #expect(throws: GraphError.self) { try Loss.meanSquaredError(prediction: logits, target: labels) }
    }

    /// Each loss on inputs whose value is known by hand.
    @Test func lossValuesByHand() throws {
        let g = Graph<Float>()
        let p = g.placeholder("p", shape: [2, 2])
        let t = g.placeholder("t", shape: [2, 2])
        let labels = g.placeholder("labels", shape: [2])
        let mse = try Loss.meanSquaredError(prediction: p, target: t)
        let bce = try Loss.binaryCrossEntropy(prediction: p, target: t)
        let ce = try Loss.crossEntropy(prediction: p, target: labels)
        let plan = try Plan(outputs: [mse, bce, ce])
        // p = [[0, 0], [0, 0]]: every sigmoid is 1/2 and every softmax uniform, so BCE = CE = log 2.
        try plan.run(feeds: [p: .zeros(shape: [2, 2]), t: Tensor(shape: [2, 2], scalars: [1, 0, 1, 2]), labels: Tensor([0, 1])])
        #expect(abs(try plan.value(of: mse).scalar - 1.5) < 1e-6)            // (1 + 0 + 1 + 4) / 4
        #expect(abs(try plan.value(of: ce).scalar - Float(0.6931472)) < 1e-6)
        // p = [[2, -1], [0, 3]], t = [[1, 0], [0.5, 1]]: BCE = mean(log(1 + e^-2), log(1 + e^-1), log 2, log(1 + e^-3))
        try plan.run(feeds: [p: Tensor(shape: [2, 2], scalars: [2, -1, 0, 3]), t: Tensor(shape: [2, 2], scalars: [1, 0, 0.5, 1])])
        let expected = (0.126928 + 0.313262 + 0.693147 + 0.048587) / 4
        #expect(abs(Double(try plan.value(of: bce).scalar) - expected) < 1e-5)
    }
}
