import Foundation
import Testing
import Training

/// `DataSummary` figures on a small table, checked against values worked out by hand.
@Suite struct DataSummaryTests {
    /// Six rows: an id 1...6, a numeric x with a missing cell, a text column with a missing cell
    /// (`?`), a constant, a copy of x, and an integer label with classes 0 (2 rows), 1 (3), 2 (1).
    static let csv = """
        id,x,name,const,x copy,label
        1,1,a,5,1,0
        2,4,b,5,4,1
        3,NA,a,5,NA,0
        4,9,<c>,5,9,1
        5,16,a,5,16,1
        6,25,?,5,25,2
        """

    static func table(_ text: String = csv) throws -> DataTable {
        try DataTable(csvText: Array(text.utf8), name: "small.csv")
    }

    static func close(_ a: Double?, _ b: Double, tolerance: Double = 1e-12) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance * max(1, abs(b))
    }

    @Test func numericColumnFigures() throws {
        let s = DataSummary(table: try Self.table(), labelColumns: [5])
        #expect(s.rows == 6 && s.columns.count == 6 && s.name == "small.csv")

        // id = 1...6: mean 3.5; squared deviations 2 (2.5² + 1.5² + 0.5²) = 17.5, variance 17.5 / 5 = 3.5;
        // quartiles at positions 0.25·5 = 1.25 → 2.25, 2.5 → 3.5, 3.75 → 4.75.
        let id = s.columns[0]
        #expect(id.kind == .numeric && id.count == 6 && id.missing == 0 && id.distinct == 6)
        let st = try #require(id.statistics)
        #expect(st.mean == 3.5 && Self.close(st.standardDeviation, 3.5.squareRoot()))
        #expect(st.min == 1 && st.q25 == 2.25 && st.median == 3.5 && st.q75 == 4.75 && st.max == 6)
        // integers 1...6: one bin per integer
        #expect(id.histogram?.edges == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
        #expect(id.histogram?.counts == [1, 1, 1, 1, 1, 1] && id.histogram?.integerBins == true)

        // x = 1, 4, 9, 16, 25 (one missing): mean 11; deviations -10, -7, -2, 5, 14 → 374 / 4 = 93.5;
        // quartiles at positions 1, 2, 3 → 4, 9, 16.
        let x = s.columns[1]
        #expect(x.count == 5 && x.missing == 1 && x.distinct == 5)
        let xs = try #require(x.statistics)
        #expect(xs.mean == 11 && Self.close(xs.standardDeviation, 93.5.squareRoot()))
        #expect(xs.min == 1 && xs.q25 == 4 && xs.median == 9 && xs.q75 == 16 && xs.max == 25)
        // range 24 > 20 integers: 20 bins of 1.2 from 1; 4 → bin 2 (2.5), 9 → 6 (6.67), 16 → 12 (12.5), 25 → last
        let h = try #require(x.histogram)
        #expect(h.edges.count == 21 && h.edges.first == 1 && Self.close(h.edges.last, 25) && !h.integerBins)
        #expect(h.counts.indices.filter { h.counts[$0] > 0 } == [0, 2, 6, 12, 19] && h.counts.reduce(0, +) == 5)

        // the constant: std 0, a single bin holding all six
        let constant = try #require(s.columns[3].statistics)
        #expect(constant.mean == 5 && constant.standardDeviation == 0 && s.columns[3].histogram?.counts == [6])
    }

    @Test func textColumnFigures() throws {
        let s = DataSummary(table: try Self.table(), labelColumns: [5])
        let name = s.columns[2]
        #expect(name.kind == .text && name.count == 5 && name.missing == 1 && name.distinct == 3)
        #expect(name.statistics == nil && name.histogram == nil)
        // most frequent first, ties by value ("<c>" sorts before "b")
        #expect(name.valueCounts == [.init(value: "a", count: 3), .init(value: "<c>", count: 1), .init(value: "b", count: 1)])
        #expect(Array(name.topValues) == name.valueCounts)
    }

    @Test func constantAndDuplicateColumns() throws {
        let s = DataSummary(table: try Self.table(), labelColumns: [5])
        #expect(s.constantColumns == [3])
        #expect(s.columns.map(\.isConstant) == [false, false, false, true, false, false])
        #expect(s.duplicateColumns == [DataSummary.Duplicate(column: 4, duplicateOf: 1)])
        // the same values with a missing cell elsewhere are not a duplicate
        let other = DataSummary(table: try Self.table("a,b,c\n1,1,1\nNA,2,2\n3,NA,3\n"), labelColumns: [])
        #expect(other.duplicateColumns.isEmpty && other.labels.isEmpty && other.correlations.isEmpty)
    }

    @Test func classLabelCountsAndBalance() throws {
        let s = DataSummary(table: try Self.table(), labelColumns: [5])
        let label = try #require(s.labels.first)
        #expect(s.labels.count == 1 && label.column == 5 && label.name == "label" && label.isClassification)
        #expect(label.classes == [.init(value: "0", count: 2), .init(value: "1", count: 3), .init(value: "2", count: 1)])
        #expect(Self.close(label.smallestClassShare, 1.0 / 6) && label.largestClassShare == 0.5)
        #expect(label.target == nil)

        // a text label: classes in value order; 5 labelled rows (one missing)
        let byName = DataSummary(table: try Self.table(), labelColumns: [2]).labels[0]
        #expect(byName.classes?.map(\.value) == ["<c>", "a", "b"] && byName.classes?.map(\.count) == [1, 3, 1])
        #expect(byName.smallestClassShare == 0.2 && byName.largestClassShare == 0.6)
    }

    @Test func continuousTargets() throws {
        // 0.5, 1.5, 2.5: mean 1.5, deviations ±1 → variance 2 / 2 = 1; quartiles at positions 0.5, 1, 1.5
        let s = DataSummary(table: try Self.table("v\n0.5\n2.5\n1.5\n"), labelColumns: [0])
        let label = try #require(s.labels.first)
        #expect(!label.isClassification && label.classes == nil && label.smallestClassShare == nil)
        let t = try #require(label.target)
        #expect(t.mean == 1.5 && t.standardDeviation == 1 && t.min == 0.5 && t.q25 == 1 && t.median == 1.5
                && t.q75 == 2 && t.max == 2.5)
        // 21 distinct integers are too many classes: a target
        let wide = DataSummary(table: try Self.table("v\n" + (0...20).map(String.init).joined(separator: "\n")),
                               labelColumns: [0])
        #expect(!wide.labels[0].isClassification && wide.labels[0].target?.median == 10)
        let twenty = DataSummary(table: try Self.table("v\n" + (1...20).map(String.init).joined(separator: "\n")),
                                 labelColumns: [0])
        #expect(twenty.labels[0].classes?.count == 20)
    }

    @Test func correlationsWithTheLabel() throws {
        let s = DataSummary(table: try Self.table(), labelColumns: [5])
        // numeric features in table order, the text column and the label itself left out
        #expect(s.correlations.map(\.feature) == [0, 1, 3, 4] && s.correlations.allSatisfy { $0.label == 5 })
        // id vs label (0,1,0,1,1,2): Sxy = -1.5 + 0.5 + 1.5 + 2·2.5 = 5.5, Sxx = 17.5,
        // Syy = 7 - 6·(5/6)² = 17/6  →  r = 5.5 / √(17.5 · 17/6) ≈ 0.78107
        #expect(Self.close(s.correlations[0].r, 5.5 / (17.5 * 17.0 / 6).squareRoot()))
        #expect(abs(s.correlations[0].r! - 0.78107) < 1e-5)
        // x vs label over the 5 rows where x is present: x 1,4,9,16,25 (mean 11), label 0,1,1,1,2 (mean 1):
        // Sxy = (-10)(-1) + 14·1 = 24, Sxx = 374, Syy = 2  →  r = 24 / √748 ≈ 0.87753
        #expect(Self.close(s.correlations[1].r, 24 / 748.0.squareRoot()))
        #expect(abs(s.correlations[1].r! - 0.87753) < 1e-5)
        #expect(s.correlations[2].r == nil)                                  // the constant: undefined
        #expect(s.correlations[3].r == s.correlations[1].r)
        // a text label has no correlations
        #expect(DataSummary(table: try Self.table(), labelColumns: [2]).correlations.isEmpty)
    }

    @Test func textForm() throws {
        let text = DataSummary(table: try Self.table(), labelColumns: [5]).text()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "small.csv: 6 rows, 6 columns, label label")
        #expect(lines.contains("constant columns: const"))
        #expect(lines.contains("duplicate columns: x copy = x"))
        #expect(lines.contains("label label: 3 classes, smallest 16.7%, largest 50.0%"))
        // the id row of the numeric table: present, missing, distinct, mean, std (6 digits), quartiles
        let id = try #require(lines.first { $0.hasPrefix("  id ") })
        #expect(id.split(separator: " ") == ["id", "6", "0", "6", "3.5", "1.87083", "1", "2.25", "3.5", "4.75", "6"])
        let name = try #require(lines.first { $0.hasPrefix("  name ") })
        #expect(name.hasSuffix("a (3), <c> (1), b (1)"))
        #expect(lines.contains { $0.hasPrefix("  x ") && $0.hasSuffix("+0.878") })
        #expect(lines.contains { $0.hasPrefix("  const ") && $0.hasSuffix("-") })
    }

    @Test func jsonForm() throws {
        let json = DataSummary(table: try Self.table(), labelColumns: [5]).json()
        #expect(!json.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["rows"] as? Int == 6 && object["name"] as? String == "small.csv")
        #expect(object["constantColumns"] as? [Int] == [3] && object["labelColumns"] as? [Int] == [5])
        let duplicates = try #require(object["duplicateColumns"] as? [[String: Int]])
        #expect(duplicates == [["column": 4, "duplicateOf": 1]])
        let columns = try #require(object["columns"] as? [[String: Any]])
        #expect(columns[0]["q25"] as? Double == 2.25 && columns[1]["missing"] as? Int == 1)
        #expect(columns[2]["kind"] as? String == "text" && columns[2]["std"] == nil)
        let top = try #require(columns[2]["top"] as? [[String: Any]])
        #expect(top.first?["value"] as? String == "a" && top.first?["count"] as? Int == 3)
        let label = try #require((object["labels"] as? [[String: Any]])?.first)
        #expect(label["largestShare"] as? Double == 0.5)
        let correlations = try #require(object["correlations"] as? [[String: Any]])
        #expect(correlations.count == 4 && correlations[2]["r"] is NSNull)
    }

    @Test func htmlReport() throws {
        let s = DataSummary(table: try Self.table(), labelColumns: [5])
        let html = s.html(title: "report <small>")
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<title>report &lt;small&gt;</title>"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        #expect(html.contains("&lt;c&gt;") && !html.contains("<c>"))
        // one histogram per numeric column (5), one value-count chart per text column (1), the class balance (1)
        #expect(html.components(separatedBy: "<svg xmlns").count - 1 == 7)

        let directory = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/report/data.html"
        try s.writeHTML(to: path, title: "report <small>")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == html)
        // a directory in the way: a clear error, nothing written
        let blocked = directory + "/report/data.html/inner.html"
        #expect(throws: DatasetError.self) { try s.writeHTML(to: blocked, title: "x") }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == html)
    }

    @Test func missingValuesOnlyAndEmptyColumns() throws {
        let s = DataSummary(table: try Self.table("a,b\nNA,x\n,y\n"), labelColumns: [0])
        #expect(s.columns[0].kind == .numeric && s.columns[0].count == 0 && s.columns[0].missing == 2)
        #expect(s.columns[0].statistics == nil && s.columns[0].histogram == nil && !s.columns[0].isConstant)
        #expect(s.labels[0].classes == [] && s.labels[0].smallestClassShare == nil)
        // one present value: no standard deviation
        let one = DataSummary(table: try Self.table("a\n3\nNA\n"), labelColumns: [])
        #expect(one.columns[0].statistics?.standardDeviation == nil && one.columns[0].statistics?.median == 3)
        #expect(one.columns[0].isConstant)
        #expect(one.json().contains("\"std\":null"))
    }
}
