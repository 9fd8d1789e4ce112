import Tensor
import Foundation

/// The checkpoint file format, version 2 (version 1 is still read). All integers little-endian.
///
/// ```
/// offset  bytes  field
/// 0       8      magic: 0x89 'G' 'E' 'C' 'K' 'P' 'T' '\n'
/// 8       4      format version (u32) = 3
/// 12      4      reserved (u32) = 0
/// 16      8      payload length P (u64)
/// 24      P      payload
/// 24+P    8      FNV-1a 64 checksum of bytes 0 ..< 24+P (u64)
///
/// payload: u64 epoch, u64 step, u64 seed, string optimizer,
///          u32 n, n x (string key, string value)       metadata, sorted by key
///          u32 n, n x array                            parameters
///          u32 n, n x array                            optimizer slots
///          u32 n, n x array                            model state (version 3)
/// string:  u32 byte count, UTF-8 bytes
/// array:   string name, u32 element bytes (4: f32, 8: f64), u32 rank, rank x u64 dims,
///          (product of dims) x element (IEEE 754 bits)
///          (version 1 arrays have no element-bytes field: always f32)
/// ```
/// A reader checks, in order: magic, version, length (truncation), checksum (corruption), then
/// parses with bounds checks, so every damaged file gives a `CheckpointError`, never a crash.
extension Checkpoint {
    static let magic: [UInt8] = [0x89, 0x47, 0x45, 0x43, 0x4B, 0x50, 0x54, 0x0A]
    static let headerSize = 24

    /// The file's bytes.
    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(epoch)); w.u64(UInt64(step)); w.u64(seed)
        w.string(optimizer)
        w.u32(UInt32(metadata.count))
        for key in metadata.keys.sorted() { w.string(key); w.string(metadata[key]!) }
        for list in [parameters, optimizerSlots, state] {
            w.u32(UInt32(list.count))
            for a in list {
                w.string(a.name)
                w.u32(UInt32(a.scalarBytes))
                w.u32(UInt32(a.shape.count))
                for d in a.shape { w.u64(UInt64(d)) }
                if a.scalarBytes == 8 { w.doubles(a.values) } else { w.floats(a.values) }
            }
        }
        var out = ByteWriter()
        out.bytes.append(contentsOf: Checkpoint.magic)
        out.u32(Checkpoint.formatVersion); out.u32(0); out.u64(UInt64(w.bytes.count))
        out.bytes.append(contentsOf: w.bytes)
        out.u64(fnv1a64(out.bytes[...]))
        return out.bytes
    }

    /// Decodes a checkpoint's bytes; `name` stands for the file in errors.
    public init(decoding bytes: [UInt8], name: String) throws {
        let magic = Checkpoint.magic
        guard bytes.count >= magic.count else {
            if bytes.elementsEqual(magic.prefix(bytes.count)) && !bytes.isEmpty {
                throw CheckpointError.truncated(file: name, expectedBytes: Checkpoint.headerSize + 8, foundBytes: bytes.count)
            }
            throw CheckpointError.notACheckpoint(file: name)
        }
        guard bytes[0..<magic.count].elementsEqual(magic) else { throw CheckpointError.notACheckpoint(file: name) }
        guard bytes.count >= Checkpoint.headerSize else {
            throw CheckpointError.truncated(file: name, expectedBytes: Checkpoint.headerSize + 8, foundBytes: bytes.count)
        }
        var header = ByteReader(bytes: bytes, offset: 8, end: Checkpoint.headerSize, file: name)
        let version = try header.u32()
        guard Checkpoint.readableVersions.contains(version) else {
            throw CheckpointError.unsupportedVersion(file: name, found: version, supported: Checkpoint.formatVersion)
        }
        _ = try header.u32()
        let payloadLength = try header.u64()
        guard payloadLength <= UInt64(Int.max - Checkpoint.headerSize - 8) else {
            throw CheckpointError.malformed(file: name, offset: 16, reason: "payload length \(payloadLength) is impossible")
        }
        let total = Checkpoint.headerSize + Int(payloadLength) + 8
        guard bytes.count >= total else {
            throw CheckpointError.truncated(file: name, expectedBytes: total, foundBytes: bytes.count)
        }
        guard bytes.count == total else {
            throw CheckpointError.malformed(file: name, offset: total, reason: "\(bytes.count - total) bytes after the checksum")
        }
        var tail = ByteReader(bytes: bytes, offset: total - 8, end: total, file: name)
        let stored = try tail.u64()
        let computed = fnv1a64(bytes[0..<(total - 8)])
        guard stored == computed else {
            throw CheckpointError.checksumMismatch(file: name, stored: stored, computed: computed)
        }

        var r = ByteReader(bytes: bytes, offset: Checkpoint.headerSize, end: total - 8, file: name)
        let epoch = try r.count("epoch"), step = try r.count("step"), seed = try r.u64()
        let optimizer = try r.string()
        var metadata: [String: String] = [:]
        for _ in 0..<(Int(try r.u32())) {
            let key = try r.string()
            metadata[key] = try r.string()
        }
        var lists: [[NamedArray]] = []
        for _ in 0..<(version >= 3 ? 3 : 2) {
            var list: [NamedArray] = []
            for _ in 0..<(Int(try r.u32())) {
                let arrayName = try r.string()
                let scalarBytes = version >= 2 ? Int(try r.u32()) : 4
                guard scalarBytes == 4 || scalarBytes == 8 else {
                    throw r.malformed("array '\(arrayName)' has \(scalarBytes)-byte elements (4 or 8 expected)")
                }
                let rank = Int(try r.u32())
                var shape: [Int] = []
                var elements = 1
                for _ in 0..<rank {
                    let d = try r.count("dimension")
                    let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                    guard !overflow else { throw r.malformed("array '\(arrayName)' is impossibly large") }
                    elements = product
                    shape.append(d)
                }
                let values = scalarBytes == 8 ? try r.doubles(elements) : try r.floats(elements).map(Double.init)
                list.append(NamedArray(name: arrayName, shape: shape, values: values, scalarBytes: scalarBytes))
            }
            lists.append(list)
        }
        guard r.offset == r.end else { throw r.malformed("\(r.end - r.offset) unread payload bytes") }
        self.init(parameters: lists[0], optimizer: optimizer, optimizerSlots: lists[1], step: step, epoch: epoch,
                  seed: seed, metadata: metadata, state: lists.count > 2 ? lists[2] : [])
    }

    /// Reads and decodes the checkpoint at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw CheckpointError.unreadable(file: path, reason: reason)
        }
        try self.init(decoding: [UInt8](data), name: path)
    }

    /// Writes the checkpoint to `path` atomically: a temporary file in the same directory is
    /// written, flushed to disk (fsync) and renamed over `path`, then the directory is synced.
    /// A crash at any point leaves either the old file or the new one, never a mix.
    public func write(to path: String) throws {
        try AtomicFile.write(encoded(), to: path)
    }
}

