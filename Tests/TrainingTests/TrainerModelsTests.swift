import Foundation
import Scheduler
import Testing
import Tensor
import Training

/// A linear model `x w + b` of its own (not an `MLP`): what `TrainableModel` lets any architecture do.
private struct Linear<Scalar: TensorScalar>: TrainableModel {
    let w, b: Node<Scalar>
    var parameters: [Node<Scalar>] { [w, b] }
    var inputShape: [Int] { [w.shape[0]] }
    func prediction(_ x: Node<Scalar>) throws -> Node<Scalar> { try x.matmul(w) + b }

    /// Zero weights `[inputs, outputs]` and bias `[outputs]` named `w` and `b`.
    init(graph: Graph<Scalar>, inputs: Int, outputs: Int) {
        w = graph.parameter("w", .zeros(shape: [inputs, outputs]))
        b = graph.parameter("b", .zeros(shape: [outputs]))
    }
}

/// Rows of standard normal features from a seeded generator.
private func normalFeatures(rows: Int, columns: Int, seed: UInt64) -> [Double] {
    var rng = SeededGenerator(seed: seed)
    return (0..<(rows * columns)).map { _ in rng.nextNormal() }
}

/// y = X w + b for row-major X `[rows, w.count]`.
private func linear(_ x: [Double], _ w: [Double], _ b: Double) -> [Double] {
    let k = w.count
    return (0..<(x.count / k)).map { r in (0..<k).reduce(b) { $0 + x[r * k + $1] * w[$1] } }
}

/// R² of one target column (column `j` of `k`), computed from its definition.
private func r2(actual: [Double], predicted: [Double], column j: Int, of k: Int) -> Double {
    let a = stride(from: j, to: actual.count, by: k).map { actual[$0] }
    let p = stride(from: j, to: predicted.count, by: k).map { predicted[$0] }
    let mean = a.reduce(0, +) / Double(a.count)
    let residual = zip(a, p).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    let total = a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    return 1 - residual / total
}

private func iris(seed: UInt64) throws -> (train: Dataset, test: Dataset) {
    let all = try Dataset(csvFile: TrainingFixtures.iris, options: CSVOptions(header: .present))
    let (train, test) = all.split(testFraction: 0.2, seed: seed)
    let scaler = FeatureScaler(standardizing: train)
    return (scaler.apply(to: train), scaler.apply(to: test))
}

@Suite(.serialized) struct TrainerModelsTests {
    static let trueWeights: [Double] = [1.5, -2.0, 0.5]
    static let trueBias = 0.75

    /// Noise-free linear data: 200 rows of 3 standard normal features.
    static func linearData() throws -> Dataset {
        let x = normalFeatures(rows: 200, columns: 3, seed: 11)
        return try Dataset(features: x, targets: linear(x, trueWeights, trueBias), featureCount: 3, targetCount: 1,
                           task: .regression)
    }

