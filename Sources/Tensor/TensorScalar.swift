import Kernels

/// The element types tensors, graphs and plans work with: `Float` (the fast path) and `Double`
/// (gradient checks, where accuracy matters more than speed). The kernels' `KernelFloat` types.
public protocol TensorScalar: KernelFloat, Codable, CustomStringConvertible {}

extension Float: TensorScalar {}
extension Double: TensorScalar {}
