import Foundation
import Testing

/// End-to-end tests of `bench train` and `bench predict`: they run the built `bench` executable (built
/// into the same directory as the test binary by `swift build` / `swift test`) as a user would, and
/// check exit statuses, the `--json` line, the files written and, for bad input, the message and that
/// no output file is left behind.
@Suite struct BenchCommandTests {
    // MARK: - Training and prediction

    @Test func breastCancerTrainsThenPredictsRowsWithShuffledColumns() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let checkpoint = dir.path("bc.ckpt")
        let train = try Bench.run(["train", "--data", "breast-cancer", "--epochs", "3", "--checkpoint", checkpoint, "--json"], in: dir)
        try #require(train.status == 0, "\(train.stderr)")
        let j = try train.json()
        #expect(j["task"] as? String == "binary")
        #expect(j["loss"] as? String == "bce")
        #expect(j["epochs"] as? Int == 3)
        for key in ["test_accuracy", "test_auc", "test_f1_macro"] {
            let value = try #require(j[key] as? Double, "no \(key) in \(train.lastLine)")
            #expect(value >= 0 && value <= 1, "\(key) = \(value)")
        }
        #expect(FileManager.default.fileExists(atPath: checkpoint))

        // 25 rows of the training file, columns in reverse order (the label first): found by name.
        let lines = try String(contentsOfFile: TrainingFixtures.root + "/Data/breast-cancer.csv", encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let rows = Array(lines[1...25])
        let labels = rows.map { $0.last! }
        let reversed = ([lines[0]] + rows).map { $0.reversed().joined(separator: ",") }.joined(separator: "\n") + "\n"
        try reversed.write(toFile: dir.path("new.csv"), atomically: true, encoding: .utf8)
        let inOrder = ([lines[0]] + rows).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
        try inOrder.write(toFile: dir.path("same.csv"), atomically: true, encoding: .utf8)

        let predict = try Bench.run(["predict", "--checkpoint", checkpoint, "--data", dir.path("new.csv"),
                                     "--output", dir.path("p.csv"), "--json"], in: dir)
        try #require(predict.status == 0, "\(predict.stderr)")
        let csv = try String(contentsOfFile: dir.path("p.csv"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(csv.first == "prediction,p(benign),p(malignant)")
        try #require(csv.count == 1 + rows.count)
        var right = 0
        for (line, label) in zip(csv.dropFirst(), labels) {
            let fields = line.split(separator: ",").map(String.init)
            try #require(fields.count == 3, "\(line)")
            let benign = try #require(Double(fields[1])), malignant = try #require(Double(fields[2]))
            #expect(abs(benign + malignant - 1) < 1e-4, "\(line)")
            #expect(benign >= 0 && malignant >= 0)
            #expect(fields[0] == (malignant > benign ? "malignant" : "benign"), "\(line)")
            if fields[0] == label { right += 1 }
        }
        let p = try predict.json()
        #expect(p["rows"] as? Int == rows.count)
        // The file has the label column: the predictions are scored, and the accuracy is the share of rows right.
        let accuracy = try #require(p["accuracy"] as? Double, "no accuracy in \(predict.lastLine)")
        #expect(abs(accuracy - Double(right) / Double(rows.count)) < 1e-12)

        // Column order does not matter: the same rows in the training file's order predict the same.
        let again = try Bench.run(["predict", "--checkpoint", checkpoint, "--data", dir.path("same.csv"),
                                   "--output", dir.path("q.csv")], in: dir)
        try #require(again.status == 0, "\(again.stderr)")
        #expect(try String(contentsOfFile: dir.path("q.csv"), encoding: .utf8) == String(contentsOfFile: dir.path("p.csv"), encoding: .utf8))
    }

    @Test func diabetesRegressionReportsR2RMSEAndMAE() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let run = try Bench.run(["train", "--data", "diabetes", "--epochs", "5", "--json"], in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let j = try run.json()
        #expect(j["task"] as? String == "regression")
        #expect(j["loss"] as? String == "mse")
        #expect(j["model"] as? String == "MLP 10,256,1 (relu)")     // 10 features, 1 target
        let r2 = try #require(j["test_r2"] as? Double), rmse = try #require(j["test_rmse"] as? Double)
        let mae = try #require(j["test_mae"] as? Double)
        #expect(r2 <= 1)
        #expect(mae > 0 && rmse >= mae)      // the root of a mean square is at least the mean of the roots
    }

    @Test func twoNumericLabelColumnsTrainAndPredictTwoTargets() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        // y1 = a + 2b, y2 = a - b on a 7 x 7 grid of (a, b), with a constant-free third column c = a b.
        var text = "a,b,y1,c,y2\n"
        for i in 0..<7 { for k in 0..<7 {
            let a = Double(i) - 3, b = Double(k) / 2
            text += "\(a),\(b),\(a + 2 * b),\(a * b),\(a - b)\n"
        } }
        let data = dir.path("two.csv")
        try text.write(toFile: data, atomically: true, encoding: .utf8)
        let checkpoint = dir.path("two.ckpt")
        let run = try Bench.run(["train", "--data", data, "--label-columns", "y1,4", "--epochs", "5", "--hidden", "16",
                                 "--checkpoint", checkpoint, "--json"], in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let j = try run.json()
        #expect(j["task"] as? String == "regression")
        #expect(j["model"] as? String == "MLP 3,16,2 (relu)")       // features a, b, c; targets y1, y2
        #expect(j["test_r2"] is Double && j["test_rmse"] is Double && j["test_mae"] is Double)
        #expect(run.stdout.contains("targets 'y1', 'y2'"))

        let predict = try Bench.run(["predict", "--checkpoint", checkpoint, "--data", data, "--output", dir.path("p.csv")], in: dir)
        try #require(predict.status == 0, "\(predict.stderr)")
        let csv = try String(contentsOfFile: dir.path("p.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "y1,y2")
        #expect(csv.count == 1 + 49)
        #expect(csv.dropFirst().allSatisfy { $0.split(separator: ",").compactMap { Double($0) }.count == 2 })
    }

    @Test func missingTextCellIsAnErrorAtItsPlaceUnlessImputed() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        // 40 rows; the label is 1 for red. Row 4 (line 5: the header is line 1) misses its color (column 2).
        let colors = ["red", "green", "blue", "red", "green"]
        var lines = ["size,color,weight,label"]
        for i in 0..<40 {
            let color = colors[i % colors.count]
            lines.append("\(Double(i) / 4),\(i == 3 ? "" : color),\(Double(i % 7)),\(color == "red" ? 1 : 0)")
        }
        let data = dir.path("mixed.csv")
        try (lines.joined(separator: "\n") + "\n").write(toFile: data, atomically: true, encoding: .utf8)
        let checkpoint = dir.path("m.ckpt")
        let failed = try Bench.run(["train", "--data", data, "--epochs", "2", "--checkpoint", checkpoint], in: dir)
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("\(data):5:2"), "\(failed.stderr)")
        #expect(failed.stderr.contains("color") && failed.stderr.contains("--impute"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: checkpoint))

        let imputed = try Bench.run(["train", "--data", data, "--epochs", "2", "--impute", "median", "--json"], in: dir)
        try #require(imputed.status == 0, "\(imputed.stderr)")
        let j = try imputed.json()
        #expect(j["task"] as? String == "binary")
        // size, weight and color one-hot over red, green, blue: 5 encoded features.
        #expect(j["model"] as? String == "MLP 5,256,1 (relu)")
    }

    // MARK: - Bad input

    /// A command line that must fail before writing anything.
    struct BadInput: Sendable, CustomTestStringConvertible {
        let arguments: [String]
        let words: [String]
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let badInputs = [
        BadInput(arguments: ["--data", "breast-cancer", "--loss", "foo"], words: ["--loss", "'foo'", "mse, mae, huber, bce, ce"]),
        BadInput(arguments: ["--data", "digits", "--loss", "bce"], words: ["'bce'", "multiclass", "10 classes", "use ce"]),
        BadInput(arguments: ["--data", "breast-cancer", "--loss", "mse"], words: ["'mse'", "binary", "use bce, ce"]),
        // 30 feature columns, then the label: line 2 (the first row), column 31.
        BadInput(arguments: ["--data", "breast-cancer", "--task", "regression"],
                 words: ["breast-cancer.csv:2:31", "regression target 'diagnosis'", "malignant"]),
        BadInput(arguments: ["--data", "diabetes", "--patience", "2"], words: ["--patience", "--validation-fraction"]),
        BadInput(arguments: ["--data", "iris", "--clip-norm", "0"], words: ["--clip-norm expects a positive number, got '0'"]),
        BadInput(arguments: ["--data", "iris", "--graph", TrainingFixtures.root + "/docs/examples/mlp.json"],
                 words: ["mlp.json", "no training section"]),
        // The graph's batch is 16 rows; iris's 10% test split has 15.
        BadInput(arguments: ["--data", "iris", "--graph", TrainingFixtures.root + "/docs/examples/iris-mlp.json", "--test-fraction", "0.1"],
                 words: ["batches of 16 rows", "test split has 15", "--test-fraction"]),
    ]

    @Test(arguments: badInputs)
    func badTrainingInputFailsAndWritesNothing(_ bad: BadInput) throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let outputs = [dir.path("out.ckpt"), dir.path("out.json"), dir.path("report")]
        let run = try Bench.run(["train"] + bad.arguments + ["--epochs", "2", "--checkpoint", outputs[0], "--save-graph", outputs[1],
                                                             "--report", outputs[2]], in: dir)
        #expect(run.status != 0)
        for word in bad.words { #expect(run.stderr.contains(word), "'\(word)' not in: \(run.stderr)") }
        for path in outputs { #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written") }
    }

    @Test func graphWhoseLossIsNotAScalarIsRefused() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        // A linear model whose "loss" is the per-row cross-entropy, never averaged: shape [16], not [].
        let graph = """
            {"format": "graph-engine/graph", "version": 2, "nodes": [
              {"id": "x", "kind": "placeholder", "shape": [16, 4]},
              {"id": "labels", "kind": "placeholder", "shape": [16]},
              {"id": "w", "kind": "parameter", "shape": [4, 3], "values": [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]},
              {"id": "logits", "kind": "op", "op": "matmul", "inputs": ["x", "w"]},
              {"id": "logp", "kind": "op", "op": "log_softmax", "inputs": ["logits"]},
              {"id": "column", "kind": "op", "op": "reshape", "inputs": ["labels"], "attributes": {"shape": [16, 1]}},
              {"id": "product", "kind": "op", "op": "mul", "inputs": ["logp", "column"]},
              {"id": "rowloss", "kind": "op", "op": "sum", "inputs": ["product"], "attributes": {"axes": [1]}}
            ],
            "outputs": ["logits"],
            "training": {"inputs": [{"placeholder": "x", "columns": "features"}], "target": {"placeholder": "labels", "columns": "label"},
                         "prediction": "logits", "loss": "rowloss"}}
            """
        let file = dir.path("rowloss.json")
        try graph.write(toFile: file, atomically: true, encoding: .utf8)
        let saved = dir.path("saved.json")
        let run = try Bench.run(["train", "--data", "iris", "--graph", file, "--epochs", "1", "--save-graph", saved], in: dir)
        #expect(run.status != 0)
        for word in ["rowloss.json:", "training.loss", "\"rowloss\"", "[16]", "scalar"] {
            #expect(run.stderr.contains(word), "'\(word)' not in: \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: saved))
    }

    @Test func predictNamesTheMissingFeatureColumn() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let checkpoint = dir.path("bc.ckpt")
        let train = try Bench.run(["train", "--data", "breast-cancer", "--epochs", "1", "--hidden", "8", "--checkpoint", checkpoint], in: dir)
        try #require(train.status == 0, "\(train.stderr)")
        // The first 10 rows without their first column, mean_radius.
        let lines = try String(contentsOfFile: TrainingFixtures.root + "/Data/breast-cancer.csv", encoding: .utf8).split(separator: "\n")
        let cut = lines.prefix(11).map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst().joined(separator: ",") }
        try (cut.joined(separator: "\n") + "\n").write(toFile: dir.path("cut.csv"), atomically: true, encoding: .utf8)
        let output = dir.path("p.csv")
        let run = try Bench.run(["predict", "--checkpoint", checkpoint, "--data", dir.path("cut.csv"), "--output", output], in: dir)
        #expect(run.status != 0)
        #expect(run.stderr.contains("cut.csv") && run.stderr.contains("feature column 'mean_radius'"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func predictContinuesATextWithACharacterModel() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        // A text with period 5 ("abcde", "\n" after every 40): a character model learns it at once.
        let text = (0..<50).map { _ in String(repeating: "abcde", count: 8) }.joined(separator: "\n") + "\n"
        try text.write(toFile: dir.path("period.txt"), atomically: true, encoding: .utf8)
        let checkpoint = dir.path("char.ckpt")
        let train = try Bench.run(["train", "--data", dir.path("period.txt"), "--context", "6", "--epochs", "3",
                                   "--checkpoint", checkpoint], in: dir)
        try #require(train.status == 0, "\(train.stderr)")
        // Greedy: the period goes on.
        let greedy = try Bench.run(["predict", "--checkpoint", checkpoint, "--prompt", "abcdeab", "--generate", "13",
                                    "--temperature", "0"], in: dir)
        try #require(greedy.status == 0, "\(greedy.stderr)")
        #expect(greedy.stdout == "abcdeabcdeabcdeabcde\n", "\(greedy.stdout)")
        // Sampling: the same seed gives the same text, every character from the vocabulary.
        func sample(_ seed: String) throws -> String {
            let run = try Bench.run(["predict", "--checkpoint", checkpoint, "--prompt", "abcdeab", "--generate", "40",
                                     "--seed", seed, "--json"], in: dir)
            try #require(run.status == 0, "\(run.stderr)")
            return try #require(run.json()["generated"] as? String)
        }
        let first = try sample("7"), again = try sample("7")
        #expect(first == again && first.unicodeScalars.count == 40)
        #expect(first.allSatisfy { "abcde\n".contains($0) }, "\(first)")
        // Errors name what is wrong.
        let short = try Bench.run(["predict", "--checkpoint", checkpoint, "--prompt", "abc"], in: dir)
        #expect(short.status != 0 && short.stderr.contains("at least 6"), "\(short.stderr)")
        let unknown = try Bench.run(["predict", "--checkpoint", checkpoint, "--prompt", "abcdeaX"], in: dir)
        #expect(unknown.status != 0 && unknown.stderr.contains("the character X is not in the model's vocabulary"), "\(unknown.stderr)")
        let tabular = dir.path("iris.ckpt")
        try #require(try Bench.run(["train", "--data", "iris", "--hidden", "8", "--epochs", "1", "--checkpoint", tabular], in: dir).status == 0)
        let wrong = try Bench.run(["predict", "--checkpoint", tabular, "--prompt", "abcdefgh"], in: dir)
        #expect(wrong.status != 0 && wrong.stderr.contains("character-level model"), "\(wrong.stderr)")
    }

    @Test func resumingFromAnotherRunsCheckpointIsRefusedAndLeavesItAlone() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let checkpoint = dir.path("r.ckpt")
        let first = try Bench.run(["train", "--data", "iris", "--hidden", "16", "--epochs", "1", "--checkpoint", checkpoint], in: dir)
        try #require(first.status == 0, "\(first.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        let saved = dir.path("g.json")
        for (change, words) in [(["--hidden", "8"], ["r.ckpt", "another model"]),
                                (["--hidden", "16", "--seed", "5"], ["r.ckpt", "--seed 42", "--seed 5"]),
                                (["--hidden", "16", "--optimizer", "sgd"], ["'adam'", "'sgd'"])] {
            let run = try Bench.run(["train", "--data", "iris", "--epochs", "2", "--checkpoint", checkpoint, "--resume",
                                     "--save-graph", saved] + change, in: dir)
            #expect(run.status != 0, "\(change)")
            for word in words { #expect(run.stderr.contains(word), "'\(word)' not in: \(run.stderr)") }
            #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == before, "\(change) changed the checkpoint")
            #expect(!FileManager.default.fileExists(atPath: saved))
        }
        // The same run resumes: one more epoch, after the first.
        let resumed = try Bench.run(["train", "--data", "iris", "--hidden", "16", "--epochs", "2", "--checkpoint", checkpoint,
                                     "--resume", "--json"], in: dir)
        try #require(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed from \(checkpoint) after epoch 1"))
        #expect(try resumed.json()["epochs"] as? Int == 2)
    }

    // MARK: - Graph files, early stopping, reports

    @Test func savedGraphReloadsWithTheTrainedParameters() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let saved = dir.path("out.json")
        let first = try Bench.run(["train", "--graph", TrainingFixtures.root + "/docs/examples/iris-mlp.json", "--data", "iris",
                                   "--epochs", "3", "--save-graph", saved, "--json"], in: dir)
        try #require(first.status == 0, "\(first.stderr)")
        let again = try Bench.run(["train", "--graph", saved, "--data", "iris", "--epochs", "0", "--json"], in: dir)
        try #require(again.status == 0, "\(again.stderr)")
        let a = try first.json(), b = try again.json()
        #expect(a["loss"] as? String == "ce" && a["batch"] as? Int == 16)
        #expect(b["epochs"] as? Int == 0)
        let accuracy = try #require(a["test_accuracy"] as? Double)
        #expect(b["test_accuracy"] as? Double == accuracy)
        let loss = try #require(a["test_loss"] as? Double), reloaded = try #require(b["test_loss"] as? Double)
        #expect(abs(loss - reloaded) <= 1e-6 * max(1, loss))
    }

    @Test func earlyStoppingStopsPatienceEpochsAfterTheBest() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let run = try Bench.run(["train", "--data", "diabetes", "--validation-fraction", "0.2", "--patience", "2",
                                 "--epochs", "200", "--json"], in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let j = try run.json()
        let epochs = try #require(j["epochs"] as? Int), best = try #require(j["best_epoch"] as? Int, "\(run.lastLine)")
        #expect(epochs < 200)
        // It stops at the first epoch that is `patience` epochs past the best one without improving on it.
        #expect(epochs == best + 2)
        #expect(run.stdout.contains("stopped early"))
    }

    @Test func reportWritesLearningCurves() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let report = dir.path("report")
        let run = try Bench.run(["train", "--data", "iris", "--epochs", "2", "--report", report], in: dir)
        try #require(run.status == 0, "\(run.stderr)")
        let html = try String(contentsOfFile: report + "/training.html", encoding: .utf8)
        #expect(html.contains("<svg"))
    }

