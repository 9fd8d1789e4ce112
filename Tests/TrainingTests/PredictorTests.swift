import Foundation
import Testing
import Scheduler
import Tensor
import Training

/// Rows of a small mixed table: two numbers, a colour and a text label that depends on them.
private func mixedRows(count: Int, binary: Bool, seed: UInt64) -> [(x1: String, x2: String, color: String, label: String)] {
    var rng = SeededGenerator(seed: seed)
    let colors = ["red", "green", "blue"]
    return (0..<count).map { _ in
        let x1 = rng.nextNormal() * 2 + 5, x2 = rng.nextNormal()
        let c = Int(rng.next() % 3)
        let score = (x1 - 5) + x2 + (c == 0 ? 1.5 : c == 1 ? -1.5 : 0)
        let label = binary ? (score > 0 ? "yes" : "no") : (score > 1 ? "fox" : score < -1 ? "cat" : "dog")
        return (String(x1), String(x2), colors[c], label)
    }
}

private func csv(_ header: String, _ lines: [String]) -> [UInt8] {
    Array((header + "\n" + lines.joined(separator: "\n") + "\n").utf8)
}

/// The metadata `bench train` saves for prediction (see Sources/bench/TrainCommand+Run.swift).
private func predictionMetadata(_ description: ModelDescription, _ prep: Preprocessor) throws -> [String: String] {
    [ModelDescription.key: try description.json(), Preprocessor.key: try prep.json()]
}

private func bits(_ values: [[Double]]) -> [[UInt64]] { values.map { $0.map(\.bitPattern) } }

@Suite(.serialized) struct PredictorTests {
    /// Train -> checkpoint file -> `Predictor` -> a table with its columns in another order: the same
    /// probabilities and classes as the trainer's own evaluation, and the same encoded data.
    @Test(arguments: [false, true])
    func textLabelsAndCategoriesRoundTripThroughACheckpoint(binary: Bool) throws {
        let rows = mixedRows(count: 240, binary: binary, seed: binary ? 1 : 2)
        let table = try DataTable(csvText: csv("x1,x2,color,label", rows.map { "\($0.x1),\($0.x2),\($0.color),\($0.label)" }),
                                  name: "mixed.csv")
        let (trainRows, _) = Dataset.splitOrder(count: table.rowCount, testFraction: 0.25, seed: 3)
        let prep = try Preprocessor(fitting: table, rows: Array(trainRows), labelColumns: [3])
        #expect(prep.task == (binary ? .binary : .multiclass))
        #expect(prep.target.classNames == (binary ? ["no", "yes"] : ["cat", "dog", "fox"]))
        #expect(prep.encodedFeatureNames == ["x1", "x2", "color=blue", "color=green", "color=red"])

        let loss = prep.task.defaultLoss
        let widths = [prep.featureCount, 8, loss.outputWidth(task: prep.task, classCount: prep.classCount, targetCount: 1)]
        var rng = SeededGenerator(seed: 5)
        let trainer = try Trainer(model: MLP(graph: Graph<Float>(), widths: widths, using: &rng), loss: loss,
                                  optimizer: .adam(learningRate: .constant(0.02)), batchSize: 16, seed: 5, executor: nil)
        let train = try prep.dataset(table, rows: Array(trainRows))
        for _ in 0..<10 { _ = try trainer.trainEpoch(on: train) }

        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.ckpt"
        let description = ModelDescription.mlp(widths: widths, activation: .relu, loss: loss)
        try trainer.checkpoint(metadata: try predictionMetadata(description, prep)).write(to: path)
        let predictor = try Predictor<Float>(checkpoint: Checkpoint(contentsOf: path), executor: nil)
        #expect(predictor.preprocessor == prep && predictor.model == description)

        // What the trainer says about every row.
        let all = try prep.dataset(table)
        let evaluation = try trainer.evaluate(all)
        let width = evaluation.predictionWidth
        var expected: [Double] = [], expectedClasses: [Int] = []
        for r in 0..<all.count {
            let p = loss.probabilities(row: evaluation.predictions[(r * width)..<((r + 1) * width)])
            expected += p
            expectedClasses.append(p.indices.max { p[$0] < p[$1] }!)
        }
        #expect(expectedClasses.filter { $0 == expectedClasses[0] }.count < all.count, "the model predicts a single class")

        // The same rows, columns reordered; with and without the label.
        let reordered = try DataTable(csvText: csv("label,color,x2,x1", rows.map { "\($0.label),\($0.color),\($0.x2),\($0.x1)" }),
                                      name: "reordered.csv")
        let unlabelled = try DataTable(csvText: csv("x2,color,x1", rows.map { "\($0.x2),\($0.color),\($0.x1)" }),
                                       name: "unlabelled.csv")
        for t in [reordered, unlabelled] {
            let (predictions, labelled) = try predictor.predict(t)
            #expect(predictions.rows == all.count && predictions.width == prep.classCount)
            #expect(predictions.values == expected, "\(t.name): probabilities differ from the trainer's")
            #expect(predictions.classes == expectedClasses)
            #expect(predictions.classNames == prep.target.classNames)
            if t.name == "reordered.csv" {
                #expect(labelled == all)
            } else {
                #expect(labelled == nil)
            }
        }
        // The predicted class names agree with the accuracy the trainer measured.
        let (predictions, _) = try predictor.predict(reordered)
        let right = zip(predictions.classes, rows).filter { predictions.classNames![$0.0] == $0.1.label }.count
        #expect(Double(right) / Double(rows.count) == evaluation.accuracy)
    }

