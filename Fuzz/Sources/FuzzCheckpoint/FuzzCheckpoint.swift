// libFuzzer target: the checkpoint reader, `Checkpoint(decoding:name:)`.
//
// A checkpoint carries its payload length and an FNV-1a checksum, which random mutations almost
// never get right; so when the reserved header field (bytes 12..<16) is zero, the harness first
// sets the length to fit the input and the checksum to match, and the parser behind them is what
// gets fuzzed. Any other input goes in as it is (the header checks). A checkpoint that decodes is
// encoded, and must decode and encode again to the same bytes.
import Training

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if bytes.count >= 32, bytes[12..<16].allSatisfy({ $0 == 0 }) {
        let payload = UInt64(bytes.count - 32)
        for k in 0..<8 { bytes[16 + k] = UInt8(truncatingIfNeeded: payload >> (8 * k)) }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes[0..<(bytes.count - 8)] { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        for k in 0..<8 { bytes[bytes.count - 8 + k] = UInt8(truncatingIfNeeded: hash >> (8 * k)) }
    }
    guard let checkpoint = try? Checkpoint(decoding: bytes, name: "fuzz.ckpt") else { return 0 }
    let encoded = checkpoint.encoded()
    guard let again = try? Checkpoint(decoding: encoded, name: "encoded.ckpt") else {
        fatalError("an encoded checkpoint does not decode")
    }
    guard again.encoded() == encoded else { fatalError("decoding and encoding a checkpoint changes it") }
    return 0
}
