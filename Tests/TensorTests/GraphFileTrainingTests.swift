import Foundation
import Testing
import Tensor

/// The training section of graph files (version 2): it survives write -> read -> write, version 1
/// files read as before, every broken rule is an error at its field, a spec built in Swift is checked
/// by the same rules, and the iris example reads and gives the loss a plain loop gives.
@Suite struct GraphFileTrainingTests {
    static let examples = GraphFileTests.examples
    static let iris = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/iris.csv")

    /// Two inputs (named and indexed columns), labels, a prediction and a loss that are not outputs.
    static func model() throws -> (file: GraphFile<Float>, feeds: [Node<Float>: Tensor<Float>]) {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 3)
        let x = g.placeholder("x", shape: [8, 3])
        let extra = g.placeholder("extra", shape: [8, 2])
        let labels = g.placeholder("labels", shape: [8])
        let w = g.parameter("w", .randomNormal(shape: [3, 4], using: &rng))
        let v = g.parameter("v", .randomNormal(shape: [2, 4], using: &rng))
        let logits = try x.matmul(w) + extra.matmul(v)
        let loss = try softmaxCrossEntropy(logits: logits, labels: labels)
        let spec = try GraphTrainingSpec(
            inputs: [.init(placeholder: x, columns: .names(["sepal_length", "petal_width", "petal_length"])),
                     .init(placeholder: extra, columns: .indices([5, 0]))],
            target: .init(placeholder: labels, columns: .label),
            prediction: logits, loss: loss, task: "multiclass")
        let file = try GraphFile(outputs: [("probabilities", softmax(logits))], training: spec)
        let feeds: [Node<Float>: Tensor<Float>] = [x: .randomNormal(shape: [8, 3], using: &rng),
                                                   extra: .randomNormal(shape: [8, 2], using: &rng),
                                                   labels: Tensor([0, 3, 1, 2, 2, 0, 1, 3])]
        return (file, feeds)
    }

    @Test func roundTripKeepsTheSpecAndTheText() throws {
        let (original, feeds) = try Self.model()
        #expect(original.loss == original.training?.loss)
        let text = try original.json().json
        #expect(text.contains("\"version\": 2,"))
        #expect(!text.contains("\n  \"loss\""), "a file with a training section has no top-level loss")
        let read = try GraphFile<Float>(json: Data(text.utf8))
        let a = try #require(original.training), b = try #require(read.training)

        #expect(b.inputs.map(\.name) == ["x", "extra"])
        #expect(b.inputs.map(\.columns) == a.inputs.map(\.columns))
        #expect(b.inputs.map(\.placeholder.shape) == [[8, 3], [8, 2]])
        #expect(b.target.name == "labels" && b.target.columns == .label)
        // Prediction and loss are not outputs: the writer stores them under default ids.
        #expect(b.prediction == read.nodes["prediction"] && b.loss == read.nodes["loss"])
        #expect(b.prediction.shape == [8, 4] && b.loss.shape == [])
        #expect(b.task == "multiclass" && b.batchSize == 8)
        #expect(read.loss == b.loss)
        #expect(read.outputs.map(\.name) == ["probabilities"])

        // Same loss, bit for bit, from the same feeds.
        func loss(_ file: GraphFile<Float>, _ feeds: [Node<Float>: Tensor<Float>]) throws -> UInt32 {
            let plan = try Plan(outputs: [file.training!.loss])
            try plan.run(feeds: feeds)
            return try plan.value(of: file.training!.loss).scalar.bitPattern
        }
        let names = original.placeholders
        let readFeeds = Dictionary(uniqueKeysWithValues: names.map { (read.placeholders[$0.key]!, feeds[$0.value]!) })
        #expect(try loss(read, readFeeds) == loss(original, feeds))

        // Writing what was read gives the same text.
        #expect(try read.json().json == text)
    }

    @Test func writtenValuesAreTheCurrentOnes() throws {
        let file = try GraphFile<Float>(contentsOf: Self.examples.appendingPathComponent("iris-mlp.json"))
        let b2 = file.nodes["b2"]!
        try file.graph.setValue(Tensor([0.5, -0.25, 0.125]), of: b2)   // as training would
        let read = try GraphFile<Float>(json: Data(try file.json().json.utf8))
        #expect(try read.graph.value(of: read.nodes["b2"]!).scalars == [0.5, -0.25, 0.125])
        #expect(read.training?.batchSize == 16)
    }

    @Test func versionOneFilesReadAsBefore() throws {
        let file = try GraphFile<Float>(contentsOf: Self.examples.appendingPathComponent("mlp.json"))
        #expect(file.training == nil)
        #expect(file.loss == file.nodes["loss"])
        let text = try file.json().json
        #expect(text.contains("\"version\": 1,") && text.contains("\"loss\": \"loss\"") && !text.contains("training"))
    }

    @Test func topLevelLossMayRepeatTheTrainingLoss() throws {
        let text = Self.document(Self.goodTraining, outputs: "[\"p\", \"loss\"],\n\"loss\": \"loss\"")
        let file = try GraphFile<Float>(json: Data(text.utf8))
        #expect(file.loss == file.nodes["loss"] && file.training?.loss == file.nodes["loss"])
    }

    // MARK: Errors in files

    static let nodes = """
        {"id": "x", "kind": "placeholder", "shape": [4, 3]},
        {"id": "y", "kind": "placeholder", "shape": [4]},
        {"id": "z", "kind": "placeholder", "shape": [4]},
        {"id": "s", "kind": "placeholder", "shape": []},
        {"id": "y8", "kind": "placeholder", "shape": [8]},
        {"id": "w", "kind": "parameter", "shape": [3, 2], "values": [1, 2, 3, 4, 5, 6]},
        {"id": "p", "kind": "op", "op": "matmul", "inputs": ["x", "w"]},
        {"id": "rows", "kind": "op", "op": "sum", "inputs": ["p"], "attributes": {"axes": [1]}},
        {"id": "loss", "kind": "op", "op": "softmax_cross_entropy", "inputs": ["p", "y"]},
        {"id": "lz", "kind": "op", "op": "softmax_cross_entropy", "inputs": ["p", "z"]},
        {"id": "both", "kind": "op", "op": "add", "inputs": ["loss", "lz"]},
        {"id": "leak", "kind": "op", "op": "mul", "inputs": ["rows", "y"]},
        {"id": "lleak", "kind": "op", "op": "mse", "inputs": ["leak", "y"]}
        """

    /// The training section is on line 18 (after 13 node lines).
    static func document(_ training: String, version: Int = 2, outputs: String = "[\"p\"]") -> String {
        "{\"version\": \(version),\n\"nodes\": [\n\(nodes)\n],\n\"outputs\": \(outputs),\n\"training\": \(training)}"
    }

    static let goodTraining = """
        {"inputs": [{"placeholder": "x", "columns": "features"}], "target": {"placeholder": "y", "columns": "label"}, \
        "prediction": "p", "loss": "loss"}
        """

    /// `goodTraining` with `old` replaced by `new`.
    static func training(_ old: String, _ new: String) -> String {
        precondition(goodTraining.contains(old))
        return goodTraining.replacingOccurrences(of: old, with: new)
    }

    static let xFeed = "{\"placeholder\": \"x\", \"columns\": \"features\"}"
    static let yFeed = "{\"placeholder\": \"y\", \"columns\": \"label\"}"

    /// Each bad training section, the fragments its error must contain, and the text in the training
    /// line whose first character the error's column points at (nil: not checked).
    static let badTraining: [(String, String, [String], String?)] = [
        ("unknown id", training("\"x\"", "\"q\""), ["field \"training.inputs[0].placeholder\"", "no node has id \"q\""], "\"q\""),
        ("input is a parameter", training("\"x\"", "\"w\""),
         ["field \"training.inputs[0].placeholder\"", "\"w\" is a parameter, not a placeholder"], "\"w\""),
        ("target is an op", training("\"y\"", "\"p\""),
         ["field \"training.target.placeholder\"", "\"p\" is an op (matmul), not a placeholder"], "\"p\", \"columns\": \"label\""),
        ("placeholder twice", training(xFeed, xFeed + ", " + xFeed),
         ["field \"training.inputs[1].placeholder\"", "placeholder \"x\" is already fed by training.inputs[0]"], nil),
        ("target also an input", training(yFeed, "{\"placeholder\": \"x\", \"columns\": \"label\"}"),
         ["field \"training.target.placeholder\"", "placeholder \"x\" is already fed by training.inputs[0]"], nil),
        ("scalar placeholder", training("\"y\"", "\"s\""),
         ["field \"training.target.placeholder\"", "placeholder \"s\" has shape [] (a scalar); a fed placeholder needs a leading batch dimension"], "\"s\""),
        ("batch dimensions differ", training("\"y\"", "\"y8\""),
         ["field \"training.target.placeholder\"", "placeholder \"y8\" [8] has batch dimension 8, but training.inputs[0] (\"x\" [4, 3]) has 4"], "\"y8\""),
        ("unknown prediction", training("\"p\"", "\"nope\""), ["field \"training.prediction\"", "no node has id \"nope\""], "\"nope\""),
        ("unknown loss", training("\"loss\"}", "\"lost\"}"), ["field \"training.loss\"", "no node has id \"lost\""], "\"lost\""),
        ("loss not a scalar", training("\"loss\"}", "\"rows\"}"),
         ["field \"training.loss\"", "the loss \"rows\" has shape [4]; it must be a scalar (shape [])"], "\"rows\""),
        ("prediction is the loss", training("\"p\"", "\"loss\""),
         ["field \"training.prediction\"", "the prediction and the loss are the same node \"loss\""], nil),
        ("loss ignores the prediction", training("\"p\"", "\"rows\""),
         ["field \"training.loss\"", "the loss \"loss\" does not depend on the prediction \"rows\""], "\"loss\"}"),
        ("loss ignores the target", training("\"loss\"}", "\"lz\"}"),
         ["field \"training.loss\"", "the loss \"lz\" does not depend on the target placeholder \"y\""], "\"lz\""),
        ("placeholder not fed", training("\"loss\"}", "\"both\"}"),
         ["field \"training.loss\"", "the loss \"both\" depends on placeholder \"z\", which is not fed (neither an input nor the target)"], "\"both\""),
        ("prediction reads the target", training("\"p\", \"loss\": \"loss\"", "\"leak\", \"loss\": \"lleak\""),
         ["field \"training.prediction\"", "the prediction \"leak\" depends on the target placeholder \"y\""], "\"leak\""),
        ("unknown task", training("\"loss\"}", "\"loss\", \"task\": \"classification\"}"),
         ["field \"training.task\"", "unknown task \"classification\" (expected: regression, binary, multiclass)"], "\"classification\""),
        ("task not a string", training("\"loss\"}", "\"loss\", \"task\": 3}"),
         ["field \"training.task\"", "expected a string, found a number"], "3}"),
        ("column count", training("\"features\"", "[\"a\", \"b\"]"),
         ["field \"training.inputs[0].columns\"", "2 column(s) listed, but placeholder \"x\" [4, 3] takes 3 per row"], "[\"a\""),
        ("column twice", training("\"features\"", "[0, 2, 0]"), ["field \"training.inputs[0].columns\"", "column 0 is listed twice"], "[0"),
        ("negative index", training("\"features\"", "[0, -1, 2]"),
         ["field \"training.inputs[0].columns\"", "column index -1 is negative"], "[0"),
        ("names and indices", training("\"features\"", "[\"a\", 1, 2]"),
         ["field \"training.inputs[0].columns\"", "expected column names (strings) or indices (integers), not both"], "[\"a\""),
        ("no columns", training("\"label\"", "[]"), ["field \"training.target.columns\"", "no columns listed"], "[]"),
        ("unknown columns word", training("\"features\"", "\"feature\""),
         ["field \"training.inputs[0].columns\"", "expected \"features\", \"label\", or an array of column names or of 0-based column indices, found \"feature\""], "\"feature\""),
        ("fractional index", training("\"features\"", "[0, 1.5, 2]"), ["field \"training.inputs[0].columns\"", "expected a column index (an integer), found 1.5"], "1.5"),
        ("unknown field", training("\"target\"", "\"targets\""), ["unknown field \"training.targets\" (expected: inputs, target, prediction, loss, task, comment)"], "{\"placeholder\": \"y\""),
        ("unknown feed field", training("\"columns\": \"features\"", "\"columns\": \"features\", \"column\": 1"),
         ["unknown field \"training.inputs[0].column\" (expected: placeholder, columns, comment)"], "1}"),
        ("missing target", training(", \"target\": " + yFeed, ""), ["missing field \"training.target\""], "{\"inputs\""),
        ("missing placeholder", training("\"placeholder\": \"x\", ", ""), ["missing field \"training.inputs[0].placeholder\""], "{\"columns\""),
        ("inputs not an array", training("[" + xFeed + "]", xFeed), ["field \"training.inputs\"", "expected an array of inputs, found an object"], nil),
        ("feed not an object", training("[" + xFeed + "]", "[\"x\"]"), ["field \"training.inputs[0]\"", "expected an object, found a string"], "\"x\"]"),
        ("not an object", "[1]", ["field \"training\"", "expected an object, found an array"], "[1]"),
    ]

    @Test(arguments: badTraining.indices) func badTrainingErrorNamesItsPlace(_ i: Int) throws {
        let (name, training, fragments, at) = Self.badTraining[i]
        let error = #expect(throws: GraphFileError.self, "\(name)") {
            try GraphFile<Float>(json: Data(Self.document(training).utf8), fileName: "bad.json")
        }
        let message = error?.description ?? ""
        #expect(message.hasPrefix("bad.json:18:"), "\(name): \(message)")
        for fragment in fragments { #expect(message.contains(fragment), "\(name): \(message)") }
        if let at {
            let column = try #require(training.range(of: at)).lowerBound.utf16Offset(in: training) + "\"training\": ".count + 1
            #expect(error?.column == column, "\(name): \(message)")
        }
    }

    @Test func documentErrors() throws {
        let cases: [(String, String, [String])] = [
            ("training in version 1", Self.document(Self.goodTraining, version: 1),
             ["bad.json:18:13: field \"training\": a training section needs version 2 (this file says version 1)"]),
            ("version 3", Self.document(Self.goodTraining, version: 3),
             ["bad.json:1:13: field \"version\": unsupported version 3 (this reader reads versions 1 and 2)"]),
            ("losses differ", Self.document(Self.goodTraining, outputs: "[\"p\", \"lz\"],\n\"loss\": \"lz\""),
             ["bad.json:18:9: field \"loss\": \"lz\" differs from training.loss \"loss\""]),
        ]
        for (name, text, fragments) in cases {
            let error = #expect(throws: GraphFileError.self, "\(name)") { try GraphFile<Float>(json: Data(text.utf8), fileName: "bad.json") }
            for fragment in fragments { #expect(error?.description.contains(fragment) == true, "\(name): \(String(describing: error))") }
        }
    }

    // MARK: Specs built in Swift

    @Test func swiftSpecsAreCheckedByTheSameRules() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [4, 3]), y = g.placeholder("y", shape: [4]), z = g.placeholder("z", shape: [4])
        let w = g.parameter("w", Tensor(shape: [3, 2], repeating: 0.5))
        let p = try x.matmul(w)
        let loss = try softmaxCrossEntropy(logits: p, labels: y)
        let both = try loss + softmaxCrossEntropy(logits: p, labels: z)
        typealias Spec = GraphTrainingSpec<Float>
        let xFeed = Spec.Feed(placeholder: x, columns: .features), yFeed = Spec.Feed(placeholder: y, columns: .label)

        let good = try Spec(inputs: [xFeed], target: yFeed, prediction: p, loss: loss)
        #expect(good.batchSize == 4 && good.task == nil && xFeed.name == "x")

        let cases: [(String, () throws -> Spec)] = [
            ("field \"training.inputs[0].placeholder\": \"w\" is a parameter, not a placeholder",
             { try Spec(inputs: [.init(placeholder: w, columns: .features)], target: yFeed, prediction: p, loss: loss) }),
            ("field \"training.loss\": the loss %\(p.id) has shape [4, 2]; it must be a scalar (shape [])",
             { try Spec(inputs: [xFeed], target: yFeed, prediction: p, loss: p) }),
            ("field \"training.loss\": the loss %\(both.id) depends on placeholder \"z\", which is not fed (neither an input nor the target)",
             { try Spec(inputs: [xFeed], target: yFeed, prediction: p, loss: both) }),
            ("field \"training.task\": unknown task \"ranking\" (expected: regression, binary, multiclass)",
             { try Spec(inputs: [xFeed], target: yFeed, prediction: p, loss: loss, task: "ranking") }),
            ("field \"training.inputs[0].columns\": 1 column(s) listed, but placeholder \"x\" [4, 3] takes 3 per row",
             { try Spec(inputs: [.init(placeholder: x, columns: .indices([2]))], target: yFeed, prediction: p, loss: loss) }),
        ]
        for (expected, build) in cases {
            let error = #expect(throws: GraphFileError.self) { try build() }
            #expect(error?.description == expected)
        }

        // A spec changed after it was checked is checked again when written.
        var file = try GraphFile(outputs: [("p", p)], training: good)
        file.training?.task = "ranking"
        let error = #expect(throws: GraphFileError.self) { try file.json() }
        #expect(error?.description.contains("unknown task \"ranking\"") == true)
        // And the loss must agree with the training loss.
        #expect(throws: GraphFileError.self) { try GraphFile(outputs: [("p", p), ("both", both)], loss: both, training: good) }
    }

    // MARK: The iris example

    @Test func irisExampleReadsAndMatchesAPlainLoop() throws {
        let file = try GraphFile<Float>(contentsOf: Self.examples.appendingPathComponent("iris-mlp.json"))
        let spec = try #require(file.training)
        #expect(spec.batchSize == 16)
        #expect(spec.inputs.map(\.name) == ["x"] && spec.inputs[0].columns == .features)
        #expect(spec.inputs[0].placeholder.shape == [16, 4])
        #expect(spec.target.name == "labels" && spec.target.columns == .label && spec.target.placeholder.shape == [16])
        #expect(spec.prediction == file.nodes["logits"] && spec.prediction.shape == [16, 3])
        #expect(spec.loss == file.nodes["loss"] && file.loss == spec.loss)
        #expect(spec.task == "multiclass")

        // The first 16 rows of the bundled data as one batch, against a loop over the same weights.
        let lines = try String(contentsOf: Self.iris, encoding: .utf8).split(separator: "\n").dropFirst().prefix(16)
        let rows = lines.map { $0.split(separator: ",").map { Float($0)! } }
        let x = rows.flatMap { $0.prefix(4) }, labels = rows.map { $0[4] }
        let plan = try Plan(outputs: [spec.loss])
        try plan.run(feeds: [spec.inputs[0].placeholder: Tensor(shape: [16, 4], scalars: x),
                             spec.target.placeholder: Tensor(labels)])
        let v = { (id: String) -> [Double] in try file.graph.value(of: file.nodes[id]!).scalars.map { Double($0) } }
        let (w1, b1, w2, b2) = (try v("w1"), try v("b1"), try v("w2"), try v("b2"))
        var total = 0.0
        for r in 0..<16 {
            var h = [Double](repeating: 0, count: 16)
            for j in 0..<16 {
                var s = b1[j]
                for k in 0..<4 { s += Double(x[r * 4 + k]) * w1[k * 16 + j] }
                h[j] = max(s, 0)
            }
            var logits = b2
            for c in 0..<3 {
                for j in 0..<16 { logits[c] += h[j] * w2[j * 3 + c] }
            }
            let m = logits.max()!
            total += m + Foundation.log(logits.map { Foundation.exp($0 - m) }.reduce(0, +)) - logits[Int(labels[r])]
        }
        #expect(abs(Double(try plan.value(of: spec.loss).scalar) - total / 16) < 1e-5)

        // Written, it keeps its ids and reads back to the same text.
        let text = try file.json().json
        #expect(text.contains("\"prediction\": \"logits\"") && text.contains("\"version\": 2,"))
        #expect(try GraphFile<Float>(json: Data(text.utf8)).json().json == text)
    }
}
