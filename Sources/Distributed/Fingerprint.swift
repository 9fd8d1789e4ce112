import Training

/// A 64-bit fingerprint of bit patterns (FNV-1a over 64-bit words): equal values give equal
/// fingerprints on every rank, so comparing fingerprints tells whether replicas (or their data)
/// are bitwise equal without moving the values.
///
/// ```swift
/// var f = Fingerprint()
/// f.add([1.0, 2.0] as [Double])
/// f.add(42)
/// print(f.value)
/// ```
public struct Fingerprint: Sendable, Equatable {
    /// The fingerprint so far.
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    /// Mixes in one 64-bit word.
    @inline(__always)
    public mutating func add(word: UInt64) {
        value = (value ^ word) &* 0x0000_0100_0000_01B3
    }

    /// Mixes in an integer.
    public mutating func add(_ n: Int) { add(word: UInt64(bitPattern: Int64(n))) }

    /// Mixes in the bit patterns of `values` (and their count).
    public mutating func add<T: BitwiseCopyable>(_ values: UnsafeBufferPointer<T>) {
        add(values.count)
        let raw = UnsafeRawBufferPointer(values)
        var h = value
        let words = raw.count / 8
        for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3 }
        for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x0000_0100_0000_01B3 }
        value = h
    }

    /// Mixes in the bit patterns of `values` (and their count).
    public mutating func add<T: BitwiseCopyable>(_ values: [T]) {
        values.withUnsafeBufferPointer { add($0) }
    }
}

extension Dataset {
    /// A fingerprint of the rows (features and targets), the shape and the task: ranks that
    /// loaded or split their data differently have different fingerprints.
    public var fingerprint: UInt64 {
        var f = Fingerprint()
        f.add(featureCount)
        f.add(targetCount)
        f.add(classCount)
        f.add(task.isClassification ? 1 : 0)
        f.add(features)
        f.add(targets)
        return f.value
    }
}
