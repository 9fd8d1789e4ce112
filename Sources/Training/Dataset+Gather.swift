import Tensor

extension Dataset {
    /// Copies the features of `rows` (all columns, or the given ones in their order) into a
    /// caller-owned buffer, row after row, converted to its scalar type: feeding a plan without
    /// allocating. The buffer must hold at least `rows.count` rows of the chosen columns.
    public func gather<S: TensorScalar>(rows: some Collection<Int>, features out: UnsafeMutableBufferPointer<S>,
                                        columns: [Int]? = nil) {
        let f = featureCount
        let width = columns?.count ?? f
        precondition(out.count >= rows.count * width,
                     "Dataset.gather: \(rows.count) rows of \(width) need \(rows.count * width) values, buffer has \(out.count)")
        features.withUnsafeBufferPointer { src in
            var k = 0
            for r in rows {
                precondition(r >= 0 && r < count, "Dataset.gather: row \(r) outside 0..<\(count)")
                if let columns {
                    for (j, c) in columns.enumerated() { out[k * width + j] = S(src[r * f + c]) }
                } else {
                    for c in 0..<f { out[k * f + c] = S(src[r * f + c]) }
                }
                k += 1
            }
        }
    }

    /// Copies the targets of `rows` (class indices or values, `targetCount` per row) into a buffer.
    public func gatherTargets<S: TensorScalar>(rows: some Collection<Int>, into out: UnsafeMutableBufferPointer<S>) {
        let k = targetCount
        precondition(out.count >= rows.count * k, "Dataset.gatherTargets: \(rows.count) rows of \(k) need \(rows.count * k) values, buffer has \(out.count)")
        targets.withUnsafeBufferPointer { src in
            var i = 0
            for r in rows {
                for j in 0..<k { out[i * k + j] = S(src[r * k + j]) }
                i += 1
            }
        }
    }
}
