/// JSON string literals for the project's writers (profiles, graph files, `bench --json`): one
/// escaping routine, so every file the engine writes quotes names the same way.
///
///     JSONString.quoted("worker \"1\"\n")   // "\"worker \\\"1\\\"\\n\""
public enum JSONString {
    /// `s` as a JSON string literal, quotes included (RFC 8259 escapes; other text kept as is).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
