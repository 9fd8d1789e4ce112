/// Copies a strided view into another layout: materializes transposes, slices, broadcasts
/// (stride 0) and permutations into contiguous memory, or writes a block into a larger tensor
/// (concatenation) when `destination` strides are given.
///
/// ```swift
/// // transpose a 3×4 matrix x into xt (4×3, contiguous)
/// try StridedCopy.copy(shape: [4, 3], from: x, strides: [1, 4], to: xt)
/// // write a 2×3 block into columns 3..<6 of a 2×6 matrix y
/// try StridedCopy.copy(shape: [2, 3], from: block, strides: [3, 1], to: y + 3, strides: [6, 1])
/// ```
public enum StridedCopy {
    /// `destination[index · dstStrides] = source[index · srcStrides]` for every index of `shape`;
    /// `dstStrides` nil means contiguous row-major. The pointers are the views' first elements
    /// (apply a view's offset before calling). Destination elements must not overlap each other
    /// or the source. Throws when the ranks differ or a size is negative.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    @_specialize(where T == Int32)
    @_specialize(where T == Int)
    public static func copy<T: BitwiseCopyable>(
        shape: [Int], from source: UnsafePointer<T>, strides srcStrides: [Int],
        to destination: UnsafeMutablePointer<T>, strides dstStrides: [Int]? = nil,
        loop: any ParallelLoop = SerialLoop()
    ) throws {
        guard srcStrides.count == shape.count, dstStrides == nil || dstStrides!.count == shape.count else {
            throw KernelError("copy", "shape \(shape) with source strides \(srcStrides) and destination strides \(dstStrides ?? Broadcast.contiguousStrides(shape))")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw KernelError("copy", "negative size in shape \(shape)") }
        StridedDims.with(shape: shape, strides0: srcStrides, strides1: dstStrides) { dims in
            copy(dims, source, destination, loop)
        }
    }

    @inline(__always)
    static func copy<T: BitwiseCopyable>(_ dims: StridedDims, _ source: UnsafePointer<T>,
                                         _ destination: UnsafeMutablePointer<T>, _ loop: any ParallelLoop) {
        let total = dims.count
        if total == 0 { return }
        let inner = dims.innerCount, rows = total / inner
        let ss = dims.innerStride(0), ds = dims.innerStride(1)
        // A transpose-like layout (the source is contiguous along the last outer dimension, not
        // along the inner one) is copied in 32×32 tiles so both sides stay in cache.
        if ss != 1, dims.outerRank > 0, dims.outerStrides0[dims.outerRank - 1] == 1, inner >= 32,
           dims.outerSizes[dims.outerRank - 1] >= 32 {
            let r = dims.outerSizes[dims.outerRank - 1], dr = dims.outerStrides1[dims.outerRank - 1]
            let prefixes = rows / r, rowTiles = (r + 31) / 32
            let units = prefixes * rowTiles
            let split = units > 1 && loop.concurrency > 1 && total > 1 << 16
            splitting(loop, 0..<units, when: split, grain: Swift.max(1, units / (4 * loop.concurrency))) { range in
                for unit in range {
                    let p = unit / rowTiles, r0 = (unit % rowTiles) * 32, r1 = Swift.min(r, r0 + 32)
                    let (os, od) = dims.outerOffsets(p * r)
                    var i0 = 0
                    while i0 < inner {
                        let i1 = Swift.min(inner, i0 + 32)
                        if MemoryLayout<T>.stride == 4 && ds == 1 {
                            // 4-byte values into contiguous rows: 8×8 register transposes (C kernel).
                            currentKernels.pointee.transpose32(source + os + r0 + i0 * ss, ss,
                                                               destination + od + r0 * dr + i0, dr, r1 - r0, i1 - i0)
                        } else {
                            for row in r0..<r1 {
                                let s = source + os + row, d = destination + od + row * dr
                                for i in i0..<i1 { d[i * ds] = s[i * ss] }
                            }
                        }
                        i0 = i1
                    }
                }
            }
            return
        }
        let split = rows > 1 && loop.concurrency > 1 && total > 1 << 16
        if ss == 1 && ds == 1 && MemoryLayout<T>.stride == 4 && dims.outerRank > 0 {
            // Contiguous runs of 4-byte values (a head split or merge: runs of 16 values): the
            // runs of the last outer dimension in one C call (`copy_runs`), not a call and an
            // offset computation per run.
            let last = dims.outerRank - 1
            let r = dims.outerSizes[last], sr = dims.outerStrides0[last], dr = dims.outerStrides1[last]
            let prefixes = rows / r
            splitting(loop, 0..<prefixes, when: split && prefixes > 1,
                      grain: Swift.max(1, (1 << 15) / Swift.max(1, inner * r))) { range in
                for p in range {
                    let (os, od) = dims.outerOffsets(p * r)
                    currentKernels.pointee.copy_runs(source + os, sr, destination + od, dr, r, inner)
                }
            }
            return
        }
        splitting(loop, 0..<rows, when: split, grain: Swift.max(1, (1 << 15) / inner)) { range in
            for row in range {
                let (os, od) = dims.outerOffsets(row)
                let s = source + os, d = destination + od
                if ss == 1 && ds == 1 {
                    d.update(from: s, count: inner)
                } else {
                    for i in 0..<inner { d[i * ds] = s[i * ss] }
                }
            }
        }
    }
}
