import Distributed
import Foundation
import Profiling
import Scheduler
import Tensor
import Training

/// `bench train --distributed`: each process started by `mpirun` is one rank of a data-parallel run.
/// Every rank loads the data and builds the model; `DataParallelTrainer` checks that the ranks
/// agree, gives them rank 0's parameters, splits every global batch (`--batch`) across them and
/// sums the gradients. Rank 0 alone prints and writes files (checkpoints, profile, report, graph).
/// An error on any rank ends every rank (`MPI_Abort`) after printing it.
extension TrainCommand {
    static func runDistributed(_ options: Options) throws {
        let communicator = try Communicator.world(timeout: options.commTimeout)
        do {
            if options.double {
                try Run<Double>(options, communicator: communicator).train()
            } else {
                try Run<Float>(options, communicator: communicator).train()
            }
        } catch {
            let text = error is DistributedError ? "\(error)" : "rank \(communicator.rank) of \(communicator.size): \(error)"
            FileHandle.standardError.write("bench train: \(text)\n".data(using: .utf8)!)
            communicator.abort(code: error is ArgumentError ? 2 : 1)
        }
        communicator.finalize()
    }

    /// Communication over a run's epochs.
    struct CommunicationTotals {
        var reduceSeconds = 0.0
        var exposedSeconds = 0.0
        var bytes = 0
        /// The same after the first epoch (first-touch costs), like `samples_per_s`.
        var steadyReduceSeconds = 0.0
        var steadyExposedSeconds = 0.0
        /// Rank 0's all-reduces, when its steps were traced (`--profile`).
        var events: [CommunicationEvent] = []

        /// One line for rank 0's report.
        var summary: String {
            let (reduce, exposed) = steadyReduceSeconds > 0 ? (steadyReduceSeconds, steadyExposedSeconds) : (reduceSeconds, exposedSeconds)
            let hidden = reduce > 0 ? max(0, 1 - exposed / reduce) : 1
            return "communication (rank 0): \(String(format: "%.1f", Double(bytes) / 1_048_576)) MB all-reduced in \(String(format: "%.2f", reduceSeconds)) s; "
                + "\(String(format: "%.0f", 100 * hidden))% of it hidden behind backprop\(steadyReduceSeconds > 0 ? " after the first epoch" : "") "
                + "(the training thread waited \(String(format: "%.2f", exposedSeconds)) s for it)"
        }

        mutating func add(_ s: CommunicationStatistics, steady: Bool) {
            reduceSeconds += s.reduceSeconds
            exposedSeconds += s.exposedSeconds
            bytes += s.bytes
            events += s.events
            if steady {
                steadyReduceSeconds += s.reduceSeconds
                steadyExposedSeconds += s.exposedSeconds
            }
        }
    }
}

extension TrainCommand.Run {
    /// The worker pool. Ranks that share a node with MPI's binding off (`--bind-to none`) split
    /// the node's CPUs, so that their pools do not pin their workers to the same cores; ranks that
    /// MPI bound keep their binding (the pool pins inside it). Returns the share it used, if any.
    func makeExecutor() throws -> (Executor, [Int]?) {
        guard let communicator, let share = try communicator.cpuShareOnNode() else {
            return (Executor(workers: o.threads), nil)
        }
        return (Communicator.withThreadAffinity(share) { Executor(workers: o.threads) }, share)
    }

