import Foundation
import Testing

/// `bench train --distributed` run as one rank without `mpirun` (MPI's singleton mode): the same
/// parameters as training alone, and option errors. Runs of several ranks, hosts and faults are in
/// Tests/mpi-check.sh (they need `mpirun`).
@Suite struct DistributedBenchTests {
    @Test func oneRankTrainsBitwiseLikeOneProcessAlone() throws {
        let common = ["train", "--data", "iris", "--epochs", "3", "--batch", "16", "--threads", "1", "--json"]
        let alone = try BenchProcess.run(common)
        try #require(alone.status == 0, "\(alone.stderr)")
        let rank = try BenchProcess.run(common + ["--distributed", "--bucket-mb", "0.001"])
        try #require(rank.status == 0, "\(rank.stderr)")
        let a = try alone.json(), r = try rank.json()
        #expect(r["ranks"] as? Int == 1)
        #expect((r["buckets"] as? Int ?? 0) > 1)
        #expect(a["param_checksum"] as? String != nil)
        #expect(a["param_checksum"] as? String == r["param_checksum"] as? String)
        #expect(a["final_loss"] as? Double == r["final_loss"] as? Double)
        #expect(a["test_loss"] as? Double == r["test_loss"] as? Double)
        #expect(rank.stdout.contains("distributed: 1 rank on "))
    }

    @Test func distributedOptionsNeedDistributed() throws {
        let r = try BenchProcess.run(["train", "--data", "iris", "--bucket-mb", "1"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--bucket-mb applies to --distributed runs"), "\(r.stderr)")
        let t = try BenchProcess.run(["train", "--data", "iris", "--distributed", "--comm-timeout", "0"])
        #expect(t.status == 2)
        #expect(t.stderr.contains("--comm-timeout expects a positive number of seconds"), "\(t.stderr)")
    }

    /// A fixed-shape graph trains one whole batch of the graph per rank (global batch N·b); one
    /// rank is bitwise the graph trained alone. (2 ranks against one process on the graph built
    /// for twice the rows: Tests/mpi-check.sh.)
    @Test func aGraphWithFixedShapesTrainsAWholeBatchPerRank() throws {
        let common = ["train", "--data", "iris", "--graph", "docs/examples/iris-mlp.json", "--epochs", "3", "--threads", "1", "--json"]
        let alone = try BenchProcess.run(common)
        try #require(alone.status == 0, "\(alone.stderr)")
        let rank = try BenchProcess.run(common + ["--distributed"])
        try #require(rank.status == 0, "\(rank.stderr)")
        let a = try alone.json(), r = try rank.json()
        #expect(a["param_checksum"] as? String != nil)
        #expect(a["param_checksum"] as? String == r["param_checksum"] as? String)
        #expect(a["test_loss"] as? Double == r["test_loss"] as? Double)
        #expect(r["global_batch"] as? Int == 16)
        #expect(rank.stdout.contains("each trains the graph's whole batch of 16 rows (global batch 16)"), "\(rank.stdout)")
    }
}

/// The built `bench`, run from the package root.
enum BenchProcess {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String

        func json() throws -> [String: Any] {
            let last = stdout.split(separator: "\n").last.map(String.init) ?? ""
            guard let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
                throw BenchProcessError(description: "the last line of stdout is not a JSON object: \(last)")
            }
            return object
        }
    }

    /// The package root (this file is Tests/DistributedTests/<file>).
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// `bench` next to the test binary or in a directory above it.
    static func executable() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("bench")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            dir.deleteLastPathComponent()
        }
        throw BenchProcessError(description: "cannot find the bench executable near \(CommandLine.arguments[0]): build it with `swift build --product bench` in the tests' configuration")
    }

    static func run(_ arguments: [String]) throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("distributed-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.currentDirectoryURL = root
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Result(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                      stderr: try String(contentsOf: err, encoding: .utf8))
    }
}

struct BenchProcessError: Error, CustomStringConvertible {
    let description: String
}
