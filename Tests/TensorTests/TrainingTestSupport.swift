import Foundation
import Tensor

/// Paths and scratch files for the training tests.
enum TrainingFixtures {
    /// The package root, found from this file's path (Tests/TensorTests/<file>).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var digits: String { root + "/Data/digits.csv" }
    static var iris: String { root + "/Data/iris.csv" }

    /// A fresh empty directory under the system's temporary directory.
    static func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "training-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Parses `text` as CSV named `name`.
    static func csv(_ text: String, name: String = "t.csv", options: CSVOptions = CSVOptions()) throws -> Dataset {
        try Dataset(csvText: Array(text.utf8), name: name, options: options)
    }
}

import Kernels

/// A parallel loop on libdispatch threads: pieces of `parallelFor` really run at the same time, so
/// tests comparing 1 and 2 threads exercise concurrent intra-op splits.
struct DispatchLoop: ParallelLoop {
    let threads: Int
    var concurrency: Int { threads }

    func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
        let n = range.count
        guard n > 0 else { return }
        let pieces = min(threads, (n + max(1, grain) - 1) / max(1, grain))
        guard pieces > 1 else { body(range); return }
        let size = (n + pieces - 1) / pieces
        // `ParallelLoop`'s contract: `body` may run concurrently on disjoint ranges, so sharing it
        // with the dispatch threads is safe; it does not outlive this call (concurrentPerform waits).
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: pieces) { k in
            let lo = range.lowerBound + k * size
            let hi = min(range.upperBound, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }
}
