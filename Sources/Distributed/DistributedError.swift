/// Why a distributed run stopped: a failed MPI call, a collective that timed out (a peer rank
/// is dead, stopped or running something else), or ranks started with different settings.
/// Every message names the rank that reports it.
///
/// ```swift
/// do { try comm.allreduce(buffer, op: .sum, what: "gradient bucket 0") }
/// catch let error as DistributedError { print(error) }   // "rank 1 of 2: ..."
/// ```
public struct DistributedError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// An MPI call returned an error code (with `MPI_ERRORS_RETURN`).
        case mpi(code: Int32)
        /// A collective did not complete within the communicator's timeout.
        case timeout
        /// The ranks do not agree on the model, the data or the settings.
        case mismatch
        /// MPI cannot be used as asked (thread level, initialization).
        case unavailable
    }

    public let kind: Kind
    /// The reporting rank (nil before MPI knows it).
    public let rank: Int?
    /// Ranks in the run (nil before MPI knows it).
    public let size: Int?
    /// The explanation, without the rank prefix.
    public let message: String

    public init(_ kind: Kind, rank: Int?, size: Int?, _ message: String) {
        self.kind = kind
        self.rank = rank
        self.size = size
        self.message = message
    }

    public var description: String {
        guard let rank, let size else { return message }
        return "rank \(rank) of \(size): \(message)"
    }
}
