import CMPI

extension Communicator {
    /// Sums (or takes the max or min of) `buffer` element-wise over all ranks, in place: every
    /// rank ends with the same values. `what` names the data in errors.
    public func allreduce<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, op: MPIReduction, what: String) throws {
        try allreduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count, datatype: T.datatype, op: op, what: what)
    }

    /// `allreduce` on raw memory of `count` elements of `datatype`.
    func allreduce(_ pointer: UnsafeMutableRawPointer?, count: Int, datatype: MPIDatatype, op: MPIReduction, what: String,
                   pause: (() -> Void)? = nil) throws {
        guard count > 0, let pointer else { return }
        try checkCount(count, what)
        var request: MPI_Request? = cmpi_request_null()
        try check(MPI_Iallreduce(cmpi_in_place(), pointer, Int32(count), datatype.handle, op.handle, comm, &request),
                  "MPI_Iallreduce", what)
        try wait(&request, "all-reduce of \(what) (\(Communicator.bytes(count * datatype.size)))", pause: pause)
    }

    /// Replaces `buffer` on every rank with rank `root`'s.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0, what: String) throws {
        guard buffer.count > 0, let base = buffer.baseAddress else { return }
        try checkCount(buffer.count, what)
        var request: MPI_Request? = cmpi_request_null()
        try check(MPI_Ibcast(base, Int32(buffer.count), T.datatype.handle, Int32(root), comm, &request), "MPI_Ibcast", what)
        try wait(&request, "broadcast of \(what) (\(Communicator.bytes(buffer.count * T.datatype.size)))")
    }

    /// Rank `root`'s bytes, on every rank (the length travels first).
    public func broadcast(bytes: [UInt8], root: Int = 0, what: String) throws -> [UInt8] {
        var length = [Int64(bytes.count)]
        try length.withUnsafeMutableBufferPointer { try broadcast($0, root: root, what: "the length of \(what)") }
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try out.withUnsafeMutableBufferPointer { try broadcast($0, root: root, what: what) }
        return out
    }

    /// Every rank's `value`, in rank order.
    public func allgather<T: MPIScalar>(_ value: T, what: String) throws -> [T] {
        var mine = value
        var all = [T](repeating: value, count: size)
        var request: MPI_Request? = cmpi_request_null()
        try all.withUnsafeMutableBufferPointer { out in
            try check(MPI_Iallgather(&mine, 1, T.datatype.handle, out.baseAddress, 1, T.datatype.handle, comm, &request),
                      "MPI_Iallgather", what)
            try wait(&request, "all-gather of \(what)")
        }
        return all
    }

    /// Every rank's `values` (of any lengths), concatenated in rank order.
    public func allgather<T: MPIScalar>(_ values: [T], what: String) throws -> [T] {
        let counts = try allgather(Int64(values.count), what: "the lengths of \(what)")
        let total = counts.reduce(0, +)
        guard total <= Int64(Int32.max) else { throw error(.unavailable, "\(what): \(total) elements are too many for one all-gather") }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + Int32(counts[r - 1]) }
        let counts32 = counts.map { Int32($0) }
        // Zeroed memory: T is bitwise-copyable, and there may be no element to repeat.
        var all = [T](unsafeUninitializedCapacity: Int(total)) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
            initialized = Int(total)
        }
        guard total > 0 else { return all }
        var request: MPI_Request? = cmpi_request_null()
        try values.withUnsafeBufferPointer { mine in
            try all.withUnsafeMutableBufferPointer { out in
                try check(MPI_Iallgatherv(mine.baseAddress, Int32(values.count), T.datatype.handle, out.baseAddress,
                                          counts32, displacements, T.datatype.handle, comm, &request),
                          "MPI_Iallgatherv", what)
                try wait(&request, "all-gather of \(what)")
            }
        }
        return all
    }

    /// Every rank's bytes, on rank `root` (in rank order; nil on the other ranks).
    public func gather(bytes: [UInt8], root: Int = 0, what: String) throws -> [[UInt8]]? {
        let lengths = try allgather(Int64(bytes.count), what: "the lengths of \(what)")
        let total = lengths.reduce(0, +)
        guard total <= Int64(Int32.max) else { throw error(.unavailable, "\(what): \(total) bytes are too many for one gather") }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + Int32(lengths[r - 1]) }
        let counts = lengths.map { Int32($0) }
        var all = [UInt8](repeating: 0, count: rank == root ? Int(total) : 0)
        var request: MPI_Request? = cmpi_request_null()
        try bytes.withUnsafeBufferPointer { mine in
            try all.withUnsafeMutableBufferPointer { out in
                try check(MPI_Igatherv(mine.baseAddress, Int32(bytes.count), cmpi_uint8(), out.baseAddress, counts, displacements,
                                       cmpi_uint8(), Int32(root), comm, &request), "MPI_Igatherv", what)
                try wait(&request, "gather of \(what) (\(Communicator.bytes(Int(total))))")
            }
        }
        guard rank == root else { return nil }
        return (0..<size).map { r in Array(all[Int(displacements[r])..<(Int(displacements[r]) + Int(lengths[r]))]) }
    }

    /// Waits until every rank has called it.
    public func barrier(what: String) throws {
        try barrier(what: what, pause: nil)
    }

    /// `barrier`, running `pause` between tests (see `wait`).
    func barrier(what: String, pause: (() -> Void)?) throws {
        var request: MPI_Request? = cmpi_request_null()
        try check(MPI_Ibarrier(comm, &request), "MPI_Ibarrier", what)
        try wait(&request, "barrier (\(what))", pause: pause)
    }

    private func checkCount(_ count: Int, _ what: String) throws {
        guard count <= Int(Int32.max) else { throw error(.unavailable, "\(what): \(count) elements are too many for one collective (at most \(Int32.max))") }
    }

    /// `n` bytes for messages (B, KB, MB).
    static func bytes(_ n: Int) -> String {
        func tenths(_ x: Double) -> String { String(Double((x * 10).rounded()) / 10) }
        return n >= 1 << 20 ? tenths(Double(n) / 1048576) + " MB" : n >= 1 << 10 ? tenths(Double(n) / 1024) + " KB" : "\(n) B"
    }
}

extension MPIDatatype {
    /// Bytes per element.
    var size: Int {
        switch self {
        case .float, .int32: 4
        case .double, .int64, .uint64: 8
        case .uint8: 1
        }
    }
}
