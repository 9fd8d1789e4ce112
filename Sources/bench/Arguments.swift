/// A parsed command line: `--name value` options, `--flag` switches and positional words.
///
/// ```swift
/// var args = try Arguments(["--size", "1024", "--json"], flags: ["json"])
/// let n = try args.int("size", default: 512)   // 1024
/// let json = args.flag("json")                 // true
/// try args.finish()                            // throws on anything left unread
/// ```
struct Arguments {
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    private var read: Set<String> = []
    private(set) var positional: [String] = []

    /// Splits `words`; names in `flags` take no value, every other `--name` takes the next word.
    init(_ words: [String], flags: Set<String>) throws {
        var i = 0
        while i < words.count {
            let word = words[i]
            if word.hasPrefix("--") {
                var name = String(word.dropFirst(2))
                var inlineValue: String? = nil
                if let eq = name.firstIndex(of: "=") {
                    inlineValue = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if flags.contains(name) {
                    guard inlineValue == nil else { throw ArgumentError("--\(name) takes no value") }
                    switches.insert(name)
                } else if let v = inlineValue {
                    values[name] = v
                } else {
                    guard i + 1 < words.count else { throw ArgumentError("--\(name) needs a value") }
                    values[name] = words[i + 1]
                    i += 1
                }
            } else {
                positional.append(word)
            }
            i += 1
        }
    }

    mutating func flag(_ name: String) -> Bool {
        read.insert(name)
        return switches.contains(name)
    }

    mutating func string(_ name: String) -> String? {
        read.insert(name)
        return values[name]
    }

    mutating func string(_ name: String, default value: String) -> String {
        string(name) ?? value
    }

    mutating func int(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let v = Int(text) else { throw ArgumentError("--\(name) expects an integer, got '\(text)'") }
        return v
    }

    mutating func int(_ name: String, default value: Int) throws -> Int {
        try int(name) ?? value
    }

    mutating func double(_ name: String, default value: Double) throws -> Double {
        guard let text = string(name) else { return value }
        guard let v = Double(text) else { throw ArgumentError("--\(name) expects a number, got '\(text)'") }
        return v
    }

    /// Throws if an option was given that the command never asked for (a typo, usually), or a word
    /// that belongs to no option (`--epochs 1 2`) where the command takes none.
    func finish(positionalAllowed: Bool = false) throws {
        let unknown = Set(values.keys).union(switches).subtracting(read)
        if let name = unknown.sorted().first { throw ArgumentError("unknown option --\(name)") }
        if !positionalAllowed, let word = positional.first {
            throw ArgumentError("unexpected word '\(word)': every option takes at most one value (--name value)")
        }
    }
}

/// A command-line mistake, printed as `bench: <message>` with exit status 2.
struct ArgumentError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
