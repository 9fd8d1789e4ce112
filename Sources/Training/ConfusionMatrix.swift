import Tensor
/// Counts of (true class, predicted class) pairs, with accuracy and a printable table.
///
/// ```swift
/// var cm = ConfusionMatrix(classCount: 3)
/// cm.add(actual: 2, predicted: 1)
/// print(cm)          // rows: true class, columns: predicted class
/// ```
public struct ConfusionMatrix: Sendable, Equatable, CustomStringConvertible {
    /// Rows and columns.
    public let classCount: Int
    /// `counts[actual * classCount + predicted]`.
    public private(set) var counts: [Int]

    /// An empty matrix.
    public init(classCount: Int) {
        precondition(classCount > 0, "ConfusionMatrix: class count must be positive, got \(classCount)")
        self.classCount = classCount
        counts = [Int](repeating: 0, count: classCount * classCount)
    }

    /// Counts one sample of class `actual` predicted as `predicted`.
    public mutating func add(actual: Int, predicted: Int) {
        precondition(actual >= 0 && actual < classCount && predicted >= 0 && predicted < classCount,
                     "ConfusionMatrix.add: classes \(actual), \(predicted) outside 0..<\(classCount)")
        counts[actual * classCount + predicted] += 1
    }

    /// Adds the argmax of each row of `logits` (`labels.count` rows of `classCount`) against `labels`.
    /// Ties go to the lowest class.
    public mutating func add(logits: UnsafeBufferPointer<Float>, labels: some Collection<Int32>) {
        precondition(logits.count == labels.count * classCount,
                     "ConfusionMatrix.add: \(logits.count) logits for \(labels.count) rows of \(classCount) classes")
        for (row, label) in labels.enumerated() {
            add(actual: Int(label), predicted: ConfusionMatrix.argmax(logits, row: row, width: classCount))
        }
    }

    /// The index of the largest of `values[row * width ..< (row + 1) * width]` (first on ties; NaN never wins).
    public static func argmax<S: TensorScalar>(_ values: UnsafeBufferPointer<S>, row: Int, width: Int) -> Int {
        var best = 0
        var bestValue = -S.infinity
        for c in 0..<width where values[row * width + c] > bestValue {
            bestValue = values[row * width + c]
            best = c
        }
        return best
    }

    /// Samples of class `actual` predicted as `predicted`.
    public subscript(actual: Int, predicted: Int) -> Int { counts[actual * classCount + predicted] }

    /// Number of samples counted.
    public var total: Int { counts.reduce(0, +) }

    /// Share of samples on the diagonal (0 when empty).
    public var accuracy: Double {
        let t = total
        guard t > 0 else { return 0 }
        return Double((0..<classCount).reduce(0) { $0 + counts[$1 * classCount + $1] }) / Double(t)
    }

    /// A table: one row per true class, one column per predicted class, labelled by class index.
    public var description: String { description(classNames: []) }

    /// A table like `description`, with rows and columns labelled by `classNames` (class `i` is
    /// `classNames[i]`; classes beyond the array keep their index). Columns widen to fit the names.
    ///
    /// ```swift
    /// print(cm.description(classNames: ["cat", "dog", "bird"]))
    /// ```
    public func description(classNames: [String]) -> String {
        let labels = (0..<classCount).map { $0 < classNames.count ? classNames[$0] : String($0) }
        let longest = labels.map(\.count).max() ?? 0
        let width = max(3, String(counts.max() ?? 0).count, longest) + 1
        func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        let corner = "true\\pred"
        let labelWidth = max(corner.count, longest + 1)
        func padRight(_ s: String) -> String { s + String(repeating: " ", count: max(0, labelWidth - s.count)) }
        var text = padRight(corner) + labels.map(pad).joined() + "\n"
        for a in 0..<classCount {
            text += padRight(labels[a])
            text += (0..<classCount).map { pad(String(counts[a * classCount + $0])) }.joined() + "\n"
        }
        return text
    }
}
