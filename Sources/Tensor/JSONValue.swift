/// A parsed JSON value with the line and column where it starts, for graph files: numbers are parsed
/// with `Double(String)` (correctly rounded, so values written by `Graph.jsonData` read back
/// bitwise), and errors can say where in the file they are.
indirect enum JSONValue {
    case null, bool(Bool), number(Double), string(String)
    case array([Positioned])
    case object([(String, Positioned)])

    struct Positioned {
        let value: JSONValue
        let line: Int
        let column: Int
    }

    /// Parses `text`; nesting is bounded (64 levels) so a hostile file cannot exhaust the stack.
    static func parse(_ text: String) throws -> Positioned {
        var p = Parser(bytes: Array(text.utf8))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        if p.i < p.bytes.count { throw p.error("unexpected text after the JSON value") }
        return v
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0, line = 1, lineStart = 0

        func error(_ message: String) -> GraphFileError {
            GraphFileError(place: "line \(line), column \(i - lineStart + 1)", message: message)
        }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\n"): i += 1; line += 1; lineStart = i
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): i += 1
                default: return
                }
            }
        }

        mutating func expect(_ c: UInt8) throws {
            skipSpace()
            guard i < bytes.count, bytes[i] == c else { throw error("expected '\(Character(UnicodeScalar(c)))'") }
            i += 1
        }

        mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw error("invalid value") }
            i += w.count
            return v
        }

        mutating func value(depth: Int) throws -> Positioned {
            skipSpace()
            guard depth < 64 else { throw error("nested too deeply") }
            guard i < bytes.count else { throw error("unexpected end of file") }
            let (l, c) = (line, i - lineStart + 1)
            let v: JSONValue
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var fields: [(String, Positioned)] = []
                skipSpace()
                if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1 } else {
                    while true {
                        skipSpace()
                        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key string") }
                        let key = try string()
                        try expect(UInt8(ascii: ":"))
                        fields.append((key, try value(depth: depth + 1)))
                        skipSpace()
                        guard i < bytes.count else { throw error("unexpected end of file in an object") }
                        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                        if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                        throw error("expected ',' or '}'")
                    }
                }
                v = .object(fields)
            case UInt8(ascii: "["):
                i += 1
                var items: [Positioned] = []
                skipSpace()
                if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1 } else {
                    while true {
                        items.append(try value(depth: depth + 1))
                        skipSpace()
                        guard i < bytes.count else { throw error("unexpected end of file in an array") }
                        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                        if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                        throw error("expected ',' or ']'")
                    }
                }
                v = .array(items)
            case UInt8(ascii: "\""): v = .string(try string())
            case UInt8(ascii: "t"): v = try literal("true", .bool(true))
            case UInt8(ascii: "f"): v = try literal("false", .bool(false))
            case UInt8(ascii: "n"): v = try literal("null", .null)
            default:
                let start = i
                while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
                guard i > start, let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else {
                    i = start
                    throw error("invalid value")
                }
                v = .number(d)
            }
            return Positioned(value: v, line: l, column: c)
        }

        mutating func string() throws -> String {
            i += 1   // opening quote
            var out: [UInt8] = []
            while i < bytes.count {
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                if b == UInt8(ascii: "\\") {
                    guard i < bytes.count else { break }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16),
                              let scalar = UnicodeScalar(code) else { throw error("bad \\u escape") }
                        i += 4
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: out.append(e)
                    }
                } else {
                    out.append(b)
                }
            }
            throw error("unterminated string")
        }
    }
}
