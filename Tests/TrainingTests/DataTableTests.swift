import Foundation
import Testing
import Training

@Suite struct DataTableTests {
    static func table(_ text: String, options: DataTable.ReadOptions = DataTable.ReadOptions()) throws -> DataTable {
        try DataTable(csvText: Array(text.utf8), name: "t.csv", options: options)
    }

    @Test func headerDetection() throws {
        let headed = try Self.table("a, b ,c\n1,2,3\n4,5,6\n")
        #expect(headed.hasHeader)
        #expect(headed.columns.map(\.name) == ["a", "b", "c"])
        #expect(headed.rowCount == 2 && headed.lines == [2, 3])
        #expect(headed.columns[1].numbers == [2, 5])
        #expect(headed.columnIndex(named: "c") == 2 && headed.columnIndex(named: "d") == nil)

        // one numeric field is enough to make the first line data
        let plain = try Self.table("x,2,3\ny,5,6\n")
        #expect(!plain.hasHeader)
        #expect(plain.columns.map(\.name) == ["column 1", "column 2", "column 3"])
        #expect(plain.columns[0].texts == ["x", "y"] && plain.lines == [1, 2])

        // forced either way
        let numericHeader = try Self.table("10,20\n1,2\n", options: .init(header: .present))
        #expect(numericHeader.columns.map(\.name) == ["10", "20"] && numericHeader.columns[0].numbers == [1])
        let noHeader = try Self.table("a,b\n1,2\n", options: .init(header: .absent))
        #expect(!noHeader.hasHeader && noHeader.columns[0].kind == .text && noHeader.columns[0].texts == ["a", "1"])

        // an empty header field gets a generated name
        #expect(try Self.table(",b\n1,2\n").columns.map(\.name) == ["column 1", "b"])
    }

