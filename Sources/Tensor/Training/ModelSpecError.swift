/// A model description that cannot be built (bad widths, widths that do not fit the data).
public struct ModelSpecError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