    @Test func helpDescribesTheOptions() throws {
        let dir = try Scratch()
        defer { dir.remove() }
        let train = try Bench.run(["train", "--help"], in: dir)
        #expect(train.status == 0 && train.stdout.contains("--label-columns") && train.stdout.contains("--patience"))
        let predict = try Bench.run(["predict", "--help"], in: dir)
        #expect(predict.status == 0 && predict.stdout.contains("--checkpoint") && predict.stdout.contains("--output"))
    }
}

// MARK: - Running bench

/// The built `bench` executable, run in a scratch directory.
enum Bench {
    /// What a run printed and how it ended.
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String

        /// The last line of stdout (the `--json` object).
        var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }

        /// The `--json` object.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any] else {
                throw BenchTestError("the last line of stdout is not a JSON object: \(lastLine)")
            }
            return object
        }
    }

    /// `bench` in the directory of the test binary, or in one above it (`.build/<config>/`).
    static func executable() throws -> URL {
        var starts = [URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent(),
                      Bundle.main.bundleURL.resolvingSymlinksInPath()]
        starts += starts.map { $0.resolvingSymlinksInPath() }
        var looked: [String] = []
        for start in starts {
            var dir = start
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("bench")
                if FileManager.default.isExecutableFile(atPath: candidate.path) && !isDirectory(candidate.path) {
                    return candidate
                }
                looked.append(dir.path)
                dir.deleteLastPathComponent()
            }
        }
        throw BenchTestError("cannot find the bench executable next to the test binary (looked in \(Set(looked).sorted().joined(separator: ", "))): build it with `swift build --product bench` in the same configuration as the tests")
    }

    private static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }

    /// Runs `bench arguments...` in `dir`; stdout and stderr go to files there (no pipe to fill up).
    static func run(_ arguments: [String], in dir: Scratch) throws -> Result {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: dir.root)
        let name = UUID().uuidString
        let out = dir.path(".\(name).out"), err = dir.path(".\(name).err")
        guard FileManager.default.createFile(atPath: out, contents: nil),
              FileManager.default.createFile(atPath: err, contents: nil) else {
            throw BenchTestError("cannot create \(out) and \(err)")
        }
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        return Result(status: process.terminationStatus, stdout: try String(contentsOfFile: out, encoding: .utf8),
                      stderr: try String(contentsOfFile: err, encoding: .utf8))
    }
}

/// A fresh directory for one test's files (`defer { dir.remove() }`).
struct Scratch {
    let root: String
    init() throws { root = try TrainingFixtures.scratchDirectory() }
    func path(_ name: String) -> String { root + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

struct BenchTestError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
