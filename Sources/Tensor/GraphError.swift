/// Where in the user's source a graph node was built (`#fileID` and `#line` of the building call).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// `#fileID` as given (kept as a `StaticString` so building a node allocates no string).
    private let staticFile: StaticString?
    private let dynamicFile: String?
    public let line: Int

    /// A location read from elsewhere (a graph file, another language).
    public init(fileID: String, line: Int) {
        staticFile = nil
        dynamicFile = fileID
        self.line = line
    }

    public init(_ fileID: StaticString, _ line: UInt) {
        staticFile = fileID
        dynamicFile = nil
        self.line = Int(line)
    }

    /// The `#fileID` (module/file) of the building call.
    public var fileID: String { staticFile.map { "\($0)" } ?? dynamicFile ?? "?" }

    public var description: String { "\(fileID):\(line)" }

    public static func == (a: SourceLocation, b: SourceLocation) -> Bool { a.line == b.line && a.fileID == b.fileID }
    public func hash(into h: inout Hasher) { h.combine(line); h.combine(fileID) }
}

/// A graph was built or run with something that cannot work: mismatched shapes, a wrong rank, a bad
/// feed, a node from another graph, a missing gradient rule. It names the operation, the input shapes
/// and the source line that built the node, so the caller can fix the model, not the engine.
///
/// ```swift
/// do { _ = try x.matmul(w) }          // x: [64, 784], w: [100, 10]
/// catch let e as GraphError { print(e) }
/// // matmul([64, 784], [100, 10]) at Model.swift:12: inner dimensions differ: 784 vs 100
/// ```
public struct GraphError: Error, CustomStringConvertible, Sendable {
    /// The operation (or API: "feed", "gradients", "plan") that failed.
    public let operation: String
    /// The shapes of its inputs, in argument order.
    public let shapes: [[Int]]
    /// The source line that built the offending node, when one is known.
    public let location: SourceLocation?
    /// What is wrong.
    public let message: String

    public init(operation: String, shapes: [[Int]], location: SourceLocation? = nil, message: String) {
        self.operation = operation
        self.shapes = shapes
        self.location = location
        self.message = message
    }

    public var description: String {
        let args = shapes.map { "\($0)" }.joined(separator: ", ")
        let place = location.map { " at \($0)" } ?? ""
        return "\(operation)(\(args))\(place): \(message)"
    }
}
