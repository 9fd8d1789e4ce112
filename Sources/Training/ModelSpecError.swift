import Tensor
/// A model description that cannot be built (bad widths, widths that do not fit the data).
public struct ModelSpecError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, naming the widths or sizes involved.
    public let description: String
    /// An error with this message.
    public init(_ description: String) { self.description = description }
}