    /// Joins the trainer to the run: the settings every rank must share, then `DataParallelTrainer`.
    func makeParallel(_ trainer: Trainer<Scalar>, _ communicator: Communicator, _ prepared: TrainCommand.PreparedData,
                      _ model: Model, cpuShare: [Int]?) throws -> DataParallelTrainer<Scalar> {
        var settings = [
            "data": prepared.name,
            "training rows": "\(prepared.train.count) x \(prepared.train.featureCount) (fingerprint \(String(prepared.train.fingerprint, radix: 16)))",
            "test rows": "\(prepared.test.count) (fingerprint \(String(prepared.test.fingerprint, radix: 16)))",
            "model": model.summary,
            "loss": model.loss?.description ?? "graph's own",
            "epochs": String(o.epochs),
            "resume": o.resume ? "yes" : "no",
            "bucket-mb": String(o.bucketMB),
        ]
        if let v = prepared.validation { settings["validation rows"] = "\(v.count) (fingerprint \(String(v.fingerprint, radix: 16)))" }
        if let p = o.patience { settings["patience"] = String(p) }
        let parallel = try DataParallelTrainer(trainer: trainer, communicator: communicator,
                                               bucketBytes: Int(o.bucketMB * 1_048_576), settings: settings,
                                               pollMicroseconds: o.commPollMicroseconds, nodeSums: o.nodeSum == "shared")
        let hosts = try hostNames(communicator)
        let global = trainer.globalBatchSize
        let shares = (0..<communicator.size).map { DataParallelTrainer<Scalar>.share(of: global, rank: $0, size: communicator.size).count }
        let (fewest, most) = (shares.min()!, shares.max()!)
        let buckets = parallel.layout.buckets.count
        let split = trainer.hasFixedBatch
            ? "each trains the graph's whole batch of \(trainer.batchSize) rows (global batch \(global))"
            : "global batch \(global) split across them (\(fewest == most ? "\(most)" : "\(fewest)-\(most)") rows per rank)"
        out.line("""
            distributed: \(communicator.size) rank\(communicator.size == 1 ? "" : "s") on \(hosts); \(split); \(buckets) gradient bucket\(buckets == 1 ? "" : "s") \
            (\(parallel.layout.summary(scalarBytes: MemoryLayout<Scalar>.stride))) summed by a communication thread\
            \(parallel.sumsThroughSharedMemory ? " through a shared-memory window on each node" : " with MPI's all-reduce"); \
            collective timeout \(Int(communicator.timeout)) s; \(cpuShare.map { "each rank's workers pinned within its share of its node's CPUs (rank 0: \(Self.cpuList($0)))" } ?? "workers pinned within the CPUs each rank was given")
            """)
        if trainer.epoch > 0 && communicator.rank == 0 {
            out.line("every rank continues from rank 0's state after epoch \(trainer.epoch)")
        }
        return parallel
    }

    /// Replaces rank 0's `trace.json` with every rank's trace: one process per rank (named by
    /// rank and host), each with its workers and its communication thread's all-reduces (category
    /// `communication`, with the bucket and the bytes moved), on a common time axis (the barrier
    /// before training; ranks on different hosts are aligned to within that barrier's skew).
    func mergeTraces(_ profile: Profile, _ events: [CommunicationEvent], into dir: String,
                     _ communicator: Communicator, origin: UInt64) throws {
        let shiftMicros = (Double(profile.originNanos) - Double(origin)) / 1000
        var mine = (try JSONSerialization.jsonObject(with: Data(profile.chromeTrace().utf8)) as? [String: Any])?["traceEvents"]
            as? [[String: Any]] ?? []
        let pid = communicator.rank + 1
        for i in mine.indices {
            mine[i]["pid"] = pid
            if let ts = mine[i]["ts"] as? Double { mine[i]["ts"] = ts + shiftMicros }
            if mine[i]["name"] as? String == "process_name" {
                mine[i]["args"] = ["name": "rank \(communicator.rank) (\(communicator.processorName))"]
            }
        }
        mine.append(["ph": "M", "pid": pid, "name": "process_sort_index", "args": ["sort_index": pid]])
        let tid = 1_000_000
        mine.append(["ph": "M", "pid": pid, "tid": tid, "name": "thread_name", "args": ["name": "allreduce (communication thread)"]])
        mine.append(["ph": "M", "pid": pid, "tid": tid, "name": "thread_sort_index", "args": ["sort_index": tid]])
        for e in events where e.begin >= origin {
            mine.append(["ph": "X", "pid": pid, "tid": tid, "ts": Double(e.begin - origin) / 1000, "dur": Double(e.end - e.begin) / 1000,
                         "name": "allreduce bucket \(e.bucket)", "cat": "communication", "args": ["bucket": e.bucket, "bytes": e.bytes]])
        }
        let bytes = Array(try JSONSerialization.data(withJSONObject: mine))
        guard let all = try communicator.gather(bytes: bytes, root: 0, what: "the ranks' traces") else { return }
        var merged: [[String: Any]] = []
        for part in all { merged += (try JSONSerialization.jsonObject(with: Data(part)) as? [[String: Any]]) ?? [] }
        let object: [String: Any] = ["displayTimeUnit": "ns", "traceEvents": merged,
                                     "otherData": ["generator": "GraphEngine Profile", "ranks": communicator.size]]
        try AtomicFile.write(Array(try JSONSerialization.data(withJSONObject: object)), to: dir + "/trace.json")
    }

