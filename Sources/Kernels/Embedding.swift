/// Embedding lookup (a gather of table rows by index) and its gradient, a scatter-add into the
/// table in a fixed order.
///
/// Indices are checked by the caller (the Tensor layer reports a bad one with the node that holds
/// it). The forward pass splits over looked-up rows. The backward pass splits over the table's
/// rows: each piece owns a range of table rows and walks all indices in order, adding the gradient
/// rows whose index it owns, so every table row receives its contributions in index order whatever
/// the split: results are bitwise equal for any worker count.
///
/// ```swift
/// // table: 1000×64, ids: 32 row numbers -> out: 32×64
/// Embedding.gather(table: t, columns: 64, indices: ids, count: 32, into: out)
/// // dTable (1000×64) = Σ over i of dOut[i] added to row ids[i], i in order
/// Embedding.scatterAdd(gradient: dOut, indices: ids, count: 32, rows: 1000, columns: 64, into: dTable)
/// ```
public enum Embedding {
    /// `out[i] = table[indices[i]]` (rows of `columns` elements) for `i < count`; every index must
    /// lie in the table.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func gather<T: KernelFloat>(
        table: UnsafePointer<T>, columns: Int, indices: UnsafePointer<Int>, count: Int,
        into out: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        let grain = Swift.max(1, chunk / Swift.max(1, columns))
        splitting(loop, 0..<count, when: loop.concurrency > 1 && count > grain, grain: grain) { range in
            for i in range {
                (out + i * columns).update(from: table + indices[i] * columns, count: columns)
            }
        }
    }

    /// `table = 0`, then `table[indices[i]] += gradient[i]` for `i = 0, 1, ..., count - 1` in that
    /// order (rows of `columns` elements; the table has `rows` rows).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func scatterAdd<T: KernelFloat>(
        gradient: UnsafePointer<T>, indices: UnsafePointer<Int>, count: Int, rows: Int, columns: Int,
        into table: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        let workers = loop.concurrency
        let split = workers > 1 && rows > 1 && count * columns > 2 * chunk
        splitting(loop, 0..<rows, when: split, grain: Swift.max(1, rows / (4 * workers))) { owned in
            (table + owned.lowerBound * columns).update(repeating: 0, count: owned.count * columns)
            for i in 0..<count {
                let r = indices[i]
                guard owned.contains(r) else { continue }
                let dst = table + r * columns, src = gradient + i * columns
                for j in 0..<columns { dst[j] += src[j] }
            }
        }
    }

    /// Elements per piece of work handed to a worker.
    static var chunk: Int { 1 << 15 }
}