    @Test func quotedFields() throws {
        let t = try Self.table(#"""
            name,quote,n
            "Smith, J.", "said ""hi""" ,1
             "  padded  ",plain"inner,"2"
            """#)
        #expect(t.columns[0].texts == ["Smith, J.", "  padded  "])
        #expect(t.columns[1].texts == ["said \"hi\"", "plain\"inner"])
        #expect(t.columns[2].kind == .numeric && t.columns[2].numbers == [1, 2])
        #expect(try Self.table("\"a,b\"\n\"\"\n", options: .init(header: .absent)).columns[0].texts == ["a,b", nil])      // quoted empty is missing
    }

    @Test func quoteErrorsNameLineAndColumn() {
        #expect(throws: DatasetError.unterminatedQuote(file: "t.csv", line: 3, column: 2)) {
            try Self.table("a,b\n1,2\n3,\"4\n5,6\n")
        }
        #expect(throws: DatasetError.textAfterQuote(file: "t.csv", line: 2, column: 1)) {
            try Self.table("a,b\n\"1\"x,2\n")
        }
        #expect(DatasetError.unterminatedQuote(file: "t.csv", line: 3, column: 2).description
                == "t.csv:3:2: quoted field is not closed on its line (quoted fields cannot span lines)")
    }

    @Test func missingMarkersAndCounts() throws {
        let t = try Self.table("""
            a,b,c,d
            1,NA,x,
            ?,2,N/A,null
            3, nan ,,NaN
            4,5,y,
            """)
        #expect(t.columns.map(\.kind) == [.numeric, .numeric, .text, .numeric])
        #expect(t.columns.map(\.missingCount) == [1, 2, 2, 4])
        #expect(t.columns[0].numbers == [1, nil, 3, 4])
        #expect(t.columns[1].numbers == [nil, 2, nil, 5])
        #expect(t.columns[2].texts == ["x", nil, nil, "y"])
        #expect(t.columns[2].numbers.isEmpty && t.columns[0].texts.isEmpty)
        #expect(t.columns[1].isMissing(0) && !t.columns[1].isMissing(1) && t.columns[2].isMissing(2))
        #expect(t.columns.allSatisfy { $0.count == 4 })

        // custom markers: -999 is missing, NA is text
        let custom = try Self.table("a,b\n-999,NA\n7,1\n", options: .init(missingMarkers: ["-999"]))
        #expect(custom.columns[0].numbers == [nil, 7])
        #expect(custom.columns[1].kind == .text && custom.columns[1].texts == ["NA", "1"])
    }

    @Test func textVersusNumericColumns() throws {
        let t = try Self.table("a,b,c,d,e\n1,1e3,inf,0.5,-2\n2,x,1,-.25,+3\n")
        #expect(t.columns.map(\.kind) == [.numeric, .text, .text, .numeric, .numeric])
        #expect(t.columns[1].texts == ["1e3", "x"])                 // numbers kept as their text
        #expect(t.columns[2].texts == ["inf", "1"])                 // infinity is not a finite number
        #expect(t.columns[3].numbers == [0.5, -0.25])
        #expect(t.columns[4].numbers == [-2, 3])
        let allMissing = try Self.table("a,b\nNA,1\n,2\n")
        #expect(allMissing.columns[0].kind == .numeric && allMissing.columns[0].numbers == [nil, nil])
    }

    @Test func separatorsAndLineEnds() throws {
        let t = try Self.table("a;b\r\n1;x y\r\n\r\n2 ;\tz\r\n", options: .init(separator: ";"))
        #expect(t.columns[0].numbers == [1, 2] && t.columns[1].texts == ["x y", "z"] && t.lines == [2, 4])
        let tabs = try Self.table("a\tb\n1\t\n", options: .init(separator: "\t"))
        #expect(tabs.columns[0].numbers == [1] && tabs.columns[1].numbers == [nil])
        #expect(throws: DatasetError.self) { try Self.table("a\n", options: .init(separator: "\"")) }
    }

    @Test func raggedRowsNameTheLine() {
        #expect(throws: DatasetError.raggedRow(file: "t.csv", line: 4, expected: 3, found: 2)) {
            try Self.table("1,2,3\n4,5,6\n\n7,8\n")
        }
        #expect(throws: DatasetError.headerMismatch(file: "t.csv", line: 5, headerLine: 2, expected: 2, found: 3)) {
            try Self.table("\na,b\n1,2\n3,4\n5,6,7\n")
        }
        #expect(DatasetError.headerMismatch(file: "t.csv", line: 5, headerLine: 2, expected: 2, found: 3).description
                == "t.csv:5: 3 fields, but the header (line 2) names 2 columns")
    }

    @Test func emptyUnreadableAndDuplicateNames() {
        #expect(throws: DatasetError.empty(file: "t.csv")) { try Self.table("") }
        #expect(throws: DatasetError.empty(file: "t.csv")) { try Self.table(" \n\t\n") }
        #expect(throws: DatasetError.empty(file: "t.csv")) { try Self.table("a,b\n\n") }
        #expect(throws: DatasetError.unreadable(file: "/no/such/file.csv", reason: "no such file")) {
            try DataTable(csvFile: "/no/such/file.csv")
        }
        #expect(throws: DatasetError.duplicateColumnName(file: "t.csv", line: 1, name: "a", first: 1, second: 3)) {
            try Self.table("a,b,a\n1,2,3\n")
        }
    }

    @Test func placesCountLinesAfterBlankLines() throws {
        let t = try Self.table("a,b\n\n1,2\n\n\n3,4\n")
        #expect(t.lines == [3, 6])
        #expect(t.place(row: 0, column: 0) == "t.csv:3:1")
        #expect(t.place(row: 1, column: 1) == "t.csv:6:2")
    }

    @Test func rowSubsetsKeepLines() throws {
        let t = try Self.table("a,b\n1,x\n2,y\n3,z\n")
        let picked = t.rows([2, 0])
        #expect(picked.columns[0].numbers == [3, 1] && picked.columns[1].texts == ["z", "x"])
        #expect(picked.lines == [4, 2] && picked.hasHeader && picked.name == "t.csv")
        #expect(picked.place(row: 0, column: 1) == "t.csv:4:2")
        let parts = DataTable(name: "parts", columns: [.init(name: "n", numbers: [1, nil])], lines: [1, 2])
        #expect(parts.rowCount == 2 && parts.columns[0].missingCount == 1 && !parts.hasHeader)
    }

    @Test func readsTheBundledFiles() throws {
        let iris = try DataTable(csvFile: TrainingFixtures.iris, options: .init(header: .present))
        #expect(iris.rowCount == 150 && iris.columns.count == 5)
        #expect(iris.columns.allSatisfy { $0.kind == .numeric && $0.missingCount == 0 })
        #expect(iris.columns[0].numbers.prefix(2) == [5.1, 4.9] && iris.lines.first == 2)
        let digits = try DataTable(csvFile: TrainingFixtures.digits)
        #expect(!digits.hasHeader && digits.rowCount == 1797 && digits.columns.count == 65)
        #expect(digits.columns[64].numbers.prefix(3) == [0, 1, 2])
    }
}
