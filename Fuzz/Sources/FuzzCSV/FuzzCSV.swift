// libFuzzer target: the CSV readers, `DataTable(csvText:name:options:)` and the legacy
// `Dataset(csvText:name:options:)`, on the same bytes. The first byte picks the options (header
// mode, separator, label column, class count), the rest is the file.
import Foundation
import Training

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let mode = data[0]
    let text = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let headers: [DataTable.Header] = [.automatic, .present, .absent]
    let separators: [Character] = [",", ";", "\t", " "]
    let header = headers[Int(mode % 3)], separator = separators[Int(mode / 3 % 4)]
    if let table = try? DataTable(csvText: text, name: "fuzz.csv",
                                  options: DataTable.ReadOptions(header: header, separator: separator)) {
        let rows = table.columns.first?.count ?? 0
        for column in table.columns where column.count != rows {
            fatalError("column \(column.name) has \(column.count) rows, the first has \(rows)")
        }
    }
    let legacyHeaders: [CSVOptions.Header] = [.automatic, .present, .absent]
    let options = CSVOptions(header: legacyHeaders[Int(mode % 3)], labelColumn: mode & 0x40 != 0 ? 0 : nil,
                             classCount: mode & 0x80 != 0 ? 3 : nil, separator: separator)
    _ = try? Dataset(csvText: text, name: "fuzz.csv", options: options)
    return 0
}