    @Test func aCheckpointOfAnotherModelIsRefusedNamingTheParameters() throws {
        var rng = SeededGenerator(seed: 1)
        let optimizer = Optimizer.adam(learningRate: .constant(0.01))
        let saved = try Trainer(model: MLP(graph: Graph<Float>(), widths: [4, 8, 3], using: &rng), loss: .crossEntropy,
                                optimizer: optimizer, batchSize: 8, seed: 1, executor: nil).checkpoint()

        func refusal(_ trainer: Trainer<Float>) -> (restore: String, load: String) {
            var messages: [String] = []
            for load in [false, true] {
                do {
                    if load { try trainer.loadParameters(from: saved) } else { try trainer.restore(from: saved) }
                    messages.append("accepted")
                } catch let error as CheckpointError {
                    messages.append(error.description)
                } catch {
                    messages.append("another error: \(error)")
                }
            }
            return (messages[0], messages[1])
        }

        // One more layer: the checkpoint lacks dense2.
        let deeper = try Trainer(model: MLP(graph: Graph<Float>(), widths: [4, 8, 8, 3], using: &rng), loss: .crossEntropy,
                                 optimizer: optimizer, batchSize: 8, seed: 1, executor: nil)
        let rdeeper = refusal(deeper)
        for m in [rdeeper.restore, rdeeper.load] {
            #expect(m.contains("dense2.weight, dense2.bias not in the checkpoint"), "\(m)")
        }
        // Other names altogether: both sides listed.
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [8, 4]), y = g.placeholder("y", shape: [8])
        let w = g.parameter("w", .zeros(shape: [4, 3])), b = g.parameter("b", .zeros(shape: [3]))
        let logits = try x.matmul(w) + b
        let linear = try Trainer(graph: TrainingGraph(inputs: [.init(x)], target: y, prediction: logits,
                                                      loss: Loss.crossEntropy(prediction: logits, target: y)),
                                 loss: .crossEntropy, optimizer: optimizer, seed: 1, executor: nil)
        let rlinear = refusal(linear)
        for m in [rlinear.restore, rlinear.load] {
            #expect(m.contains("the model's w, b not in the checkpoint"), "\(m)")
            #expect(m.contains("dense0.weight, dense0.bias, dense1.weight, dense1.bias not in the model"), "\(m)")
        }
        // Same names, another hidden width.
        let narrower = try Trainer(model: MLP(graph: Graph<Float>(), widths: [4, 6, 3], using: &rng), loss: .crossEntropy,
                                   optimizer: optimizer, batchSize: 8, seed: 1, executor: nil)
        let before = try narrower.parameterValues()
        let rnarrower = refusal(narrower)
        for m in [rnarrower.restore, rnarrower.load] {
            #expect(m.contains("'dense0.weight'") && m.contains("[4, 8]") && m.contains("[4, 6]"), "\(m)")
        }
        #expect(try narrower.parameterValues() == before, "a refused checkpoint changed the parameters")
        // A checkpoint without prediction metadata cannot make a predictor.
        let error = #expect(throws: CheckpointError.self) { _ = try Predictor<Float>(checkpoint: saved, executor: nil) }
        #expect(error?.description.contains(ModelDescription.key) == true, "\(String(describing: error))")
    }

    /// Double parameters and optimizer moments survive a file bit for bit; a restored run continues
    /// bit for bit; a Double predictor gives the trainer's own outputs.
    @Test func doubleCheckpointKeepsEveryBit() throws {
        let table = try DataTable(csvFile: TrainingFixtures.iris, options: .init(header: .present))
        let prep = try Preprocessor(fitting: table, rows: Array(0..<table.rowCount), labelColumns: [4])
        let data = try prep.dataset(table)
        let widths = [4, 10, 3]
        func trainer(initSeed: UInt64) throws -> Trainer<Double> {
            var rng = SeededGenerator(seed: initSeed)
            return try Trainer(model: MLP(graph: Graph<Double>(), widths: widths, using: &rng), loss: .crossEntropy,
                               optimizer: .adam(learningRate: .constant(0.01)), batchSize: 16, seed: 8, executor: nil)
        }
        let original = try trainer(initSeed: 8)
        for _ in 0..<3 { _ = try original.trainEpoch(on: data) }
        let description = ModelDescription.mlp(widths: widths, activation: .relu, loss: .crossEntropy, scalar: "double")
        let checkpoint = try original.checkpoint(metadata: try predictionMetadata(description, prep))

        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/double.ckpt"
        try checkpoint.write(to: path)
        let read = try Checkpoint(contentsOf: path)
        #expect((read.parameters + read.optimizerSlots).allSatisfy { $0.scalarBytes == 8 })
        #expect(read == checkpoint)
        let values = try original.parameterValues()
        #expect(bits(read.parameters.map(\.values)) == bits(values))
        #expect(values.joined().contains { Double(Float($0)) != $0 }, "values a Float file would also keep")
        #expect(read.optimizerSlots.count == 2 * values.count && read.step == original.optimizerState.step)

        // Resumed from the file: the same state, then the same next epoch.
        let resumed = try trainer(initSeed: 99)
        try resumed.restore(from: read)
        #expect(bits(try resumed.parameterValues()) == bits(values))
        #expect(resumed.epoch == 3 && resumed.optimizerState.step == original.optimizerState.step)
        let a = try original.trainEpoch(on: data), b = try resumed.trainEpoch(on: data)
        #expect(a.loss.bitPattern == b.loss.bitPattern)
        #expect(bits(try resumed.parameterValues()) == bits(try original.parameterValues()))

        // A Double predictor from the file: the trainer's outputs as of the checkpoint, exactly.
        let reference = try trainer(initSeed: 7)
        try reference.loadParameters(from: read)
        let evaluation = try reference.evaluate(data)
        let predictor = try Predictor<Double>(checkpoint: read, executor: nil)
        let (predictions, _) = try predictor.predict(table)
        var expected: [Double] = []
        for r in 0..<data.count { expected += Loss.crossEntropy.probabilities(row: evaluation.predictions[(r * 3)..<(r * 3 + 3)]) }
        #expect(predictions.values.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    /// The async `predict` gives the blocking one's predictions, bit for bit, on an executor.
    @Test func asyncPredictionMatchesTheBlockingOne() async throws {
        let rows = mixedRows(count: 120, binary: false, seed: 4)
        let table = try DataTable(csvText: csv("x1,x2,color,label", rows.map { "\($0.x1),\($0.x2),\($0.color),\($0.label)" }),
                                  name: "mixed.csv")
        let prep = try Preprocessor(fitting: table, rows: Array(0..<table.rowCount), labelColumns: [3])
        let loss = prep.task.defaultLoss
        let widths = [prep.featureCount, 8, loss.outputWidth(task: prep.task, classCount: prep.classCount, targetCount: 1)]
        var rng = SeededGenerator(seed: 5)
        let trainer = try Trainer(model: MLP(graph: Graph<Float>(), widths: widths, using: &rng), loss: loss,
                                  optimizer: .adam(learningRate: .constant(0.02)), batchSize: 16, seed: 5, executor: nil)
        let train = try prep.dataset(table)
        for _ in 0..<3 { _ = try await trainer.trainEpoch(on: train) }
        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.ckpt"
        let description = ModelDescription.mlp(widths: widths, activation: .relu, loss: loss)
        try trainer.checkpoint(metadata: try predictionMetadata(description, prep)).write(to: path)
        let executor = Scheduler.Executor(workers: 2)
        defer { executor.shutdown() }
        let predictor = try Predictor<Float>(checkpoint: Checkpoint(contentsOf: path), executor: executor)
        let blocking = try Self.blockingPredict(predictor, table)
        let awaited = try await predictor.predict(table)
        #expect(awaited.predictions.values.map(\.bitPattern) == blocking.predictions.values.map(\.bitPattern))
        #expect(awaited.predictions.classes == blocking.predictions.classes && awaited.labelled != nil)
    }

    /// The blocking form, called from synchronous code.
    private static func blockingPredict(_ p: Predictor<Float>, _ t: DataTable) throws -> (predictions: Predictor<Float>.Predictions, labelled: Dataset?) {
        try p.predict(t)
    }
}