/// FNV-1a, 64-bit: a simple, well-known checksum that catches flipped bits and cut-and-paste damage
/// (not a defence against deliberate tampering).
func fnv1a64(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    bytes.withUnsafeBufferPointer { b in
        for byte in b {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
    }
    return hash
}

private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func floats(_ values: [Double]) {
        for v in values { u32(Float(v).bitPattern) }
    }
    mutating func doubles(_ values: [Double]) {
        for v in values { u64(v.bitPattern) }
    }
}

private struct ByteReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int
    let file: String

    func malformed(_ reason: String) -> CheckpointError {
        CheckpointError.malformed(file: file, offset: offset, reason: reason)
    }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= end - offset else { throw malformed("needs \(n) bytes, \(end - offset) left") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u32() throws -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64() throws -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// A u64 that must fit a non-negative Int below 2^48 (counts, dimensions, positions).
    mutating func count(_ what: String) throws -> Int {
        let v = try u64()
        guard v < 1 << 48 else { throw malformed("\(what) \(v) is impossible") }
        return Int(v)
    }

    mutating func string() throws -> String {
        let n = Int(try u32())
        let raw = try take(n)
        guard let s = String(validating: raw, as: UTF8.self) else { throw malformed("a name is not valid UTF-8") }
        return s
    }

    mutating func doubles(_ n: Int) throws -> [Double] {
        guard n <= (end - offset) / 8 else { throw malformed("needs \(n) doubles, \((end - offset) / 8) left") }
        return try (0..<n).map { _ in Double(bitPattern: try u64()) }
    }

    mutating func floats(_ n: Int) throws -> [Float] {
        guard n <= (end - offset) / 4 else { throw malformed("needs \(n) floats, \((end - offset) / 4) left") }
        let raw = try take(4 * n)
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            raw.withUnsafeBufferPointer { b in
                for i in 0..<n {
                    let j = 4 * i
                    let bits = UInt32(b[j]) | UInt32(b[j + 1]) << 8 | UInt32(b[j + 2]) << 16 | UInt32(b[j + 3]) << 24
                    out[i] = Float(bitPattern: bits)
                }
            }
            initialized = n
        }
    }
}
