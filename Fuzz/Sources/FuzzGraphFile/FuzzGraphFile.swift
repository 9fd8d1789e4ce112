// libFuzzer target: the graph-file reader, JSON and binary sidecar.
//
// Input: the graph's JSON text, optionally followed by a NUL byte and the sidecar's bytes, which the
// harness writes to `v.bin` in a private directory (so `"values_file": {"path": "v.bin"}` finds
// them). A file that reads is written back (inline values) and must read again to the same text:
// the writer and the reader agree on everything the reader accepts.
import Foundation
import Tensor

private let directory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-graphfile-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGraphFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = bytes.firstIndex(of: 0) ?? size
    let sidecar = directory.appendingPathComponent("v.bin")
    if split < size {
        try? Data(bytes[(split + 1)...]).write(to: sidecar)
    } else {
        try? FileManager.default.removeItem(at: sidecar)
    }
    guard let file = try? GraphFile<Float>(json: Data(bytes[0..<split]), fileName: "fuzz.json", directory: directory) else {
        return 0
    }
    let text: String
    do { text = try file.json().json } catch {
        fatalError("a graph file that reads cannot be written: \(error)")
    }
    let again: GraphFile<Float>
    do { again = try GraphFile<Float>(json: Data(text.utf8), fileName: "rewritten.json") } catch {
        fatalError("a written graph file does not read: \(error)\n\(text)")
    }
    guard let text2 = try? again.json().json, text2 == text else {
        fatalError("writing a graph file read back gives other text:\n\(text)")
    }
    return 0
}
