import Foundation
import Testing
import Tensor
import Training

@Suite struct TrainingCheckpointTests {
    static func sample() -> Checkpoint {
        let w = Checkpoint.NamedArray(name: "dense0.weight", shape: [3, 2], values: [1, -2, 3.5, .leastNonzeroMagnitude, -0.0, 1e30])
        let b = Checkpoint.NamedArray(name: "dense0.bias", shape: [2], values: [0.25, -0.125])
        let state = OptimizerState<Float>(optimizer: .adam(learningRate: .constant(0.01)), parameterSizes: [6, 2])
        var p = w.scalars(as: Float.self)
        let g: [Float] = [1, 2, 3, 4, 5, 6]
        p.withUnsafeMutableBufferPointer { pb in g.withUnsafeBufferPointer { state.update(parameter: 0, values: pb, gradients: $0) } }
        state.advance()
        return Checkpoint(parameters: [w, b], optimizer: "adam", optimizerSlots: Checkpoint.slots(of: state, parameters: [w, b]),
                          step: 1, epoch: 3, seed: 0xDEAD_BEEF_0123_4567, metadata: ["model": "3,2", "data": "unit ü"])
    }

    @Test func roundTripInMemoryAndOnDisk() throws {
        let c = Self.sample()
        #expect(try Checkpoint(decoding: c.encoded(), name: "mem") == c)
        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/run.ckpt"
        try c.write(to: path)
        let back = try Checkpoint(contentsOf: path)
        #expect(back == c)
        #expect(back.parameters[0].values[3] == Double(Float.leastNonzeroMagnitude) && back.parameters[0].values[4].sign == .minus)
        // overwriting replaces the file and leaves no temporary files behind
        var newer = c
        newer.epoch = 4
        try newer.write(to: path)
        #expect(try Checkpoint(contentsOf: path).epoch == 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["run.ckpt"])
    }

    @Test func optimizerStateRestores() throws {
        let c = Self.sample()
        let state = OptimizerState<Float>(optimizer: .adam(learningRate: .constant(0.01)), parameterSizes: [6, 2])
        try c.restore(into: state)
        #expect(state.step == 1)
        #expect(state.slotValues(parameter: 0, slot: 0) == c.optimizerSlots[0].scalars(as: Float.self))
        #expect(state.slotValues(parameter: 0, slot: 1) == c.optimizerSlots[1].scalars(as: Float.self))
        #expect(state.slotValues(parameter: 0, slot: 0)[0] != 0)
        let sgd = OptimizerState<Float>(optimizer: .sgd(learningRate: .constant(0.01)), parameterSizes: [6, 2])
        #expect(throws: CheckpointError.self) { try c.restore(into: sgd) }
    }