    /// `0-3,8`: CPU indexes with runs shortened.
    static func cpuList(_ cpus: [Int]) -> String {
        var parts: [String] = [], i = 0
        while i < cpus.count {
            var j = i
            while j + 1 < cpus.count && cpus[j + 1] == cpus[j] + 1 { j += 1 }
            parts.append(j > i ? "\(cpus[i])-\(cpus[j])" : "\(cpus[i])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    /// `host (ranks 0-1), other (rank 2)`: where the ranks run.
    private func hostNames(_ communicator: Communicator) throws -> String {
        let mine = Array(communicator.processorName.utf8)
        let lengths = try communicator.allgather(Int64(mine.count), what: "the host names' lengths")
        let bytes = try communicator.allgather(mine, what: "the host names")
        var names: [String] = [], start = 0
        for length in lengths {
            names.append(String(decoding: bytes[start..<(start + Int(length))], as: UTF8.self))
            start += Int(length)
        }
        var order: [String] = [], ranks: [String: [Int]] = [:]
        for (r, name) in names.enumerated() {
            if ranks[name] == nil { order.append(name) }
            ranks[name, default: []].append(r)
        }
        return order.map { name in
            let r = ranks[name]!
            let list = r.count > 2 && r.last! - r.first! == r.count - 1 ? "\(r.first!)-\(r.last!)" : r.map(String.init).joined(separator: ", ")
            return "\(name) (rank\(r.count == 1 ? "" : "s") \(list))"
        }.joined(separator: ", ")
    }

    /// A fingerprint of the trained parameters' bit patterns (equal runs print equal ones).
    static func parameterFingerprint(_ trainer: Trainer<Scalar>) throws -> UInt64 {
        var f = Fingerprint()
        for values in try trainer.parameterValues() { f.add(values) }
        return f.value
    }

    /// The distributed run's fields of the `--json` line.
    func addDistributedFields(_ j: inout JSONLine, _ parallel: DataParallelTrainer<Scalar>,
                              _ c: TrainCommand.CommunicationTotals) {
        j.add("ranks", parallel.size)
        j.add("per_rank_batch", Double(parallel.trainer.globalBatchSize) / Double(parallel.size))
        j.add("global_batch", parallel.trainer.globalBatchSize)
        j.add("bucket_mb", o.bucketMB)
        j.add("comm_poll_us", o.commPollMicroseconds)
        j.add("node_sum", parallel.sumsThroughSharedMemory ? "shared" : "allreduce")
        j.add("buckets", parallel.layout.buckets.count)
        j.add("comm_bytes", c.bytes)
        j.add("comm_seconds", c.reduceSeconds)
        j.add("comm_exposed_seconds", c.exposedSeconds)
        let (reduce, exposed) = c.steadyReduceSeconds > 0 ? (c.steadyReduceSeconds, c.steadyExposedSeconds) : (c.reduceSeconds, c.exposedSeconds)
        j.add("comm_hidden_share", reduce > 0 ? max(0, 1 - exposed / reduce) : 1)
    }
}
