import Foundation
import Scheduler

/// One JSON object printed as the last line of stdout, for scripts (`--json`).
///
/// Keys keep the order they were added in, so the line reads the same every run.
struct JSONLine {
    private var fields: [(String, String)] = []

    mutating func add(_ key: String, _ value: String) { fields.append((key, JSONLine.quote(value))) }
    mutating func add(_ key: String, _ value: Int) { fields.append((key, String(value))) }
    mutating func add(_ key: String, _ value: Bool) { fields.append((key, value ? "true" : "false")) }
    mutating func add(_ key: String, _ value: Double) {
        fields.append((key, value.isFinite ? String(value) : "null"))
    }
    /// Adds an already-encoded JSON value (an array or nested object).
    mutating func addRaw(_ key: String, _ json: String) { fields.append((key, json)) }

    var text: String { "{" + fields.map { "\(JSONLine.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}" }

    static func quote(_ s: String) -> String { JSONString.quoted(s) }
}
