import Foundation
import Scheduler
import Tensor
import Training

/// `bench predict`: applies a trained model (a `bench train --checkpoint` file) to new rows: the same
/// preprocessing as training, one prediction per row (class and probabilities, or values in the
/// targets' units), written as CSV; when the file also has the label column(s), their scores.
///
/// ```
/// bench train --data breast-cancer --checkpoint bc.ckpt
/// bench predict --checkpoint bc.ckpt --data new.csv --output predictions.csv
/// bench train --data shakespeare --checkpoint char.ckpt
/// bench predict --checkpoint char.ckpt --prompt "To be, or not to be, that is the question:" --generate 200
/// ```
enum PredictCommand {
    static let usage = """
        usage: bench predict --checkpoint PATH --data new.csv [--output predictions.csv] [--threads T] [--json]
               bench predict --checkpoint PATH --prompt TEXT [--generate N] [--temperature X] [--seed S] [--json]

        new.csv holds the feature columns under the header names of the training data (in any order; extra
        columns are ignored). When it also has the label column(s), they are not used as features and the
        predictions are scored (accuracy, F1, AUC or MAE, RMSE, R²). Output: one row per input row, in order:
        the predicted class and one probability per class, or the predicted values. Without --output the
        first rows are printed.

        With --prompt (a character-level model, trained with --data FILE.txt or shakespeare): continues the
        text by N characters (default 200), each the most probable next one (--temperature 0) or one drawn
        from the probabilities raised to 1/X (default 0.8) with seed S (default 1); the prompt must have at
        least as many characters as the model's context, all from its vocabulary.
        """

    static func run(_ words: [String]) throws {
        if words.contains("--help") || words.contains("-h") { print(usage); return }
        var args = try Arguments(words, flags: ["json"])
        guard let checkpointPath = args.string("checkpoint") else { throw ArgumentError("--checkpoint PATH is required\n\n\(usage)") }
        let prompt = args.string("prompt")
        let dataPath = args.string("data")
        let output = args.string("output")
        let threads = try args.int("threads", default: 2)
        let json = args.flag("json")
        let count = try args.int("generate", default: 200)
        let temperature = try args.double("temperature", default: 0.8)
        let seed = try args.int("seed", default: 1)
        try args.finish()
        guard threads > 0 else { throw ArgumentError("--threads expects a positive integer, got \(threads)") }
        if let prompt {
            guard dataPath == nil && output == nil else { throw ArgumentError("--prompt continues a text: it takes no --data or --output") }
            guard count >= 0 else { throw ArgumentError("--generate expects a count of characters >= 0, got \(count)") }
            guard temperature >= 0 && temperature.isFinite else { throw ArgumentError("--temperature expects a number >= 0, got \(temperature)") }
            let checkpoint = try Checkpoint(contentsOf: checkpointPath)
            let executor = Executor(workers: threads)
            defer { executor.shutdown() }
            let o = TextOptions(prompt: prompt, count: count, temperature: temperature, seed: UInt64(bitPattern: Int64(seed)))
            if checkpoint.metadata["scalar"] == "double" {
                try generate(Predictor<Double>(checkpoint: checkpoint, executor: executor), o, checkpointPath: checkpointPath, json: json)
            } else {
                try generate(Predictor<Float>(checkpoint: checkpoint, executor: executor), o, checkpointPath: checkpointPath, json: json)
            }
            return
        }
        guard let dataPath else { throw ArgumentError("--data PATH.csv (or --prompt TEXT for a text model) is required\n\n\(usage)") }
        let checkpoint = try Checkpoint(contentsOf: checkpointPath)
        let executor = Executor(workers: threads)
        defer { executor.shutdown() }
        if checkpoint.metadata["scalar"] == "double" {
            try predict(Predictor<Double>(checkpoint: checkpoint, executor: executor), checkpoint, checkpointPath, dataPath, output, json)
        } else {
            try predict(Predictor<Float>(checkpoint: checkpoint, executor: executor), checkpoint, checkpointPath, dataPath, output, json)
        }
    }

    static func predict<S>(_ predictor: Predictor<S>, _ checkpoint: Checkpoint, _ checkpointPath: String, _ dataPath: String, _ output: String?,
                           _ json: Bool) throws {
        let header: DataTable.Header = switch checkpoint.metadata["header"] {
        case "absent": .absent
        case "present": .present
        default: .automatic
        }
        // The bundled iris file is read with its real column names, as training read it.
        let table = try TrainCommand.PreparedData.readTable(dataPath.hasSuffix("Data/iris.csv") ? "iris" : dataPath, path: dataPath,
                                                            options: DataTable.ReadOptions(header: header))
        let (p, labelled) = try predictor.predict(table)
        let csv = csvText(p)
        if let output {
            try AtomicFile.write(Array(csv.utf8), to: output)
            print("\(p.rows) predictions written to \(output)")
        } else {
            let lines = csv.split(separator: "\n", omittingEmptySubsequences: false)
            print(lines.prefix(11).joined(separator: "\n"))
            if p.rows > 10 { print("... (\(p.rows - 10) more rows; --output FILE writes them all)") }
        }
        var j = JSONLine()
        j.add("checkpoint", checkpointPath)
        j.add("trained_on", checkpoint.metadata["data"] ?? "")
        j.add("data", dataPath)
        j.add("rows", p.rows)
        j.add("task", p.task.rawValue)
        if let labelled, let loss = predictor.trainer.loss ?? (p.task == .regression ? .meanSquaredError : nil) {
            let evaluation = try predictor.trainer.evaluate(labelled)
            let analysis = try ModelAnalysis(evaluation, of: labelled, loss: loss, preprocessor: predictor.preprocessor)
            print("\nscored against the label column(s) of \(dataPath) (loss \(String(format: "%.4f", evaluation.loss))):")
            print(analysis.table(), terminator: "")
            for (key, value) in analysis.jsonFields(prefix: "") { j.add(key, value) }
        }
        if json { print(j.text) }
    }

    /// The predictions as CSV: `prediction,p(<class>)...` or the target names.
    static func csvText<S>(_ p: Predictor<S>.Predictions) -> String {
        var lines: [String] = []
        if let names = p.classNames {
            lines.append((["prediction"] + names.map { "p(\($0))" }).map(csvField).joined(separator: ","))
            for r in 0..<p.rows {
                let probabilities = p.values[(r * p.width)..<((r + 1) * p.width)].map { String(format: "%.6g", $0) }
                lines.append(([csvField(names[p.classes[r]])] + probabilities).joined(separator: ","))
            }
        } else {
            lines.append(p.targetNames.map(csvField).joined(separator: ","))
            for r in 0..<p.rows {
                lines.append(p.values[(r * p.width)..<((r + 1) * p.width)].map { "\($0)" }.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
