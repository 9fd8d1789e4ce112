import CMPI
import Scheduler

#if canImport(Glibc)
import Glibc
#endif

/// The ranks of an MPI run (`MPI_COMM_WORLD`): who this process is, how many there are, and the
/// collectives data-parallel training needs, each bounded by a timeout.
///
/// MPI is initialized once per process with `MPI_THREAD_MULTIPLE` (a communication thread reduces
/// gradients while other threads compute and may call MPI too); if the library grants less,
/// `world()` throws. Errors return instead of aborting (`MPI_ERRORS_RETURN`), so a failed call
/// becomes a `DistributedError` naming the rank.
///
/// Every collective is started non-blocking and then tested until done, with `timeout` seconds
/// at most: a peer that died, was stopped or runs other collectives turns into a
/// `DistributedError` of kind `.timeout` instead of a hang. After any error the collectives' state
/// is undefined: end the run with `abort(code:)`, which stops every rank.
///
/// ```swift
/// let comm = try Communicator.world(timeout: 60)
/// var x: [Float] = [Float(comm.rank)]
/// try x.withUnsafeMutableBufferPointer { try comm.allreduce($0, op: .sum, what: "example") }
/// // x[0] == 0 + 1 + ... + (size - 1) on every rank
/// comm.finalize()
/// ```
public final class Communicator: @unchecked Sendable {
    // @unchecked Sendable: immutable after init; MPI itself is initialized for concurrent calls.

    /// This process's rank, from 0.
    public let rank: Int
    /// Number of ranks.
    public let size: Int
    /// Seconds any one collective may take before it is reported as a hang.
    public let timeout: Double
    /// The thread level MPI granted (`MPI_THREAD_MULTIPLE` or better, else `world()` threw).
    public let threadLevel: Int32
    /// The host MPI says this rank runs on.
    public let processorName: String

    let comm: MPI_Comm
    /// The rank and size errors name: the world's, also in a communicator over part of it (a
    /// node's ranks), so that a message says which process of the run failed.
    private let worldRank: Int
    private let worldSize: Int

    /// The world communicator once made, under a pthread mutex (`Lock`, which ThreadSanitizer sees).
    private static let shared = Lock<Communicator?>(nil)

    /// The world communicator, initializing MPI on first use (later calls return the same one;
    /// `timeout` is the first call's).
    ///
    /// - Parameter timeout: seconds a collective may take (start-up waits on the slowest rank's
    ///   data loading, so leave room).
    public static func world(timeout: Double = 300) throws -> Communicator {
        try shared.withLock { current in
            if let current { return current }
            let made = try Communicator(timeout: timeout)
            current = made
            return made
        }
    }

    private init(timeout: Double) throws {
        guard timeout > 0 else { throw DistributedError(.unavailable, rank: nil, size: nil, "the collective timeout must be positive, got \(timeout) s") }
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        var provided: Int32 = 0
        if initialized == 0 {
            let required = Int32(MPI_THREAD_MULTIPLE)
            let rc = MPI_Init_thread(nil, nil, required, &provided)
            guard rc == MPI_SUCCESS else {
                throw DistributedError(.unavailable, rank: nil, size: nil, "MPI_Init_thread failed (code \(rc))")
            }
        } else {
            MPI_Query_thread(&provided)
        }
        let world = cmpi_comm_world()
        MPI_Comm_set_errhandler(world, cmpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        var name = [CChar](repeating: 0, count: Int(MPI_MAX_PROCESSOR_NAME) + 1)
        var length: Int32 = 0
        MPI_Get_processor_name(&name, &length)
        comm = world!
        rank = Int(r)
        size = Int(s)
        self.timeout = timeout
        threadLevel = provided
        worldRank = Int(r)
        worldSize = Int(s)
        processorName = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard provided >= Int32(MPI_THREAD_MULTIPLE) else {
            throw DistributedError(.unavailable, rank: rank, size: size,
                                   "MPI granted thread level \(Communicator.threadLevelName(provided)), data-parallel training needs MPI_THREAD_MULTIPLE (a communication thread reduces gradients while workers compute): use an MPI built with thread support")
        }
    }

    /// A communicator over part of `parent`'s ranks (freed by its creator).
    init(sub: MPI_Comm, of parent: Communicator) {
        comm = sub
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(sub, &r)
        MPI_Comm_size(sub, &s)
        rank = Int(r)
        size = Int(s)
        timeout = parent.timeout
        threadLevel = parent.threadLevel
        worldRank = parent.worldRank
        worldSize = parent.worldSize
        processorName = parent.processorName
    }

    static func threadLevelName(_ level: Int32) -> String {
        switch level {
        case Int32(MPI_THREAD_SINGLE): "MPI_THREAD_SINGLE"
        case Int32(MPI_THREAD_FUNNELED): "MPI_THREAD_FUNNELED"
        case Int32(MPI_THREAD_SERIALIZED): "MPI_THREAD_SERIALIZED"
        case Int32(MPI_THREAD_MULTIPLE): "MPI_THREAD_MULTIPLE"
        default: "\(level)"
        }
    }

    /// Ends MPI for this process (call once, after the last collective; every rank must call it).
    public func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Stops every rank of the run (`MPI_Abort`): the way out after an error, when peers may be
    /// waiting in a collective this rank will never join.
    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }

    // MARK: - Errors and waiting

    /// An error of this rank.
    func error(_ kind: DistributedError.Kind, _ message: String) -> DistributedError {
        DistributedError(kind, rank: worldRank, size: worldSize, message)
    }

    /// Throws unless `code` is `MPI_SUCCESS`, with MPI's own text for the code.
    func check(_ code: Int32, _ call: String, _ what: String) throws {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let reason = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw error(.mpi(code: code), "\(call) (\(what)) failed: \(reason) (a peer rank may have died)")
    }

    /// Tests `request` until it completes, yielding the CPU between tests; throws after `timeout`
    /// seconds. Open MPI progresses a non-blocking collective only while some thread is inside an
    /// MPI call, so the caller tests it continuously (this is what the communication thread does).
    ///
    /// - Parameter pause: called between tests (e.g. to sleep while other threads compute);
    ///   without it the caller yields the CPU every 16 tests.
    func wait(_ request: inout MPI_Request?, _ what: @autoclosure () -> String, pause: (() -> Void)? = nil) throws {
        let deadline = monotonicSeconds() + timeout
        var done: Int32 = 0
        var tests = 0
        while true {
            try check(MPI_Test(&request, &done, cmpi_status_ignore()), "MPI_Test", what())
            if done != 0 { return }
            tests += 1
            pause?()
            if tests & 15 == 0 {
                if monotonicSeconds() > deadline {
                    throw error(.timeout, "\(what()) did not complete within \(Communicator.seconds(timeout)): a peer rank is dead, stopped or running different collectives (different settings?); ending the run")
                }
                sched_yield()
            }
        }
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }
}

/// Monotonic wall-clock seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
