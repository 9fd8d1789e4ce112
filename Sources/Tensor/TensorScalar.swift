/// The element types tensors, graphs and plans work with: `Float` (the fast path) and `Double`
/// (gradient checks, where accuracy matters more than speed).
public protocol TensorScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible {}

extension Float: TensorScalar {}
extension Double: TensorScalar {}
