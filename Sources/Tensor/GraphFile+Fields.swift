/// Typed access to the members of one JSON object of a graph file, with errors that name the place:
/// the file, the line and column, the node (`nodes[4] (id "h")`) and the field.
struct GraphFileFields {
    let object: JSONValue
    /// The node or section this object is, e.g. `nodes[4] (id "h")`; empty for the document itself.
    let place: String
    /// Prefix of field names in messages (`attributes.` for an op's attributes).
    let prefix: String
    let file: String?

    init(_ object: JSONValue, place: String, prefix: String = "", file: String?) throws(GraphFileError) {
        self.object = object
        self.place = place
        self.prefix = prefix
        self.file = file
        guard case .object = object.kind else {
            throw error(nil, "expected an object, found \(object.typeName)")
        }
    }

    /// An error at `field` (at the field's value when present, else at the object).
    func error(_ field: String?, _ message: String, at value: JSONValue? = nil) -> GraphFileError {
        let v = value ?? field.flatMap { object[$0] } ?? object
        var location = place
        if let field { location += (location.isEmpty ? "" : ", ") + "field \"\(prefix)\(field)\"" }
        return GraphFileError(file: file, line: v.line, column: v.column, place: location, message: message)
    }

    /// Rejects members not in `allowed` (usually a typo: `"axis"` for `"axes"`).
    func allow(_ allowed: [String]) throws(GraphFileError) {
        guard case let .object(members) = object.kind else { return }
        for (key, value) in members where !allowed.contains(key) {
            let expected = allowed.isEmpty ? "none" : allowed.joined(separator: ", ")
            throw GraphFileError(file: file, line: value.line, column: value.column, place: place,
                                 message: "unknown field \"\(prefix)\(key)\" (expected: \(expected))")
        }
    }

    func required(_ key: String) throws(GraphFileError) -> JSONValue {
        guard let v = object[key] else { throw error(nil, "missing field \"\(prefix)\(key)\"") }
        return v
    }

    func string(_ key: String) throws(GraphFileError) -> String? {
        guard let v = object[key] else { return nil }
        guard case let .string(s) = v.kind else { throw error(key, "expected a string, found \(v.typeName)") }
        return s
    }

    func bool(_ key: String) throws(GraphFileError) -> Bool? {
        guard let v = object[key] else { return nil }
        guard case let .bool(b) = v.kind else { throw error(key, "expected true or false, found \(v.typeName)") }
        return b
    }

    func int(_ key: String) throws(GraphFileError) -> Int? {
        guard let v = object[key] else { return nil }
        return try int(v, key)
    }

    func double(_ key: String) throws(GraphFileError) -> Double? {
        guard let v = object[key] else { return nil }
        guard case let .number(text) = v.kind, let d = Double(text), d.isFinite else {
            throw error(key, "expected a finite number, found \(v.typeName)")
        }
        return d
    }

    func ints(_ key: String) throws(GraphFileError) -> [Int]? {
        guard let v = object[key] else { return nil }
        guard case let .array(items) = v.kind else { throw error(key, "expected an array of integers, found \(v.typeName)") }
        var out: [Int] = []
        for item in items { out.append(try int(item, key)) }
        return out
    }

    /// A shape: non-negative dimensions whose product fits comfortably in memory.
    func shape(_ key: String) throws(GraphFileError) -> [Int]? {
        guard let dims = try ints(key) else { return nil }
        if let bad = dims.first(where: { $0 < 0 }) { throw error(key, "dimension \(bad) is negative") }
        var count = 1
        for d in dims {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= GraphFileFields.maxElements else {
                throw error(key, "shape \(dims) has more than \(GraphFileFields.maxElements) elements")
            }
            count = p
        }
        return dims
    }

    /// Largest element count a graph file may declare for one node (16 Gi elements).
    static let maxElements = 1 << 34

    private func int(_ v: JSONValue, _ key: String) throws(GraphFileError) -> Int {
        guard case let .number(text) = v.kind else { throw error(key, "expected an integer, found \(v.typeName)", at: v) }
        guard let i = Int(text) else { throw error(key, "expected an integer, found \(text)", at: v) }
        return i
    }
}
