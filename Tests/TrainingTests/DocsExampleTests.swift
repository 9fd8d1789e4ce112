import Foundation
import Testing
import Scheduler
import Tensor
import Training

/// The Swift examples of docs/training.md, kept compiling and correct here (paths made absolute).
@Suite struct DocsExampleTests {
    @Test func trainingFromSwiftExample() throws {
        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csvPath = TrainingFixtures.root + "/Data/breast-cancer.csv", checkpointPath = dir + "/bc.ckpt"

        // --- docs/training.md, "From Swift" (begin) ---
        // The data: the label is the last column (text: benign or malignant).
        let table = try DataTable(csvFile: csvPath)
        let (trainRows, testRows) = Dataset.splitOrder(count: table.rowCount, testFraction: 0.2, seed: 42)
        let prep = try Preprocessor(fitting: table, rows: Array(trainRows), labelColumns: [table.columns.count - 1])
        let train = try prep.dataset(table, rows: Array(trainRows))
        let test = try prep.dataset(table, rows: Array(testRows))

        // The loss fits the task (binary: one logit per row, BCE); the model outputs what the loss takes.
        let loss = prep.task.defaultLoss
        let outputs = loss.outputWidth(task: prep.task, classCount: prep.classCount, targetCount: train.targetCount)
        var rng = SeededGenerator(seed: 42)
        let mlp = MLP(graph: Graph<Float>(), widths: [prep.featureCount, 32, outputs], activation: .relu, using: &rng)
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        let trainer = try Trainer(model: mlp, loss: loss, optimizer: .adam(learningRate: .constant(1e-3)),
                                  batchSize: 32, seed: 42, executor: executor)
        for _ in 0..<5 {
            let epoch = try trainer.trainEpoch(on: train)
            print("epoch \(epoch.epoch + 1): loss \(epoch.loss), accuracy \(epoch.metric)")
        }

        // The analysis bench train prints: precision, recall, F1, log loss, ROC AUC, confusion matrix.
        let evaluation = try trainer.evaluate(test)
        let analysis = try ModelAnalysis(evaluation, of: test, loss: loss, preprocessor: prep)
        print(analysis.table())

        // A checkpoint that Predictor and `bench predict` can use: the model and the preprocessing ride along.
        let model = ModelDescription.mlp(widths: mlp.widths, activation: .relu, loss: loss)
        try trainer.checkpoint(metadata: [ModelDescription.key: model.json(), Preprocessor.key: prep.json()])
            .write(to: checkpointPath)
        let predictor = try Predictor<Float>(checkpoint: Checkpoint(contentsOf: checkpointPath), executor: nil)
        let (p, _) = try predictor.predict(table.rows(0..<5))
        print(p.classNames![p.classes[0]], p.values[0..<p.width])   // "malignant", [p(benign), p(malignant)]
        // --- (end) ---

        #expect(prep.task == .binary && loss == .binaryCrossEntropy && outputs == 1)
        #expect(prep.target.classNames == ["benign", "malignant"])
        #expect(trainer.epoch == 5)
        // The analysis and the evaluation count the same rows right.
        #expect(analysis.mainMetric == evaluation.accuracy)
        // The predictor (rebuilt from the file) gives what the trainer's own logits say: p(malignant) = σ(z).
        let rows = try prep.dataset(table, rows: Array(0..<5))
        let (logits, width) = try trainer.predict(rows)
        #expect(width == 1 && p.rows == 5 && p.width == 2)
        for r in 0..<5 {
            let sigma = 1 / (1 + exp(-logits[r]))
            #expect(abs(p.values[2 * r + 1] - sigma) < 1e-12)
            #expect(abs(p.values[2 * r] + p.values[2 * r + 1] - 1) < 1e-12)
            #expect(p.classes[r] == (logits[r] > 0 ? 1 : 0))
        }
    }

    /// docs/training.md, "Any model": a custom `TrainableModel` (a linear regression).
    struct Linear: TrainableModel {
        let w: Node<Double>, b: Node<Double>
        var parameters: [Node<Double>] { [w, b] }
        var inputShape: [Int] { [w.shape[0]] }
        func prediction(_ x: Node<Double>) throws -> Node<Double> { try x.matmul(w) + b }
    }

    @Test func customModelAndGraphFileExamples() throws {
        // --- docs/training.md, "Any model" (begin) ---
        let g = Graph<Double>()
        let linear = Linear(w: g.parameter("w", .zeros(shape: [2, 1])), b: g.parameter("b", .zeros(shape: [1])))
        // y = 3 a - 2 b + 1 on 8 rows.
        let x: [Double] = [0, 0, 1, 0, 0, 1, 1, 1, 2, 1, 1, 2, -1, 0, 0, -1]
        let y: [Double] = (0..<8).map { (r: Int) -> Double in 3 * x[2 * r] - 2 * x[2 * r + 1] + 1 }
        let data = try Dataset(features: x, targets: y, featureCount: 2, targetCount: 1, task: .regression, classCount: 0)
        let trainer = try Trainer(model: linear, loss: .meanSquaredError, optimizer: .sgd(learningRate: .constant(0.1)),
                                  batchSize: 8, seed: 1, executor: nil)
        for _ in 0..<500 { _ = try trainer.trainEpoch(on: data) }
        print(try trainer.parameterValues())     // [[3, -2], [1]], nearly

        // A graph file with a training section: a fixed-shape TrainingGraph (batches of the file's 16 rows).
        let file = try GraphFile<Float>(contentsOf: URL(fileURLWithPath: "\(TrainingFixtures.root)/docs/examples/iris-mlp.json"))
        let spec = try file.training!.trainingGraph(featureNames: ["f0", "f1", "f2", "f3"])
        let graphTrainer = try Trainer(graph: spec, loss: file.training!.knownLoss, optimizer: .adam(learningRate: .constant(1e-2)),
                                       seed: 42, executor: nil)
        // --- (end) ---

        let values = try trainer.parameterValues()
        #expect(abs(values[0][0] - 3) < 1e-6 && abs(values[0][1] + 2) < 1e-6 && abs(values[1][0] - 1) < 1e-6)
        #expect(graphTrainer.batchSize == 16 && graphTrainer.hasFixedBatch && graphTrainer.loss == .crossEntropy)
        #expect(graphTrainer.parameterNames == ["w1", "b1", "w2", "b2"])
    }
}
