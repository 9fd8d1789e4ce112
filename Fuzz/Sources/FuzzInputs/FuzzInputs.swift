// libFuzzer target: the inputs-file reader (`GraphFile.feeds(json:)`, what `bench graph --inputs`
// reads), against a fixed graph whose placeholders have every rank from 0 to 3, an empty dimension,
// and one of 2^34 elements (the reader's cap): values for it must be refused before anything of
// that size is allocated.
import Foundation
import Tensor

private let graphJSON = """
{"format": "graph-engine/graph", "version": 1, "nodes": [
  {"id": "s", "kind": "placeholder", "shape": []},
  {"id": "v", "kind": "placeholder", "shape": [3]},
  {"id": "m", "kind": "placeholder", "shape": [2, 3]},
  {"id": "t", "kind": "placeholder", "shape": [2, 1, 2]},
  {"id": "e", "kind": "placeholder", "shape": [0, 4]},
  {"id": "big", "kind": "placeholder", "shape": [131072, 131072]},
  {"id": "y", "kind": "op", "op": "sum", "inputs": ["m"]}
], "outputs": ["y", "s", "v", "t", "e", "big"]}
"""

nonisolated(unsafe) private let file = try! GraphFile<Float>(json: Data(graphJSON.utf8), fileName: "graph.json")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInputs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let json = Data(UnsafeBufferPointer(start: data, count: size))
    guard let feeds = try? file.feeds(json: json, fileName: "inputs.json") else { return 0 }
    for (node, value) in feeds where value.shape != node.shape || value.scalars.count != node.shape.reduce(1, *) {
        fatalError("feed for \(node) has shape \(value.shape) and \(value.scalars.count) values")
    }
    return 0
}
