import Foundation
import Tensor
import Testing

/// Inputs the fuzzers of Fuzz/ (FuzzGraphFile, FuzzInputs) found, or that stand for what they look
/// for: each is an error with its place, never a trap or an allocation of the size a few bytes
/// declare. (A 2^34-element shape of Float is 64 GiB: where that much cannot be reserved, as on
/// this project's 24 GiB machines, the reader used to trap on it.)
@Suite struct GraphFileFuzzRegressionTests {
    static let bigGraph = """
        {"format": "graph-engine/graph", "version": 1, "nodes": [
         {"id": "big", "kind": "placeholder", "shape": [131072, 131072]},
         {"id": "m", "kind": "placeholder", "shape": [2, 3]}], "outputs": ["big", "m"]}
        """

    /// FuzzInputs: `{"big": 1}` for a placeholder of 2^34 elements reserved 64 GiB before finding
    /// that one number is not 2^34 of them.
    @Test func oneValueForAHugePlaceholderIsRefusedBeforeAllocating() throws {
        let file = try GraphFile<Float>(json: Data(Self.bigGraph.utf8), fileName: "g.json")
        #expect { try file.feeds(json: Data(#"{"big": 1}"#.utf8), fileName: "in.json") }
            throws: { "\($0)" == #"in.json:1:9: field "big": expected an array of 17179869184 values for shape [131072, 131072], found a number"# }
        #expect { try file.feeds(json: Data(#"{"big": [1, 2]}"#.utf8), fileName: "in.json") }
            throws: { "\($0)" == #"in.json:1:9: field "big": expected 17179869184 values for shape [131072, 131072], found 2"# }
        #expect { try file.feeds(json: Data(#"{"big": [[1], [2]]}"#.utf8), fileName: "in.json") }
            throws: { "\($0)" == #"in.json:1:9: field "big": expected an array of 131072 at depth 0 for shape [131072, 131072], found an array of 2"# }
        // The small placeholder still reads, nested or flat.
        let feeds = try file.feeds(json: Data(#"{"m": [[1, 2, 3], [4, 5, 6]]}"#.utf8))
        #expect(feeds.values.first?.scalars == [1, 2, 3, 4, 5, 6])
    }

    /// FuzzGraphFile: the same through a constant's inline values.
    @Test func oneValueForAHugeConstantIsRefusedBeforeAllocating() {
        let json = """
            {"format": "graph-engine/graph", "version": 1, "nodes": [
             {"id": "c", "kind": "constant", "shape": [131072, 131072], "values": 1}], "outputs": ["c"]}
            """
        #expect { try GraphFile<Float>(json: Data(json.utf8), fileName: "g.json") }
            throws: { "\($0)" == #"g.json:2:71: nodes[0] (id "c"), field "values": expected an array of 17179869184 values for shape [131072, 131072], found a number"# }
    }

    /// FuzzGraphFile: a graph that reads must write back to text that reads again, and writing
    /// that gives the same text. Here a placeholder the outputs do not need is left out of the
    /// written file, and unnamed nodes were numbered by their id in the graph, so the file read
    /// back numbered them one lower.
    @Test func aReadGraphWritesBackTheSameText() throws {
        let json = #"""
            {"format": "graph-engine/graph", "version": 1, "nodes": [{"id": "a", "kind": "placeholder", "shape": [2, 3]}, {"id": "c", "kind": "constant", "shape": [2, 3], "values": [[1, 2, 3], [4, 5, 6]]},{"id": "s", "kind": "op", "op": "add", "inputs": ["c", "c"]},{"id": "r", "kind": "op", "op": "reshape", "inputs": ["s"], "attributes": {"shape": [3, 2]}},{"id": "m", "kind": "op", "op": "matmul", "inputs": ["s", "r"], "attributes": {"transpose_a": false}},{"id": "b", "kind": "op", "op": "broadcast_to", "inputs": ["m"], "attributes": {"shape": [4, 2, 2]}},{"id": "y", "kind": "op", "op": "sum", "inputs": ["b"], "attributes": {"axes": [1], "keep_dims": true}}], "outputs": ["y"], "loss": "y"}
            """#
        let file = try GraphFile<Float>(json: Data(json.utf8), fileName: "g.json")
        let text = try file.json().json
        let again = try GraphFile<Float>(json: Data(text.utf8), fileName: "rewritten.json")
        let text2 = try again.json().json
        #expect(text2 == text, "\(text)\n----\n\(text2)")
    }

    /// A shape of 10^12 elements declared in a few bytes is over the reader's cap.
    @Test func aShapeOfATrillionElementsIsRefused() {
        let json = """
            {"format": "graph-engine/graph", "version": 1, "nodes": [
             {"id": "c", "kind": "constant", "shape": [1000000, 1000000], "values": 1}], "outputs": ["c"]}
            """
        #expect { try GraphFile<Float>(json: Data(json.utf8), fileName: "g.json") }
            throws: { "\($0)".hasPrefix(#"g.json:2:43: nodes[0] (id "c"), field "shape": shape [1000000, 1000000] has more than"#) }
    }
}
