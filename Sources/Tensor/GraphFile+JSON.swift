import Scheduler
/// A small JSON reader for graph files: every value remembers its line and column so that errors
/// can point into the file, and numbers keep their text so that `Float` values are parsed straight
/// from the decimal (parsing through `Double` first could round twice and break bitwise round trips).
struct JSONValue {
    indirect enum Kind {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case array([JSONValue])
        /// Members in file order (duplicate keys are rejected while parsing).
        case object([(key: String, value: JSONValue)])
    }

    var kind: Kind
    /// 1-based line and column of the value's first character.
    var line: Int
    var column: Int

    /// What the value is, for "expected X, found Y" messages.
    var typeName: String {
        switch kind {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    subscript(key: String) -> JSONValue? {
        guard case let .object(members) = kind else { return nil }
        return members.first { $0.key == key }?.value
    }
}

/// A syntax error with its line and column.
struct JSONSyntaxError: Error {
    let line: Int
    let column: Int
    let message: String
}

/// Recursive descent over UTF-8 bytes. Nesting is capped (`maxDepth`) so a hostile file cannot
/// overflow the stack; graph files nest three or four levels.
struct JSONParser {
    static let maxDepth = 256

    private let bytes: [UInt8]
    private var at = 0
    private var line = 1
    private var lineStart = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Parses one JSON document (surrounding whitespace allowed, nothing else).
    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var p = JSONParser(bytes)
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        if p.at < bytes.count { throw p.error("unexpected \(p.describeNext()) after the end of the document") }
        return value
    }

    private var column: Int { at - lineStart + 1 }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(line: line, column: column, message: message)
    }

    private func describeNext() -> String {
        guard at < bytes.count else { return "end of file" }
        let b = bytes[at]
        return b >= 0x20 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipSpace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x09, 0x0D: at += 1
            case 0x0A: at += 1; line += 1; lineStart = at
            default: return
            }
        }
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        let (l, c) = (line, column)
        guard at < bytes.count else { throw error("expected a value, found end of file") }
        let kind: JSONValue.Kind
        switch bytes[at] {
        case UInt8(ascii: "{"): kind = try object(depth: depth)
        case UInt8(ascii: "["): kind = try array(depth: depth)
        case UInt8(ascii: "\""): kind = .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): kind = .number(try number())
        case UInt8(ascii: "t"): try literal("true"); kind = .bool(true)
        case UInt8(ascii: "f"): try literal("false"); kind = .bool(false)
        case UInt8(ascii: "n"): try literal("null"); kind = .null
        default: throw error("expected a value, found \(describeNext())")
        }
        return JSONValue(kind: kind, line: l, column: c)
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let w = Array(word.utf8)
        guard at + w.count <= bytes.count, Array(bytes[at..<(at + w.count)]) == w else {
            throw error("expected a value, found \(describeNext())")
        }
        at += w.count
    }

    private mutating func expect(_ byte: Character) throws(JSONSyntaxError) {
        guard at < bytes.count, bytes[at] == byte.asciiValue! else { throw error("expected '\(byte)', found \(describeNext())") }
        at += 1
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue.Kind {
        at += 1
        var members: [(key: String, value: JSONValue)] = []
        var keys = Set<String>()
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
        while true {
            skipSpace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else {
                throw error("expected a member name in quotes, found \(describeNext())")
            }
            let (l, c) = (line, column)
            let key = try string()
            guard keys.insert(key).inserted else {
                throw JSONSyntaxError(line: l, column: c, message: "duplicate member \"\(key)\"")
            }
            skipSpace()
            try expect(":")
            skipSpace()
            members.append((key, try value(depth: depth + 1)))
            skipSpace()
            guard at < bytes.count else { throw error("expected ',' or '}', found end of file") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
            throw error("expected ',' or '}', found \(describeNext())")
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue.Kind {
        at += 1
        var items: [JSONValue] = []
        skipSpace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard at < bytes.count else { throw error("expected ',' or ']', found end of file") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            throw error("expected ',' or ']', found \(describeNext())")
        }
    }

    private mutating func number() throws(JSONSyntaxError) -> String {
        let start = at
        func digits(_ p: inout JSONParser) -> Int {
            let s = p.at
            while p.at < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.at]) { p.at += 1 }
            return p.at - s
        }
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        let intStart = at
        let n = digits(&self)
        guard n > 0 else { throw error("expected a digit, found \(describeNext())") }
        if n > 1 && bytes[intStart] == UInt8(ascii: "0") {
            throw JSONSyntaxError(line: line, column: intStart - lineStart + 1, message: "a number cannot start with 0")
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits(&self) > 0 else { throw error("expected a digit after '.', found \(describeNext())") }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits(&self) > 0 else { throw error("expected a digit in the exponent, found \(describeNext())") }
        }
        return String(decoding: bytes[start..<at], as: UTF8.self)
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        at += 1
        var out: [UInt8] = []
        while true {
            guard at < bytes.count else { throw error("unterminated string") }
            let b = bytes[at]
            if b == UInt8(ascii: "\"") { at += 1; break }
            if b < 0x20 { throw error("control character in a string (escape it)") }
            if b != UInt8(ascii: "\\") { out.append(b); at += 1; continue }
            at += 1
            guard at < bytes.count else { throw error("unterminated string") }
            let e = bytes[at]
            at += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), at + 1 < bytes.count,
                   bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") {
                    at += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                at -= 1
                throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard at + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16) else {
            throw error("expected four hex digits after \\u")
        }
        at += 4
        return v
    }
}

/// Writing JSON text.
enum JSONText {
    /// `s` as a JSON string literal.
    static func quote(_ s: String) -> String { JSONString.quoted(s) }

    /// A scalar as the shortest decimal that reads back to the same value; non-finite values, which
    /// JSON numbers cannot hold, as the strings "nan", "inf" and "-inf".
    static func number<S: TensorScalar>(_ x: S) -> String {
        if x.isNaN { return "\"nan\"" }
        if x.isInfinite { return x < 0 ? "\"-inf\"" : "\"inf\"" }
        return x.description
    }

    static func ints(_ xs: [Int]) -> String { "[" + xs.map(String.init).joined(separator: ", ") + "]" }
}
