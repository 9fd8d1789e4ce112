import Testing
import Training

/// What FuzzCheckpoint (Fuzz/) looks for, as fixed cases: a checkpoint whose checksum is right but
/// whose counts and dimensions promise far more than the file holds is an error at its byte offset,
/// found before anything of the promised size is allocated (2^42 doubles would be 32 TiB).
@Suite struct ReaderFuzzRegressionTests {
    /// A version 2 checkpoint around `payload`: header, then the payload, then the FNV-1a checksum
    /// (Sources/Training/Checkpoint+Binary.swift), so that the parser behind the checks is reached.
    static func checkpoint(_ payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x47, 0x45, 0x43, 0x4B, 0x50, 0x54, 0x0A] + le32(2) + le32(0) + le64(UInt64(payload.count))
        bytes += payload
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return bytes + le64(hash)
    }

    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// epoch 1, step 2, seed 3, optimizer "sgd" (payload bytes 0..<31, file bytes 24..<55).
    static let head: [UInt8] = le64(1) + le64(2) + le64(3) + le32(3) + Array("sgd".utf8)

    /// No metadata, one parameter "w" of `elementBytes`-byte elements and these dimensions, and
    /// nothing after them: the dimensions end at file byte 76 + 8 * rank.
    static func oneArray(elementBytes: UInt32, dims: [UInt64]) -> [UInt8] {
        checkpoint(head + le32(0) + le32(1) + le32(1) + Array("w".utf8) + le32(elementBytes)
                   + le32(UInt32(dims.count)) + dims.flatMap { le64($0) })
    }

    static func message(_ bytes: [UInt8]) -> String? {
        do { _ = try Checkpoint(decoding: bytes, name: "c.ckpt"); return nil } catch { return "\(error)" }
    }

    @Test func hugeDimensionsAreRefusedBeforeAllocating() {
        #expect(Self.message(Self.oneArray(elementBytes: 8, dims: [1 << 40, 4]))
                == "checkpoint c.ckpt: malformed at byte 92: needs 4398046511104 doubles, 0 left")
        #expect(Self.message(Self.oneArray(elementBytes: 4, dims: [1 << 40]))
                == "checkpoint c.ckpt: malformed at byte 84: needs 1099511627776 floats, 0 left")
        #expect(Self.message(Self.oneArray(elementBytes: 8, dims: [1 << 47, 1 << 47]))
                == "checkpoint c.ckpt: malformed at byte 92: array 'w' is impossibly large")
        #expect(Self.message(Self.oneArray(elementBytes: 8, dims: [1 << 48]))
                == "checkpoint c.ckpt: malformed at byte 84: dimension 281474976710656 is impossible")
    }

    @Test func hugeCountsOfEntriesEndAtTheFirstMissingOne() {
        // 2^32 - 1 metadata entries promised after byte 59, none there.
        #expect(Self.message(Self.checkpoint(Self.head + Self.le32(.max)))
                == "checkpoint c.ckpt: malformed at byte 59: needs 4 bytes, 0 left")
        // A rank of 2^32 - 1 with no dimensions after it (file byte 76).
        #expect(Self.message(Self.checkpoint(Self.head + Self.le32(0) + Self.le32(1) + Self.le32(1) + Array("w".utf8)
                                             + Self.le32(8) + Self.le32(.max)))
                == "checkpoint c.ckpt: malformed at byte 76: needs 8 bytes, 0 left")
    }

    /// The helper makes checkpoints the reader accepts: the same bytes with one real value.
    @Test func theHelperWritesReadableCheckpoints() throws {
        var payload = Self.head + Self.le32(0) + Self.le32(1) + Self.le32(1) + Array("w".utf8)
        payload += Self.le32(8) + Self.le32(1) + Self.le64(1) + Self.le64(2.5.bitPattern) + Self.le32(0)
        let back = try Checkpoint(decoding: Self.checkpoint(payload), name: "c.ckpt")
        #expect(back.parameters == [Checkpoint.NamedArray(name: "w", shape: [1], values: [2.5], scalarBytes: 8)])
        #expect(back.epoch == 1 && back.step == 2 && back.seed == 3 && back.optimizer == "sgd")
    }
}
