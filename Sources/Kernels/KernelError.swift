/// A kernel was called with arguments that do not describe valid memory: it names the kernel and
/// the offending sizes, so the caller (usually the Tensor layer) can report where it came from.
///
/// ```swift
/// do { try GEMM.multiply(m: 2, n: 2, k: 3, a: a, lda: 2, b: b, ldb: 2, c: c, ldc: 2) }
/// catch let e as KernelError { print(e) }   // "gemm: lda 2 < 3 (columns of A)"
/// ```
public struct KernelError: Error, CustomStringConvertible, Equatable {
    /// The kernel that refused its arguments (`gemm`, `binary`, `reduce`, ...).
    public let kernel: String
    /// What was wrong, with the sizes involved.
    public let message: String

    public init(_ kernel: String, _ message: String) {
        self.kernel = kernel
        self.message = message
    }

    public var description: String { "\(kernel): \(message)" }
}
