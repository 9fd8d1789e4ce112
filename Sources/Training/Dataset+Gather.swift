import Tensor
extension Dataset {
    /// Copies the features and labels of `rows` into caller-owned buffers (row after row), for feeding
    /// a plan without allocating. The buffers must hold at least `rows.count` rows.
    public func gather(rows: some Collection<Int>, features out: UnsafeMutableBufferPointer<Float>,
                       labels outLabels: UnsafeMutableBufferPointer<Int32>? = nil) {
        precondition(out.count >= rows.count * featureCount,
                     "Dataset.gather: \(rows.count) rows of \(featureCount) need \(rows.count * featureCount) floats, buffer has \(out.count)")
        let f = featureCount
        features.withUnsafeBufferPointer { src in
            var k = 0
            for r in rows {
                precondition(r >= 0 && r < count, "Dataset.gather: row \(r) outside 0..<\(count)")
                _ = UnsafeMutableBufferPointer(rebasing: out[(k * f)..<((k + 1) * f)])
                    .update(fromContentsOf: src[(r * f)..<((r + 1) * f)])
                if let outLabels { outLabels[k] = labels[r] }
                k += 1
            }
        }
    }
}