    @Test func linearRegressionRecoversTheWeights() throws {
        let data = try Self.linearData()
        let model = Linear(graph: Graph<Double>(), inputs: 3, outputs: 1)
        let trainer = try Trainer(model: model, loss: .meanSquaredError, optimizer: .sgd(learningRate: .constant(0.1)),
                                  batchSize: 16, seed: 2, executor: nil)
        #expect(trainer.parameterNames == ["w", "b"])
        for _ in 0..<60 { _ = try trainer.trainEpoch(on: data) }
        let values = try trainer.parameterValues()
        for (got, want) in zip(values[0], Self.trueWeights) { #expect(abs(got - want) < 1e-3, "w \(values[0])") }
        #expect(abs(values[1][0] - Self.trueBias) < 1e-3, "b \(values[1])")
        // 200 rows in batches of 16: 13 batches (the last of 8 rows) per epoch.
        #expect(trainer.optimizerState.step == 60 * 13)
        let evaluation = try trainer.evaluate(data)
        #expect(evaluation.loss < 1e-6 && evaluation.r2! > 0.999_999)
    }

    @Test func linearRegressionThroughAFixedShapeGraph() throws {
        let data = try Self.linearData()
        let g = Graph<Double>()
        let x = g.placeholder("x", shape: [20, 3])
        let y = g.placeholder("y", shape: [20, 1])
        let w = g.parameter("w", .zeros(shape: [3, 1]))
        let b = g.parameter("b", .zeros(shape: [1]))
        let prediction = try x.matmul(w) + b
        let loss = try Loss.meanSquaredError(prediction: prediction, target: y)
        let spec = try TrainingGraph(inputs: [.init(x)], target: y, prediction: prediction, loss: loss)
        #expect(spec.batchSize == 20 && spec.parameters == [w, b])
        let trainer = try Trainer(graph: spec, loss: .meanSquaredError, optimizer: .sgd(learningRate: .constant(0.1)),
                                  seed: 2, executor: nil)
        #expect(trainer.hasFixedBatch && trainer.parameterNames == ["w", "b"])
        for _ in 0..<60 { _ = try trainer.trainEpoch(on: data) }
        let values = try trainer.parameterValues()
        for (got, want) in zip(values[0], Self.trueWeights) { #expect(abs(got - want) < 1e-3, "w \(values[0])") }
        #expect(abs(values[1][0] - Self.trueBias) < 1e-3, "b \(values[1])")
        #expect(trainer.optimizerState.step == 60 * 10)
    }

    /// Two Gaussian blobs (unit variance, centres ±(2, 2)): the Bayes accuracy is Φ(2√2) ≈ 99.8%.
    @Test func binaryBlobsTrainWithOneLogit() throws {
        var rng = SeededGenerator(seed: 21)
        var features: [Double] = [], targets: [Double] = []
        for i in 0..<500 {
            let label = i % 2
            let centre = label == 1 ? 2.0 : -2.0
            features += [centre + rng.nextNormal(), centre + rng.nextNormal()]
            targets.append(Double(label))
        }
        let all = try Dataset(features: features, targets: targets, featureCount: 2, targetCount: 1, task: .binary,
                              classCount: 2)
        let (train, test) = all.split(testFraction: 0.3, seed: 5)
        var init_ = SeededGenerator(seed: 8)
        let mlp = MLP(graph: Graph<Float>(), widths: [2, 8, 1], using: &init_)
        let trainer = try Trainer(model: mlp, loss: .binaryCrossEntropy, optimizer: .adam(learningRate: .constant(0.02)),
                                  batchSize: 16, seed: 8, executor: nil)
        var first: Trainer<Float>.EpochResult?
        for _ in 0..<15 {
            let r = try trainer.trainEpoch(on: train)
            first = first ?? r
        }
        let evaluation = try trainer.evaluate(test)
        #expect(evaluation.predictionWidth == 1 && evaluation.predictions.count == test.count)
        let confusion = try #require(evaluation.confusion)
        #expect(confusion.classCount == 2 && confusion.total == test.count)
        let right = confusion[0, 0] + confusion[1, 1]
        #expect(Double(right) / Double(test.count) >= 0.95, "\(confusion)")
        #expect(evaluation.accuracy == Double(right) / Double(test.count))
        // The confusion matrix agrees with the sign of each logit.
        let positives = evaluation.predictions.filter { $0 > 0 }.count
        #expect(confusion[0, 1] + confusion[1, 1] == positives)
        #expect(evaluation.loss < first!.loss)
        guard case let .classification(metrics) = try ModelAnalysis(evaluation, of: test, loss: .binaryCrossEntropy) else {
            Issue.record("a binary task analysed as regression")
            return
        }
        #expect(try #require(metrics.rocAUC) > 0.95)
        #expect(metrics.accuracy == evaluation.accuracy)
    }

    /// Two targets in very different units, standardized for training, reported back in their units.
    @Test func multiTargetRegressionThroughThePreprocessor() throws {
        var rng = SeededGenerator(seed: 31)
        var csv = "a,b,c,y1,y2\n"
        for _ in 0..<300 {
            let a = rng.nextNormal() * 3 + 10, b = rng.nextNormal() * 0.5, c = rng.nextUniform() * 100
            let y1 = 1000 + 40 * a - 300 * b + rng.nextNormal() * 5
            let y2 = -0.02 * c + 0.1 * a + rng.nextNormal() * 0.01
            csv += "\(a),\(b),\(c),\(y1),\(y2)\n"
        }
        let table = try DataTable(csvText: Array(csv.utf8), name: "two-targets.csv")
        let (trainRows, testRows) = Dataset.splitOrder(count: table.rowCount, testFraction: 0.25, seed: 3)
        let prep = try Preprocessor(fitting: table, rows: Array(trainRows), labelColumns: [3, 4])
        #expect(prep.task == .regression && prep.target.names == ["y1", "y2"])
        let train = try prep.dataset(table, rows: Array(trainRows)), test = try prep.dataset(table, rows: Array(testRows))
        #expect(train.targetCount == 2 && train.featureCount == 3)
        // Standardized on the training rows: mean 0, variance 1 per target.
        for j in 0..<2 {
            let column = stride(from: j, to: train.targets.count, by: 2).map { train.targets[$0] }
            let mean = column.reduce(0, +) / Double(column.count)
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(column.count)
            #expect(abs(mean) < 1e-9 && abs(variance - 1) < 1e-9)
        }
        // The originals, in their units, straight from the table.
        let original = Array(testRows).flatMap { r in [table.columns[3].numbers[r]!, table.columns[4].numbers[r]!] }
        let back = prep.targetsInOriginalUnits(test.targets)
        #expect(zip(back, original).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })

        var init_ = SeededGenerator(seed: 4)
        let mlp = MLP(graph: Graph<Float>(), widths: [3, 16, 2], activation: .tanh, using: &init_)
        let trainer = try Trainer(model: mlp, loss: .meanSquaredError, optimizer: .adam(learningRate: .constant(0.01)),
                                  batchSize: 16, seed: 4, executor: nil)
        for _ in 0..<30 { _ = try trainer.trainEpoch(on: train) }
        let evaluation = try trainer.evaluate(test)
        let predicted = prep.targetsInOriginalUnits(evaluation.predictions)
        let scores = (0..<2).map { r2(actual: original, predicted: predicted, column: $0, of: 2) }
        #expect(scores.allSatisfy { $0 > 0.9 }, "R² in original units \(scores)")
        // R² does not depend on the units, so the trainer's (standardized) figure agrees.
        #expect(abs(evaluation.r2! - (scores[0] + scores[1]) / 2) < 1e-6)
        guard case let .regression(metrics) = try ModelAnalysis(evaluation, of: test, loss: .meanSquaredError,
                                                                preprocessor: prep) else {
            Issue.record("a regression task analysed as classification")
            return
        }
        #expect(abs(metrics.r2 - (scores[0] + scores[1]) / 2) < 1e-9)
    }

    /// 50 rows in batches of 16: an epoch trains 3 whole batches; evaluation and prediction cover all 50 rows.
    @Test func fixedShapeGraphWithABatchThatDoesNotDivideTheRows() throws {
        let x = normalFeatures(rows: 50, columns: 3, seed: 41)
        // Two targets per row: [y_a, y_b] interleaved.
        let ya = linear(x, [0.5, 1, -1], 2), yb = linear(x, [-1, 0.25, 0.5], -1)
        let data = try Dataset(features: x, targets: zip(ya, yb).flatMap { [$0, $1] }, featureCount: 3, targetCount: 2,
                               task: .regression)
        let g = Graph<Double>()
        let xp = g.placeholder("x", shape: [16, 3])
        let yp = g.placeholder("y", shape: [16, 2])
        var rng = SeededGenerator(seed: 42)
        let w = g.parameter("w", .randomNormal(shape: [3, 2], using: &rng))
        let b = g.parameter("b", .zeros(shape: [2]))
        let prediction = try xp.matmul(w) + b
        let loss = try Loss.meanSquaredError(prediction: prediction, target: yp)
        let spec = try TrainingGraph(inputs: [.init(xp)], target: yp, prediction: prediction, loss: loss)
        let trainer = try Trainer(graph: spec, loss: .meanSquaredError, optimizer: .sgd(learningRate: .constant(0.05)),
                                  seed: 9, executor: nil)
        let first = try trainer.trainEpoch(on: data)
        #expect(first.samples == 48 && trainer.optimizerState.step == 3)
        let second = try trainer.trainEpoch(on: data)
        #expect(second.samples == 48 && trainer.optimizerState.step == 6 && trainer.epoch == 2)

        let evaluation = try trainer.evaluate(data)
        #expect(evaluation.predictionWidth == 2 && evaluation.predictions.count == 100)
        let (predicted, width) = try trainer.predict(data)
        #expect(width == 2 && predicted == evaluation.predictions)
        // Each row's prediction is its own x w + b, the overlapping last window included.
        let values = try trainer.parameterValues()
        var problems: [String] = []
        for r in 0..<50 {
            for j in 0..<2 {
                let byHand = (0..<3).reduce(values[1][j]) { $0 + x[r * 3 + $1] * values[0][$1 * 2 + j] }
                if abs(evaluation.predictions[r * 2 + j] - byHand) > 1e-12 { problems.append("row \(r) target \(j)") }
            }
        }
        #expect(problems.isEmpty, "\(problems)")
        // The loss is exact over all 50 rows (computed on the host from every prediction).
        let host = Loss.meanSquaredError.hostLoss(predictions: evaluation.predictions, targets: data.targets, rows: 50)
        #expect(evaluation.loss == host)
    }

    /// The same MLP trained as a fixed-shape graph and as a model: the same predictions on every row
    /// (the model-based trainer's parameters set to the graph's).
    @Test func fixedShapePredictionsMatchAModelBasedRun() throws {
        let (train, test) = try iris(seed: 6)
        #expect(test.count % 16 != 0)
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 6)
        let mlp = MLP(graph: g, widths: [4, 12, 3], using: &rng)
        let x = g.placeholder("x", shape: [16, 4]), labels = g.placeholder("labels", shape: [16])
        let logits = try mlp(x)
        let spec = try TrainingGraph(inputs: [.init(x)], target: labels, prediction: logits,
                                     loss: try Loss.crossEntropy(prediction: logits, target: labels))
        let fixed = try Trainer(graph: spec, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(0.01)),
                                seed: 6, executor: nil)
        for _ in 0..<3 { _ = try fixed.trainEpoch(on: train) }
        var other = SeededGenerator(seed: 99)
        let model = try Trainer(model: MLP(graph: Graph<Float>(), widths: [4, 12, 3], using: &other), loss: .crossEntropy,
                                optimizer: .adam(learningRate: .constant(0.01)), batchSize: 16, seed: 6, executor: nil)
        #expect(model.parameterNames == fixed.parameterNames)
        try model.setParameterValues(fixed.parameterValues())
        for data in [train, test] {
            let a = try fixed.evaluate(data), b = try model.evaluate(data)
            #expect(a.predictions.count == data.count * 3 && b.predictions.count == data.count * 3)
            #expect(zip(a.predictions, b.predictions).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
            #expect(abs(a.loss - b.loss) < 1e-5 && a.confusion == b.confusion)
        }
    }

