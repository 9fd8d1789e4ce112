import CKernels
import Foundation

/// The instruction-set level the kernels' inner loops run at, chosen once per process.
///
/// The innermost loops (GEMM micro-kernels, `exp`/`log`/`tanh`/`sigmoid`/`gelu`/`sqrt` maps,
/// the fused multiply-add loops of the optimizer steps) are compiled once per level in the C
/// target `CKernels`; at start-up the best level the CPU and its OS support is taken (cpuid and
/// XGETBV, as OpenBLAS's dynamic-arch builds and NumPy's dispatch do), so one binary runs on any
/// x86-64 CPU and uses AVX-512 where there is one.
///
/// The environment variable `GRAPH_ENGINE_KERNELS=baseline|avx2|avx512` (or `auto`) forces a
/// level, for tests and comparisons. An unknown name, or a level this CPU cannot run, is not
/// fatal: a one-line message on stderr says so, and the best supported level is used instead.
///
/// Within one level every kernel is deterministic (same bits for the same inputs, whatever the
/// thread count); levels may differ in the last bits (the baseline has no fused multiply-add on
/// x86-64, and the GEMM tiles and blockings differ).
///
/// ```swift
/// print(KernelLevel.current)                  // "avx512" on a Zen 4 or Sapphire Rapids CPU
/// KernelLevel.supported                       // [.baseline, .avx2, .avx512]
/// try GEMM.multiply(m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: c, ldc: 2, level: .baseline)
/// ```
public enum KernelLevel: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Portable vectors: SSE2 on x86-64 (multiply-adds are a multiply and an add), NEON on aarch64.
    case baseline = 0
    /// x86-64 AVX2 with FMA (x86-64-v3): 256-bit vectors, 16 registers.
    case avx2 = 1
    /// x86-64 AVX-512 F/DQ/BW/VL (x86-64-v4): 512-bit vectors, 32 registers.
    case avx512 = 2

    /// The name `GRAPH_ENGINE_KERNELS` takes: `baseline`, `avx2`, `avx512`.
    public var description: String {
        switch self {
        case .baseline: "baseline"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    /// The level named `name` (as `description` spells it), or nil.
    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = level
    }

    /// Whether this CPU (and its OS) can run the level, and this build has it.
    public var isSupported: Bool { ck_table_for(Int32(rawValue)) != nil }

    /// Whether this level's multiply-adds are fused (one rounding): true for AVX2 and AVX-512,
    /// and for the baseline on aarch64; false for the x86-64 baseline (SSE2 has no FMA), whose
    /// multiply-adds are a multiply and an add. False for a level this build lacks (AVX2 on aarch64).
    public var fusesMultiplyAdd: Bool { builtTable?.pointee.fused_multiply_add == 1 }

    /// The levels this CPU can run, lowest first (always includes `.baseline`).
    public static var supported: [KernelLevel] { allCases.filter(\.isSupported) }

    /// The best level this CPU and its OS support.
    public static var best: KernelLevel { KernelLevel(rawValue: Int(ck_best_level())) ?? .baseline }

    /// The level in use: `GRAPH_ENGINE_KERNELS` when it names a supported level, else `best`.
    /// Read once, on first use.
    public static let current: KernelLevel = {
        let value = ProcessInfo.processInfo.environment[environmentVariable]
        let (level, message) = choose(request: value)
        if let message { FileHandle.standardError.write(Data((message + "\n").utf8)) }
        return level
    }()

    /// The environment variable that forces a level.
    public static let environmentVariable = "GRAPH_ENGINE_KERNELS"

    /// The level a `GRAPH_ENGINE_KERNELS` value selects, and the warning to print when the value
    /// cannot be honoured: nil, empty or `auto` give `best`; an unknown name or an unsupported
    /// level give `best` with a message naming the value and the level used instead.
    public static func choose(request: String?) -> (level: KernelLevel, message: String?) {
        let best = Self.best
        guard let request, !request.isEmpty, request != "auto" else { return (best, nil) }
        guard let level = KernelLevel(name: request) else {
            let names = (allCases.map(\.description) + ["auto"]).joined(separator: ", ")
            return (best, "\(environmentVariable)=\(request) is not one of \(names); using \(best)")
        }
        guard level.isSupported else {
            return (best, "\(environmentVariable)=\(request): this CPU (or its OS) does not support \(request); using \(best)")
        }
        return (level, nil)
    }

    /// This level's C function table, which this CPU can run (callers check `isSupported`).
    var table: UnsafePointer<ck_table> {
        guard let table = ck_table_for(Int32(rawValue)) else {
            preconditionFailure("kernel level \(self) is not supported on this CPU (check isSupported first)")
        }
        return table
    }

    /// This level's C function table if this build has the level, whether or not the CPU can run
    /// it: for describing the level (tile sizes, FMA), never for calling its functions.
    var builtTable: UnsafePointer<ck_table>? { ck_table_built(Int32(rawValue)) }
}

/// The function table of `KernelLevel.current`, looked up once. `nonisolated(unsafe)`: the table
/// is a C constant (`const ck_table`), never written, so sharing its address is safe.
nonisolated(unsafe) let currentKernels: UnsafePointer<ck_table> = KernelLevel.current.table
