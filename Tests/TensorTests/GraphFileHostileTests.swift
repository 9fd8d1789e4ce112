import Foundation
import Tensor
import Testing

/// Hostile graph files get errors with their place, never a trap.
@Suite struct GraphFileHostileTests {
    @Test func sidecarOffsetNearIntMaxIsAnError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data([0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]).write(to: dir.appendingPathComponent("side.bin"))
        for offset in [Int.max, Int.max - 1, 3] {
            let json = """
                {"format": "graph-engine/graph", "version": 1, "values_file": {"path": "side.bin"}, "nodes": [
                 {"id": "a", "kind": "constant", "shape": [2], "values": {"offset": \(offset)}}], "outputs": ["a"]}
                """
            #expect { try GraphFile<Float>(json: Data(json.utf8), fileName: "h.json", directory: dir) }
                throws: { "\($0)".contains("values.offset") && "\($0)".contains("outside side.bin") }
        }
    }
}