    @Test func floatAndDoubleTrainersStayClose() throws {
        let (train, test) = try iris(seed: 12)
        var rng = SeededGenerator(seed: 12)
        let floatMLP = MLP(graph: Graph<Float>(), widths: [4, 16, 3], using: &rng)
        var rng2 = SeededGenerator(seed: 12)
        let doubleMLP = MLP(graph: Graph<Double>(), widths: [4, 16, 3], using: &rng2)
        let optimizer = Optimizer.adam(learningRate: .constant(0.01))
        let f = try Trainer(model: floatMLP, loss: .crossEntropy, optimizer: optimizer, batchSize: 16, seed: 12, executor: nil)
        let d = try Trainer(model: doubleMLP, loss: .crossEntropy, optimizer: optimizer, batchSize: 16, seed: 12, executor: nil)
        // The same starting point exactly (the Float values, widened).
        try d.setParameterValues(f.parameterValues().map { $0.map(Double.init) })
        for _ in 0..<2 {
            let a = try f.trainEpoch(on: train), b = try d.trainEpoch(on: train)
            #expect(abs(a.loss - b.loss) < 1e-3, "epoch \(a.epoch): Float \(a.loss), Double \(b.loss)")
        }
        let a = try f.evaluate(test), b = try d.evaluate(test)
        #expect(abs(a.loss - b.loss) < 1e-3, "test: Float \(a.loss), Double \(b.loss)")
        // Not identical: the Double run really computes in Double.
        #expect(try f.parameterValues()[0].map(Double.init) != d.parameterValues()[0])
    }

    @Test func parametersAreBitwiseEqualWithAnyNumberOfWorkers() throws {
        let all = try Dataset(csvFile: TrainingFixtures.digits)
        let (train, _) = all.split(testFraction: 0.5, seed: 3)
        let data = FeatureScaler(standardizing: train).apply(to: train)
        func run(workers: Int?) throws -> [[UInt32]] {
            let executor = workers.map { Executor(workers: $0) }
            defer { executor?.shutdown() }
            let trainer = try Trainer<Float>(widths: [64, 96, 10], optimizer: .adam(learningRate: .constant(0.002)),
                                             batchSize: 32, seed: 17, executor: executor)
            for _ in 0..<2 { _ = try trainer.trainEpoch(on: data) }
            return try trainer.parameterValues().map { $0.map(\.bitPattern) }
        }
        let serial = try run(workers: nil)
        var rng = SeededGenerator(seed: 17)
        let initial = MLP(graph: Graph<Float>(), widths: [64, 96, 10], using: &rng).parameters
        #expect(try serial[0] != initial[0].graph.value(of: initial[0]).scalars.map(\.bitPattern), "training changed nothing")
        for workers in [1, 2, 3] {
            #expect(try run(workers: workers) == serial, "\(workers) workers")
        }
    }
}
