import Foundation
import Training

extension DataParallelTrainer {
    /// Throws on every rank unless every rank's `settings` equal rank 0's; every rank's message
    /// (rank 0's included, which is printed first) says what differs on which rank.
    static func checkSameSettings(_ settings: [String: String], _ communicator: Communicator) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let mine = Array(try encoder.encode(settings))
        let reference = try communicator.broadcast(bytes: mine, root: 0, what: "rank 0's settings")
        let rank0 = (try? JSONDecoder().decode([String: String].self, from: Data(reference))) ?? [:]
        let differences = Self.differences(settings, from: rank0, rank: communicator.rank)
        let text = Array(differences.joined(separator: "; ").utf8)
        let lengths = try communicator.allgather(Int64(text.count), what: "the settings check")
        guard lengths.contains(where: { $0 > 0 }) else { return }
        let all = try communicator.allgather(text, what: "the settings that differ")
        var reports: [String] = [], start = 0
        for (r, length) in lengths.enumerated() {
            if length > 0 { reports.append("rank \(r): " + String(decoding: all[start..<(start + Int(length))], as: UTF8.self)) }
            start += Int(length)
        }
        throw communicator.error(.mismatch, "the ranks started with different settings (\(reports.joined(separator: "; "))): start every rank with the same model, data and options")
    }

    /// What differs between `mine` and `reference` (rank 0's), one phrase per setting, by name;
    /// `rank` names this rank in the phrases (nil: "here").
    public static func differences(_ mine: [String: String], from reference: [String: String], rank: Int? = nil) -> [String] {
        func shown(_ value: String?) -> String {
            guard let value else { return "(not set)" }
            return value.count <= 80 ? "'\(value)'" : "'\(value.prefix(77))...' (fingerprint \(String(Self.fingerprint(value), radix: 16)))"
        }
        let here = rank.map { "on rank \($0)" } ?? "here"
        return Set(mine.keys).union(reference.keys).sorted().compactMap { key in
            mine[key] == reference[key] ? nil : "\(key): \(shown(reference[key])) on rank 0, \(shown(mine[key])) \(here)"
        }
    }

    private static func fingerprint(_ text: String) -> UInt64 {
        var f = Fingerprint()
        f.add(Array(text.utf8))
        return f.value
    }

    /// Throws on every rank unless all ranks have the same rows of `data`.
    func checkSameData(_ data: Dataset, _ name: String) throws {
        let mine = data.fingerprint
        let all = try communicator.allgather(mine, what: "the \(name) data's fingerprints")
        let differing = all.indices.filter { all[$0] != all[0] }
        guard !differing.isEmpty else { return }
        throw communicator.error(.mismatch, "the \(name) data differs between ranks (rank\(differing.count == 1 ? "" : "s") \(differing.map(String.init).joined(separator: ", ")) against rank 0; this rank has \(data.count) rows of \(data.featureCount) features): give every rank the same data, split and preprocessing")
    }

    /// A fingerprint of this replica: parameters, model state, optimizer state, step and epoch.
    public func replicaFingerprint() throws -> UInt64 {
        var f = Fingerprint()
        for values in try trainer.parameterValues() { f.add(values) }
        for values in try trainer.stateValues() { f.add(values) }
        let state = trainer.optimizerState
        for p in state.parameterSizes.indices {
            for slot in state.optimizer.slotNames.indices { f.add(state.slotValues(parameter: p, slot: slot)) }
        }
        f.add(state.step)
        f.add(trainer.epoch)
        return f.value
    }

    /// Throws on every rank unless every replica is bitwise equal to rank 0's (fingerprints).
    public func verifyReplicas(when: String) throws {
        let all = try communicator.allgather(try replicaFingerprint(), what: "the replicas' fingerprints")
        let differing = all.indices.filter { all[$0] != all[0] }
        guard !differing.isEmpty else { return }
        throw communicator.error(.mismatch, "replicas differ \(when): rank\(differing.count == 1 ? " \(differing[0]) holds" : "s \(differing.map(String.init).joined(separator: ", ")) hold") parameters, model state or optimizer state different from rank 0's")
    }
}
