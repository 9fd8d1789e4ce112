import Scheduler

extension DataSummary {
    /// The summary as one line of JSON, one object, keys in a fixed order:
    ///
    /// ```
    /// {"name":"t.csv","rows":6,"columns":[{"name":"x","kind":"numeric","count":6,"missing":0,"distinct":6,
    ///  "mean":3.5,"std":1.87,...,"histogram":{"edges":[...],"counts":[...]}},
    ///  {"name":"s","kind":"text",...,"top":[{"value":"a","count":3}]}],
    ///  "labelColumns":[2],"constantColumns":[],"duplicateColumns":[{"column":3,"duplicateOf":1}],
    ///  "labels":[{"column":2,"name":"y","classes":[{"value":"0","count":3}],"smallestShare":0.5,"largestShare":0.5}],
    ///  "correlations":[{"feature":0,"label":2,"r":0.8}]}
    /// ```
    /// Column references are indices from 0; statistics that are undefined are `null`.
    public func json() -> String {
        var columnObjects: [String] = []
        for s in columns {
            var fields = [("name", Self.quoted(s.name)), ("kind", Self.quoted(s.kind.rawValue)),
                          ("count", String(s.count)), ("missing", String(s.missing)), ("distinct", String(s.distinct)),
                          ("constant", s.isConstant ? "true" : "false")]
            switch s.kind {
            case .numeric:
                fields += Self.statisticsFields(s.statistics)
                if let h = s.histogram {
                    fields.append(("histogram", Self.object([("edges", Self.array(h.edges.map(Self.number))),
                                                            ("counts", Self.array(h.counts.map(String.init)))])))
                }
            case .text:
                fields.append(("top", Self.valueCounts(s.topValues)))
            }
            columnObjects.append(Self.object(fields))
        }
        let labelObjects = labels.map { label in
            var fields = [("column", String(label.column)), ("name", Self.quoted(label.name))]
            if let classes = label.classes {
                fields += [("classes", Self.valueCounts(classes)),
                           ("smallestShare", Self.number(label.smallestClassShare)),
                           ("largestShare", Self.number(label.largestClassShare))]
            } else {
                fields.append(("target", Self.object(Self.statisticsFields(label.target))))
            }
            return Self.object(fields)
        }
        return Self.object([
            ("name", Self.quoted(name)),
            ("rows", String(rows)),
            ("columns", Self.array(columnObjects)),
            ("labelColumns", Self.array(labelColumns.map(String.init))),
            ("constantColumns", Self.array(constantColumns.map(String.init))),
            ("duplicateColumns", Self.array(duplicateColumns.map {
                Self.object([("column", String($0.column)), ("duplicateOf", String($0.duplicateOf))])
            })),
            ("labels", Self.array(labelObjects)),
            ("correlations", Self.array(correlations.map {
                Self.object([("feature", String($0.feature)), ("label", String($0.label)), ("r", Self.number($0.r))])
            })),
        ])
    }

    private static func statisticsFields(_ st: NumericStatistics?) -> [(String, String)] {
        [("mean", number(st?.mean)), ("std", number(st?.standardDeviation)), ("min", number(st?.min)),
         ("q25", number(st?.q25)), ("median", number(st?.median)), ("q75", number(st?.q75)), ("max", number(st?.max))]
    }

    private static func valueCounts(_ counts: some Collection<ValueCount>) -> String {
        array(counts.map { object([("value", quoted($0.value)), ("count", String($0.count))]) })
    }

    private static func quoted(_ s: String) -> String { JSONString.quoted(s) }
    private static func number(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "null" }
        return x.rounded() == x && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
    private static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
    private static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
