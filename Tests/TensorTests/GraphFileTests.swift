import Foundation
import Scheduler
import Testing
import Tensor

/// Graph files: write -> read gives the same outputs and gradients bit for bit; every reading error
/// names its place in the file; the example files in docs/examples run and give the values a plain
/// loop reference gives.
@Suite struct GraphFileTests {
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/examples")

    /// A model touching every operation the format describes, with its loss as the last output.
    static func everyOperation() throws -> GraphFile<Float> {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 11)
        let x = g.placeholder("x", shape: [4, 3])
        let labels = g.placeholder("labels", shape: [4])
        let w = g.parameter("w", .randomNormal(shape: [3, 6], using: &rng))
        let b = g.parameter("b", .randomUniform(shape: [6], in: 0.5..<1, using: &rng))
        let c = g.constant(Tensor(shape: [2, 3], scalars: [0.5, -1, 2, .pi, 1e-7, 3e20]))
        let z = try x.matmul(w) + b                                        // [4, 6]
        let a = try relu(z) * sigmoid(z) - tanh(z) / (exp(z) + b)          // broadcasting
        let p = try pow(sqrt(b) + 1, 1.5) * 0.25 + 3                       // scale, shift, pow, sqrt
        let q = try log(a * a + p).transposed().matmul(z, transposeSelf: true, transposeOther: true) // [4, 4]
        let r = try concat([q.slice(axis: 1, 1..<3), q.slice(axis: 1, 0..<1)], axis: 1)            // [4, 3]
        let s = try r.reshaped([r.count]).broadcast(to: [2, r.count]).sum(axes: [0]).mean()
        let t = try gelu(-z).max(axes: [1], keepDims: true) + softmax(z).sum(axes: [1], keepDims: true)
        let u = try logSoftmax(z, axis: 0).mean(axes: [0, 1])
        let v = try c.matmul(w, transposeSelf: false, transposeOther: false).sum()  // constant [2, 3] x [3, 6]
        let ce = try softmaxCrossEntropy(logits: z, labels: labels)
        let mse = try meanSquaredError(z, gelu(z))
        let bce = try binaryCrossEntropyWithLogits(z, sigmoid(z))
        let loss = try ce + mse + bce + s * 0.001 + t.sum() + u + v * 1e-22
        return try GraphFile(outputs: [("t", t), ("loss", loss)], loss: loss)
    }

    static func feeds(_ file: GraphFile<Float>) -> [Node<Float>: Tensor<Float>] {
        var rng = SeededGenerator(seed: 5)
        return [file.placeholders["x"]!: .randomNormal(shape: [4, 3], using: &rng),
                file.placeholders["labels"]!: Tensor([2, 0, 5, 1])]
    }

    /// Outputs, then the loss's gradients w.r.t. every parameter and placeholder, as bit patterns.
    /// `workers` > 0 runs on an executor of that many workers (results must not depend on it).
    static func run(_ file: GraphFile<Float>, _ feeds: [Node<Float>: Tensor<Float>], workers: Int = 0) throws -> [[UInt32]] {
        let wrt = file.graph.parameters + file.placeholders.keys.sorted().map { file.placeholders[$0]! }
        let grads = try file.graph.gradients(of: file.loss!, wrt: wrt)
        let executor = workers > 0 ? Executor(workers: workers) : nil
        defer { executor?.shutdown() }
        let plan = try Plan(outputs: file.outputs.map(\.node) + grads, executor: executor)
        try plan.run(feeds: feeds)
        return try (file.outputs.map(\.node) + grads).map { try plan.value(of: $0).scalars.map(\.bitPattern) }
    }

    @Test func roundTripInlineGivesBitwiseEqualResults() throws {
        let original = try Self.everyOperation()
        let text = try original.json().json
        let read = try GraphFile<Float>(json: Data(text.utf8))
        #expect(read.outputs.map(\.name) == ["t", "loss"])
        #expect(try Self.run(read, Self.feeds(read), workers: 3) == Self.run(original, Self.feeds(original)))
        // Writing what was read gives the same text: ids, order, attributes and values all survive.
        #expect(try read.json().json == text)
    }

    @Test func roundTripWithSidecarGivesBitwiseEqualResults() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("graphfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try Self.everyOperation()
        try original.write(to: dir.appendingPathComponent("g.json"), valuesFile: "g.bin")
        let read = try GraphFile<Float>(contentsOf: dir.appendingPathComponent("g.json"))
        #expect(try Self.run(read, Self.feeds(read)) == Self.run(original, Self.feeds(original)))
        let (a, b) = (try read.json(valuesFile: "g.bin"), try original.json(valuesFile: "g.bin"))
        #expect(a.json == b.json && a.values == b.values)
    }

    @Test func doubleGraphsKeepEveryBit() throws {
        let g = Graph<Double>()
        let w = g.parameter("w", Tensor([0.1, 1.0 / 3, -2e-300, .nan, -.infinity, .leastNonzeroMagnitude]))
        let y = try (w * 0.7).sum(axes: [0])
        let text = try GraphFile(outputs: [("y", y)]).json().json
        let read = try GraphFile<Double>(json: Data(text.utf8))
        let back = try read.graph.value(of: read.nodes["w"]!).scalars.map(\.bitPattern)
        #expect(back == [0.1, 1.0 / 3, -2e-300, .nan, -.infinity, .leastNonzeroMagnitude].map(\.bitPattern))
    }

    @Test func writerRefusesDerivativeHelpers() throws {
        let g = Graph<Float>()
        let x = g.parameter("x", Tensor([1, -2]))
        let grad = try g.gradients(of: relu(x).sum(), wrt: [x])[0]
        let error = #expect(throws: GraphFileError.self) { try GraphFile(outputs: [("dx", grad)]).json() }
        #expect(error?.description.contains("relu_backward is a derivative helper") == true)
    }

    // MARK: Errors

    static let okNodes = """
        {"id": "x", "kind": "placeholder", "shape": [2, 3]},
        {"id": "w", "kind": "parameter", "shape": [3, 2], "values": [1, 2, 3, 4, 5, 6]},
    """

    static func document(_ nodes: String, outputs: String = "[\"y\"]") -> String {
        "{\"version\": 1,\n\"nodes\": [\n\(okNodes)\n\(nodes)\n],\n\"outputs\": \(outputs)}"
    }

    /// Each bad file and the fragments its error must contain (place first, then what is wrong).
    static let badFiles: [(String, String, [String])] = [
        ("malformed JSON", "{\"version\": 1,\n  \"nodes\": [}", ["2:13", "malformed JSON", "expected a value, found '}'"]),
        ("trailing comma", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"relu\", \"inputs\": [\"x\"],}"),
         ["5:57", "expected a member name"]),
        ("unknown operation", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"relux\", \"inputs\": [\"x\"]}"),
         ["5:33", "nodes[2] (id \"y\"), field \"op\"", "unknown operation \"relux\"", "known: abs, add"]),
        ("missing field", document("{\"id\": \"y\", \"kind\": \"op\", \"inputs\": [\"x\"]}"),
         ["5:1", "nodes[2] (id \"y\")", "missing field \"op\""]),
        ("missing shape", "{\"version\": 1, \"nodes\": [{\"id\": \"x\", \"kind\": \"placeholder\"}], \"outputs\": [\"x\"]}",
         ["nodes[0] (id \"x\")", "missing field \"shape\""]),
        ("missing version", "{\"nodes\": [], \"outputs\": []}", ["1:1", "missing field \"version\""]),
        ("wrong type", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"sum\", \"inputs\": [\"x\"], \"attributes\": {\"axes\": 1}}"),
         ["nodes[2] (id \"y\"), field \"attributes.axes\"", "expected an array of integers, found a number"]),
        ("wrong element type", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"relu\", \"inputs\": [\"x\", 3]}"),
         ["5:57", "field \"inputs\"", "expected a node id (a string), found a number"]),
        ("unknown attribute", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"sum\", \"inputs\": [\"x\"], \"attributes\": {\"axis\": [1]}}"),
         ["nodes[2] (id \"y\")", "unknown field \"attributes.axis\" (expected: axes, keep_dims)"]),
        ("dangling input", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"matmul\", \"inputs\": [\"x\", \"w2\"]}"),
         ["5:59", "nodes[2] (id \"y\"), field \"inputs\"", "no node has id \"w2\""]),
        ("cycle", document("""
            {"id": "y", "kind": "op", "op": "add", "inputs": ["x", "b"]},
            {"id": "a", "kind": "op", "op": "relu", "inputs": ["y"]},
            {"id": "b", "kind": "op", "op": "tanh", "inputs": ["a"]}
            """), ["nodes[2] (id \"y\"), field \"inputs\"", "cycle: \"y\" reads \"b\" reads \"a\" reads \"y\""]),
        ("shape mismatch", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"matmul\", \"inputs\": [\"w\", \"w\"]}"),
         ["5:1", "nodes[2] (id \"y\")", "matmul([3, 2], [3, 2]): inner dimensions differ: 2 vs 3"]),
        ("declared shape differs", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"matmul\", \"inputs\": [\"x\", \"w\"], \"shape\": [2, 3]}"),
         ["nodes[2] (id \"y\"), field \"shape\"", "the file says [2, 3] but matmul of [[2, 3], [3, 2]] gives [2, 2]"]),
        ("wrong input count", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"add\", \"inputs\": [\"x\"]}"),
         ["nodes[2] (id \"y\"), field \"inputs\"", "add takes 2 input(s), found 1"]),
        ("duplicate id", document("{\"id\": \"w\", \"kind\": \"op\", \"op\": \"relu\", \"inputs\": [\"x\"]}"),
         ["nodes[2] (id \"w\"), field \"id\"", "duplicate id \"w\" (first used by nodes[1])"]),
        ("value count", "{\"version\": 1, \"nodes\": [{\"id\": \"w\", \"kind\": \"constant\", \"shape\": [2, 2], \"values\": [1, 2, 3]}], \"outputs\": [\"w\"]}",
         ["nodes[0] (id \"w\"), field \"values\"", "expected 4 values for shape [2, 2], found 3"]),
        ("nested values of the wrong shape", "{\"version\": 1, \"nodes\": [{\"id\": \"w\", \"kind\": \"constant\", \"shape\": [2, 2], \"values\": [[1, 2], [3]]}], \"outputs\": [\"w\"]}",
         ["field \"values\"", "expected an array of 2 at depth 1 for shape [2, 2], found an array of 1"]),
        ("sidecar missing", "{\"version\": 1, \"nodes\": [{\"id\": \"w\", \"kind\": \"constant\", \"shape\": [2], \"values\": {\"offset\": 0}}], \"outputs\": [\"w\"]}",
         ["nodes[0] (id \"w\"), field \"values\"", "the document has no \"values_file\""]),
        ("unknown output", document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"relu\", \"inputs\": [\"x\"]}", outputs: "[\"y\", \"z\"]"),
         ["field \"outputs\"", "no node has id \"z\""]),
        ("unknown kind", document("{\"id\": \"y\", \"kind\": \"variable\", \"shape\": [1]}"),
         ["field \"kind\"", "unknown kind \"variable\""]),
        ("version", "{\"version\": 3, \"nodes\": [], \"outputs\": []}", ["1:13", "field \"version\"", "unsupported version 3"]),
    ]

    @Test(arguments: badFiles.indices) func badFileErrorNamesItsPlace(_ i: Int) throws {
        let (name, text, fragments) = Self.badFiles[i]
        do {
            _ = try GraphFile<Float>(json: Data(text.utf8), fileName: "bad.json")
            Issue.record("\(name): read without error")
        } catch let error as GraphFileError {
            let message = "\(error)"
            #expect(message.hasPrefix("bad.json:"), "\(name): \(message)")
            for fragment in fragments { #expect(message.contains(fragment), "\(name): \(message)") }
        }
    }

    @Test func shapeMismatchKeepsTheBuildersError() throws {
        let text = Self.document("{\"id\": \"y\", \"kind\": \"op\", \"op\": \"add\", \"inputs\": [\"x\", \"w\"]}")
        let error = #expect(throws: GraphFileError.self) { try GraphFile<Float>(json: Data(text.utf8)) }
        #expect(error?.graphError?.operation == "add")
    }

    @Test func badInputsFileNamesItsPlace() throws {
        let file = try GraphFile<Float>(contentsOf: Self.examples.appendingPathComponent("mlp.json"))
        let cases: [(String, [String])] = [
            ("{\"x\": [1, 2]}", ["in.json:1:7", "field \"x\"", "expected 12 values for shape [4, 3], found 2"]),
            ("{\"y\": [1]}", ["field \"y\"", "the graph has no placeholder \"y\" (placeholders: labels, x)"]),
            ("{\"labels\": [1, 2, true, 0]}", ["1:19", "expected a number"]),
            ("{\"labels\": [1, 2, 3, 0]", ["1:24", "malformed JSON"]),
        ]
        for (text, fragments) in cases {
            let error = #expect(throws: GraphFileError.self) { try file.feeds(json: Data(text.utf8), fileName: "in.json") }
            for fragment in fragments { #expect(error?.description.contains(fragment) == true, "\(String(describing: error))") }
        }
    }

    // MARK: Examples

    @Test func mlpExampleMatchesAPlainLoopReference() throws {
        let file = try GraphFile<Float>(contentsOf: Self.examples.appendingPathComponent("mlp.json"))
        let feeds = try file.feeds(contentsOf: Self.examples.appendingPathComponent("mlp-inputs.json"))
        let plan = try Plan(outputs: file.outputs.map(\.node))
        try plan.run(feeds: feeds)
        let loss = try plan.value(of: file.loss!).scalar

        // Reference in plain loops, from the same parameter values.
        let v = { (id: String) in try file.graph.value(of: file.nodes[id]!).scalars }
        let (w1, b1, w2, b2) = (try v("w1"), try v("b1"), try v("w2"), try v("b2"))
        let x = feeds[file.placeholders["x"]!]!.scalars, labels = feeds[file.placeholders["labels"]!]!.scalars
        var total = 0.0
        for r in 0..<4 {
            var h = [Double](repeating: 0, count: 5)
            for j in 0..<5 {
                var s = Double(b1[j])
                for k in 0..<3 { s += Double(x[r * 3 + k]) * Double(w1[k * 5 + j]) }
                h[j] = max(s, 0)
            }
            var logits = [Double](repeating: 0, count: 2)
            for c in 0..<2 {
                logits[c] = Double(b2[c])
                for j in 0..<5 { logits[c] += h[j] * Double(w2[j * 2 + c]) }
            }
            let m = logits.max()!
            let lse = m + Foundation.log(logits.map { Foundation.exp($0 - m) }.reduce(0, +))
            total += lse - logits[Int(labels[r])]
        }
        #expect(abs(Double(loss) - total / 4) < 1e-6)
        #expect(try plan.value(of: file.nodes["probabilities"]!).shape == [4, 2])
    }

    @Test(arguments: ["mlp", "regression"]) func exampleSurvivesARoundTrip(_ name: String) throws {
        let file = try GraphFile<Float>(contentsOf: Self.examples.appendingPathComponent("\(name).json"))
        let again = try GraphFile<Float>(json: Data(try file.json().json.utf8))
        let inputs = Self.examples.appendingPathComponent("\(name)-inputs.json")
        #expect(try Self.run(again, again.feeds(contentsOf: inputs), workers: 2) == Self.run(file, file.feeds(contentsOf: inputs)))
    }

    @Test func regressionExampleReadsItsSidecar() throws {
        let file = try GraphFile<Float>(contentsOf: Self.examples.appendingPathComponent("regression.json"))
        #expect(try file.graph.value(of: file.nodes["w"]!).scalars == [0.75, -0.5])
        #expect(try file.graph.value(of: file.nodes["b"]!).scalars == [0.125])
        let feeds = try file.feeds(contentsOf: Self.examples.appendingPathComponent("regression-inputs.json"))
        let plan = try Plan(outputs: file.outputs.map(\.node))
        try plan.run(feeds: feeds)
        let x: [Double] = [0.5, -1.0, 1.5, 0.25, -0.75, 2.0], target: [Double] = [1.0, 0.5, -0.25]
        var mse = 0.0
        for r in 0..<3 {
            let p = Double(Float(Foundation.tanh(x[2 * r]))) * 0.75 + Double(Float(Foundation.tanh(x[2 * r + 1]))) * -0.5 + 0.125
            mse += (p - target[r]) * (p - target[r]) / 3
        }
        #expect(abs(Double(try plan.value(of: file.loss!).scalar) - mse) < 1e-5)
    }
}
