import Kernels
import Tensor

extension Dataset {
    /// Copies the features of `rows` (all columns, or the given ones in their order) into a
    /// caller-owned buffer, row after row, converted to its scalar type: feeding a plan without
    /// allocating. The buffer must hold at least `rows.count` rows of the chosen columns.
    ///
    /// Called once per training step, so the Float and Double cases run concrete (non-generic) loops:
    /// generic code here, unspecialized across modules, cost about 100 instructions per value.
    public func gather<S: TensorScalar>(rows: some Collection<Int>, features out: UnsafeMutableBufferPointer<S>,
                                        columns: [Int]? = nil) {
        let f = featureCount
        let width = columns?.count ?? f
        precondition(out.count >= rows.count * width,
                     "Dataset.gather: \(rows.count) rows of \(width) need \(rows.count * width) values, buffer has \(out.count)")
        withRowIndices(rows) { rowIndices in
            if S.self == Float.self {
                // Note [Single-precision features]: whole Float rows from the Float copy.
                singlePrecision.withFloats(of: features) { src in
                    out.withMemoryRebound(to: Float.self) { Self.copyRows(src, f, rowIndices, columns, count, into: $0) }
                }
                return
            }
            features.withUnsafeBufferPointer { src in
                if S.self == Double.self {
                    out.withMemoryRebound(to: Double.self) { Self.copyRows(src, f, rowIndices, columns, count, into: $0) }
                } else {
                    var k = 0
                    for r in rowIndices {
                        precondition(r >= 0 && r < count, "Dataset.gather: row \(r) outside 0..<\(count)")
                        for j in 0..<width { out[k * width + j] = S(src[r * f + (columns?[j] ?? j)]) }
                        k += 1
                    }
                }
            }
        }
    }

    /// Copies the targets of `rows` (class indices or values, `targetCount` per row) into a buffer.
    public func gatherTargets<S: TensorScalar>(rows: some Collection<Int>, into out: UnsafeMutableBufferPointer<S>) {
        let k = targetCount
        precondition(out.count >= rows.count * k, "Dataset.gatherTargets: \(rows.count) rows of \(k) need \(rows.count * k) values, buffer has \(out.count)")
        withRowIndices(rows) { rowIndices in
            targets.withUnsafeBufferPointer { src in
                if S.self == Float.self {
                    out.withMemoryRebound(to: Float.self) { Self.copyRows(src, k, rowIndices, nil, count, into: $0) }
                } else if S.self == Double.self {
                    out.withMemoryRebound(to: Double.self) { Self.copyRows(src, k, rowIndices, nil, count, into: $0) }
                } else {
                    var i = 0
                    for r in rowIndices {
                        for j in 0..<k { out[i * k + j] = S(src[r * k + j]) }
                        i += 1
                    }
                }
            }
        }
    }

    /// `rows` as contiguous indices (without copying when they already are: an epoch's batches are
    /// array slices).
    private func withRowIndices<R>(_ rows: some Collection<Int>, _ body: (UnsafeBufferPointer<Int>) -> R) -> R {
        if let result = rows.withContiguousStorageIfAvailable(body) { return result }
        // A window of consecutive rows (an evaluation pass's), copied as the concrete range:
        // `Array(rows)` on the generic collection looked up type metadata for every index (about
        // 1,000 lookups per epoch of the digits run's evaluation).
        if let range = rows as? Range<Int> { return Array(range).withUnsafeBufferPointer(body) }
        return Array(rows).withUnsafeBufferPointer(body)
    }

    /// `copyRows` from the Float copy of the features: whole rows as memory copies.
    private static func copyRows(_ src: UnsafeBufferPointer<Float>, _ width: Int, _ rows: UnsafeBufferPointer<Int>,
                                 _ columns: [Int]?, _ rowCount: Int, into out: UnsafeMutableBufferPointer<Float>) {
        let w = columns?.count ?? width
        if columns == nil && width >= 256 {
            // Long rows: copies with the next rows prefetched (`RowGather`).
            for r in rows { precondition(r >= 0 && r < rowCount, "Dataset.gather: row \(r) outside 0..<\(rowCount)") }
            RowGather.copy(rows: rows, of: src.baseAddress!, width: width, into: out.baseAddress!)
            return
        }
        for (k, r) in rows.enumerated() {
            precondition(r >= 0 && r < rowCount, "Dataset.gather: row \(r) outside 0..<\(rowCount)")
            let from = src.baseAddress! + r * width, to = out.baseAddress! + k * w
            if let columns {
                for (j, c) in columns.enumerated() { to[j] = from[c] }
            } else if width < 256 {
                copyRow(from, to, width)
            } else {
                to.update(from: from, count: width)
            }
        }
    }

    /// `width` Floats from `from` to `to` in 8-wide vector moves, inline: for short rows (64 values
    /// on the digits) a `memmove` call per row cost twice the copy (3.5% of the digits run's time
    /// against 1.7%).
    @inline(__always)
    private static func copyRow(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>, _ width: Int) {
        let source = UnsafeRawPointer(from), destination = UnsafeMutableRawPointer(to)
        var j = 0
        while j + 8 <= width {
            destination.storeBytes(of: source.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self),
                                   toByteOffset: j * 4, as: SIMD8<Float>.self)
            j += 8
        }
        while j < width {
            to[j] = from[j]
            j += 1
        }
    }

    /// Row `r` of `src` (rows of `width` values), all columns or `columns`, for each of `rows`, into
    /// `out`. Called with concrete Float or Double buffers only, so it compiles to those two loops.
    @_specialize(where D == Float)
    @_specialize(where D == Double)
    private static func copyRows<D: TensorScalar>(_ src: UnsafeBufferPointer<Double>, _ width: Int,
                                                  _ rows: UnsafeBufferPointer<Int>, _ columns: [Int]?, _ rowCount: Int,
                                                  into out: UnsafeMutableBufferPointer<D>) {
        let w = columns?.count ?? width
        for (k, r) in rows.enumerated() {
            precondition(r >= 0 && r < rowCount, "Dataset.gather: row \(r) outside 0..<\(rowCount)")
            let from = src.baseAddress! + r * width, to = out.baseAddress! + k * w
            if let columns {
                for (j, c) in columns.enumerated() { to[j] = D(from[c]) }
            } else {
                for j in 0..<width { to[j] = D(from[j]) }
            }
        }
    }
}
