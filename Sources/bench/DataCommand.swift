import Foundation
import Training

/// `bench data`: reads a CSV table and prints what is in it: per-column statistics, missing cells,
/// constant and duplicate columns, the label's classes or spread, and the correlations with it.
///
/// ```
/// bench data iris                               # the bundled Data/iris.csv, label in the last column
/// bench data my.csv --label-column 0 --report out   # also writes out/data.html
/// bench data my.tsv --separator tab --header present --json
/// ```
enum DataCommand {
    static let usage = """
        usage: bench data PATH.csv|digits|iris|diabetes|breast-cancer [--label-column I | --label-columns I,J] [--header present|absent|auto]
                          [--separator ,] [--json] [--report DIR]

        Reads the table (numeric and text columns; empty, NA, N/A, NaN, nan, null and ? cells are missing) and
        prints column statistics, constant and duplicate columns, the label's class balance (text labels, or up
        to 20 distinct integers) or its spread, and each numeric feature's Pearson correlation with a numeric label.
        The label is the last column unless --label-column(s) say otherwise (counted from 0). digits, iris,
        diabetes and breast-cancer mean the files the repository carries in Data/ (see Data/README.md). --header auto: the first
        line is a header when none of its fields is a number. --separator takes one character, or "tab".
        --report DIR writes DIR/data.html (charts included). --json prints one JSON object as the last line.
        """

    static func run(_ words: [String]) throws {
        if words.contains("--help") || words.contains("-h") { print(usage); return }
        var args = try Arguments(words, flags: ["json"])
        let single = try args.int("label-column")
        let list = args.string("label-columns")
        let headerWord = args.string("header")
        let separatorWord = args.string("separator", default: ",")
        let json = args.flag("json")
        let report = args.string("report")
        try args.finish(positionalAllowed: true)

        guard args.positional.count == 1, let data = args.positional.first else {
            throw ArgumentError(args.positional.isEmpty ? "a CSV file (or digits, iris) is required\n\n\(usage)"
                                : "one CSV file expected, got \(args.positional.count): \(args.positional.joined(separator: " "))")
        }
        guard single == nil || list == nil else {
            throw ArgumentError("--label-column and --label-columns contradict each other; give one")
        }
        var requested: [Int]? = single.map { [$0] }
        if let list {
            requested = try list.split(separator: ",", omittingEmptySubsequences: false).map { word in
                guard let i = Int(word.trimmingCharacters(in: .whitespaces)) else {
                    throw ArgumentError("--label-columns expects column indices like 0,3, got '\(list)'")
                }
                return i
            }
        }
        if let bad = requested?.first(where: { $0 < 0 }) {
            throw ArgumentError("--label-column\(list == nil ? "" : "s") counts from 0, got \(bad)")
        }
        if let r = requested, Set(r).count != r.count {
            throw ArgumentError("--label-columns names a column twice: \(list!)")
        }

        var (path, header) = try TrainCommand.PreparedData.resolve(data)
        switch headerWord {
        case nil: break
        case "present": header = .present
        case "absent": header = .absent
        case "auto", "automatic": header = .automatic
        case let word?: throw ArgumentError("--header expects present, absent or auto, got '\(word)'")
        }
        let separator: Character
        switch separatorWord {
        case "tab", "\\t": separator = "\t"
        default:
            guard separatorWord.count == 1, let c = separatorWord.first, c.isASCII, c != "\"", !c.isNewline else {
                throw ArgumentError("--separator expects one ASCII character (not a quote) or 'tab', got '\(separatorWord)'")
            }
            separator = c
        }

        let table = try TrainCommand.PreparedData.readTable(data, path: path, options: DataTable.ReadOptions(header: header, separator: separator))
        let labels = requested ?? [table.columns.count - 1]
        if let bad = labels.first(where: { $0 >= table.columns.count }) {
            throw DatasetError.labelColumnOutOfRange(file: path, labelColumn: bad, columns: table.columns.count)
        }
        let summary = DataSummary(table: table, labelColumns: labels)
        print(summary.text(), terminator: "")
        if let report {
            let file = report.hasSuffix("/") ? report + "data.html" : report + "/data.html"
            try summary.writeHTML(to: file, title: "bench data: \(data)")
            print("\nreport: \(file)")
        }
        if json { print(summary.json()) }
    }
}