    @Test func truncationAtEveryLengthIsAnError() throws {
        let bytes = Self.sample().encoded()
        for length in 0..<bytes.count {
            do {
                _ = try Checkpoint(decoding: Array(bytes[0..<length]), name: "cut")
                Issue.record("a checkpoint cut to \(length) of \(bytes.count) bytes decoded")
            } catch let error as CheckpointError {
                switch error {
                case .truncated: break
                case .notACheckpoint where length == 0: break
                default: Issue.record("cut to \(length): unexpected \(error)")
                }
            }
        }
        #expect(throws: CheckpointError.truncated(file: "cut", expectedBytes: bytes.count, foundBytes: bytes.count - 1)) {
            try Checkpoint(decoding: Array(bytes.dropLast()), name: "cut")
        }
    }

    @Test func flippedBitsAreCaught() throws {
        let bytes = Self.sample().encoded()
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            var damaged = bytes
            let at = rng.nextIndex(below: bytes.count)
            damaged[at] ^= UInt8(1 << rng.nextIndex(below: 8))
            #expect(throws: CheckpointError.self) { try Checkpoint(decoding: damaged, name: "bad") }
        }
        var payloadFlip = bytes
        payloadFlip[40] ^= 0x10
        do {
            _ = try Checkpoint(decoding: payloadFlip, name: "bad")
            Issue.record("corrupt payload decoded")
        } catch let CheckpointError.checksumMismatch(file, stored, computed) {
            #expect(file == "bad" && stored != computed)
        }
        var extra = bytes
        extra.append(0)
        #expect(throws: CheckpointError.self) { try Checkpoint(decoding: extra, name: "long") }
    }

    @Test func wrongMagicAndVersion() throws {
        var bytes = Self.sample().encoded()
        #expect(throws: CheckpointError.notACheckpoint(file: "x")) { try Checkpoint(decoding: Array("hello world, not a checkpoint".utf8), name: "x") }
        bytes[8] = 4   // version 4 (a future format)
        #expect(throws: CheckpointError.unsupportedVersion(file: "v", found: 4, supported: Checkpoint.formatVersion)) {
            try Checkpoint(decoding: bytes, name: "v")
        }
        #expect(throws: CheckpointError.unreadable(file: "/no/such.ckpt", reason: "no such file")) {
            try Checkpoint(contentsOf: "/no/such.ckpt")
        }
    }

    @Test func mismatchedModelsAreRejected() throws {
        let c = Self.sample()
        try c.checkMatches(parameters: [("dense0.weight", [3, 2]), ("dense0.bias", [2])], optimizer: "adam")
        #expect(throws: CheckpointError.mismatch("parameter 'dense0.weight' has shape [3, 2] in the checkpoint, [3, 4] in the model")) {
            try c.checkMatches(parameters: [("dense0.weight", [3, 4]), ("dense0.bias", [2])], optimizer: "adam")
        }
        #expect(throws: CheckpointError.self) {
            try c.checkMatches(parameters: [("dense0.weight", [3, 2])], optimizer: "adam")
        }
        #expect(throws: CheckpointError.self) {
            try c.checkMatches(parameters: [("w", [3, 2]), ("dense0.bias", [2])], optimizer: "adam")
        }
        #expect(throws: CheckpointError.mismatch("optimizer state is for 'adam', the run uses 'sgd'")) {
            try c.checkMatches(parameters: [("dense0.weight", [3, 2]), ("dense0.bias", [2])], optimizer: "sgd")
        }
    }

    /// A writer that died mid-save leaves only its temporary file: the checkpoint still loads as
    /// before, and the next save goes through.
    @Test func crashedSaveLeavesThePreviousCheckpoint() throws {
        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = Self.sample()
        try old.write(to: dir + "/run.ckpt")
        let half = Array(old.encoded().prefix(50))
        #expect(FileManager.default.createFile(atPath: dir + "/.run.ckpt.tmp-1-2", contents: Data(half)))
        #expect(try Checkpoint(contentsOf: dir + "/run.ckpt") == old)
        var newer = old
        newer.step = 99
        try newer.write(to: dir + "/run.ckpt")
        #expect(try Checkpoint(contentsOf: dir + "/run.ckpt").step == 99)
    }

    @Test func failedWriteLeavesTheOldFile() throws {
        let dir = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: CheckpointError.self) { try Self.sample().write(to: dir + "/missing/sub/run.ckpt") }
        // a directory in the way of the rename: the write fails, nothing is left behind
        try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: dir + "/taken/inner", withIntermediateDirectories: false)
        #expect(throws: CheckpointError.self) { try Self.sample().write(to: dir + "/taken") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["taken"])
    }
}

/// Version 1 files (Float arrays without an element-size field) still read.
@Suite struct CheckpointVersion1Tests {
    /// A version 1 file built byte by byte as that format's writer laid it out.
    static func version1Bytes() -> [UInt8] {
        var payload: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { payload.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { payload.append(contentsOf: $0) } }
        func string(_ s: String) { u32(UInt32(s.utf8.count)); payload.append(contentsOf: Array(s.utf8)) }
        u64(2); u64(7); u64(99)                 // epoch, step, seed
        string("sgd")
        u32(1); string("data"); string("digits")
        u32(1)                                   // one parameter
        string("w"); u32(2); u64(1); u64(2)      // shape [1, 2]
        u32(Float(1.5).bitPattern); u32(Float(-0.25).bitPattern)
        u32(0)                                   // no optimizer slots
        var file: [UInt8] = [0x89, 0x47, 0x45, 0x43, 0x4B, 0x50, 0x54, 0x0A]
        withUnsafeBytes(of: UInt32(1).littleEndian) { file.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(0).littleEndian) { file.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { file.append(contentsOf: $0) }
        file += payload
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in file { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        withUnsafeBytes(of: hash.littleEndian) { file.append(contentsOf: $0) }
        return file
    }

    @Test func readsVersion1() throws {
        let c = try Checkpoint(decoding: Self.version1Bytes(), name: "v1")
        #expect(c.epoch == 2 && c.step == 7 && c.seed == 99 && c.optimizer == "sgd" && c.metadata == ["data": "digits"])
        #expect(c.parameters.count == 1 && c.parameters[0].shape == [1, 2] && c.parameters[0].values == [1.5, -0.25])
        #expect(c.parameters[0].scalarBytes == 4 && c.optimizerSlots.isEmpty)
        // Written again, it is a version 3 file that reads back equal.
        let again = c.encoded()
        #expect(again[8] == 3)
        #expect(try Checkpoint(decoding: again, name: "v3") == c)
    }
}
