import Foundation
import Testing
import Tensor

@Suite struct GraphFileTests {
    @Test func roundTripRunsTheSame() throws {
        var rng = SeededGenerator(seed: 4)
        let g = Graph<Double>()
        let x = g.placeholder("x", shape: [3, 4])
        let w = g.parameter("w", .randomNormal(shape: [4, 5], using: &rng))
        let b = g.parameter("b", .randomNormal(shape: [5], using: &rng))
        let h = try tanh(x.matmul(w) + b).slice(axis: 1, 1..<4)
        let loss = try (softmax(h) * h).mean() + h.max(axes: [1]).sum()
        let grads = try g.gradients(of: loss, wrt: [w, b])
        let data = g.jsonData(outputs: [loss] + grads, loss: loss, wrt: [w, b])

        let file = try GraphFile<Double>(data: data)
        #expect(file.nodes.count == g.nodeCount)
        #expect(file.outputs.map(\.id) == ([loss] + grads).map(\.id))
        #expect(file.loss?.id == loss.id)
        #expect(file.nodes[grads[0].id].isGradient)
        let input = Tensor<Double>.randomNormal(shape: [3, 4], using: &rng)
        let original = try Plan(outputs: [loss] + grads)
        try original.run(feeds: [x: input])
        let reread = try Plan(outputs: file.outputs)
        #expect(original.taskInfo.map(\.name) == reread.taskInfo.map(\.name))
        // Writing the read graph gives the same text: values survive bitwise.
        let d2 = file.graph.jsonData(outputs: file.outputs, loss: file.loss, wrt: file.wrt)
        #expect(String(decoding: d2, as: UTF8.self) == String(decoding: data, as: UTF8.self))
        try reread.run(feeds: [file.placeholders["x"]!: input])
        for (a, c) in zip([loss] + grads, file.outputs) {
            let u = try original.value(of: a), v = try reread.value(of: c)
            #expect(u == v, "\(u) vs \(v)")
        }
    }

    func error(_ json: String) -> String {
        do { _ = try GraphFile<Float>(data: Data(json.utf8)); return "no error" } catch { return "\(error)" }
    }

    @Test func malformedFilesNameThePlace() {
        #expect(error("{\"nodes\": [").contains("line 1, column 12: not valid JSON: unexpected end of file"))
        #expect(error("{\"nodes\":\n [1,, 2]}").contains("line 2, column 5: not valid JSON: invalid value"))
        #expect(error("{\"format\": \"other/2\", \"nodes\": []}").contains("format (line 1, column 12): unsupported"))
        #expect(error("{}").contains("missing \"nodes\""))
        let x = "{\"op\": \"placeholder\", \"name\": \"x\", \"shape\": [2, 3]}"
        #expect(error("{\"nodes\": [\(x), {\"op\": \"frobnicate\", \"inputs\": [0]}]}") .contains("nodes[1].op (line 1, column 72): unknown operation 'frobnicate'"))
        #expect(error("{\"nodes\": [\(x), {\"op\": \"matmul\", \"inputs\": [0, 0]}]}")
            .contains("nodes[1] (line 1, column 65): matmul([2, 3], [2, 3]): inner dimensions differ"))
        #expect(error("{\"nodes\": [\(x), {\"op\": \"relu\", \"inputs\": [5]}]}").contains("nodes[1].inputs[0] (line 1, column 91): input 5 is not an earlier node"))
        #expect(error("{\"nodes\": [\(x), {\"op\": \"relu\", \"inputs\": [0], \"shape\": [3, 2]}]}")
            .contains("nodes[1].shape (line 1, column 104): declared [3, 2] but relu gives [2, 3]"))
        #expect(error("{\"nodes\": [{\"op\": \"constant\", \"shape\": [2], \"value\": [1]}]}").contains("nodes[0].value (line 1, column 54): 1 values for shape [2]"))
        #expect(error("{\"nodes\": [\(x), {\"op\": \"matmul\", \"inputs\": [0, 0], \"transpose_a\": 1}]}")
            .contains("nodes[1].transpose_a (line 1, column 115): expected true or false"))
        #expect(error("{\"nodes\": [\(x), {\"op\": \"sum\", \"inputs\": [0], \"axes\": [\"a\"]}]}").contains("nodes[1].axes[0]") && error("{\"nodes\": [\(x), {\"op\": \"sum\", \"inputs\": [0], \"axes\": [\"a\"]}]}").contains("expected a number"))
        #expect(error("{\"nodes\": [{\"op\": \"placeholder\", \"name\": \"x\"}]}").contains("nodes[0] (line 1, column 12): placeholder needs a \"shape\""))
    }
}
