import Foundation
import Kernels
import Scheduler

/// Each operation's forward computation as a call into the kernels: one task body per node.
///
/// Bodies capture raw addresses (fixed at plan time) and the loop large kernels split over; they
/// allocate nothing when they run, except where noted (softmax over a non-last axis uses scratch
/// buffers allocated once, at plan time). Kernel entry points are specialized for Float and Double
/// (`@_specialize` in Kernels), so calling them from this generic code reaches concrete loops.
enum Lowering<Scalar: TensorScalar> {
    typealias Body = PlanProgram.Body

    struct Lowered {
        let body: Body
        /// Estimated floating-point operations of one execution.
        let flops: Double
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func lower(_ op: Operation, inputs: [Operand<Scalar>], output: Operand<Scalar>,
                      location: SourceLocation, loop: any ParallelLoop, epilogue: GEMM.Epilogue? = nil,
                      columnSums: [GEMM.ColumnSum<Scalar>] = []) throws -> Lowered {
        let out = output.pointer
        let n = output.count
        let shape = output.shape
        let inputShapes = inputs.map(\.shape)
        let failure: @Sendable (any Error) -> GraphError = { error in
            GraphError(operation: op.name, shapes: inputShapes, location: location, message: "\(error)")
        }

        switch op {
        case .placeholder, .parameter, .constant, .reshape:
            return Lowered(body: {}, flops: 0)

        case .add, .sub, .mul, .div, .minimum, .maximum, .neg, .exp, .log, .sqrt, .tanh, .sigmoid, .relu, .gelu,
             .abs, .square, .pow, .scale, .shift, .clamp,
             .reluBackward, .tanhBackward, .sigmoidBackward, .geluBackward, .absBackward, .clampBackward:
            // Exactly the operations whose `elementwiseForm` is not nil, less `broadcastTo` (a copy here).
            return try elementwise(op.elementwiseForm!, inputs: inputs, output: output, loop: loop, failure: failure)

        case .select:
            let c = inputs[0], a = inputs[1], b = inputs[2]
            let sc = try Broadcast.strides(of: c.shape, to: shape)
            let sa = try Broadcast.strides(of: a.shape, to: shape), sb = try Broadcast.strides(of: b.shape, to: shape)
            let pc = c.pointer, pa = a.pointer, pb = b.pointer
            return Lowered(body: {
                do {
                    try Selection.select(shape: shape, condition: pc.pointer, strides: sc, pa.pointer, strides: sa,
                                         pb.pointer, strides: sb, into: out.pointer, loop: loop)
                } catch { throw failure(error) }
            }, flops: Double(n))

        case let .selectBackward(whenTrue):
            let c = inputs[0]
            let sc = try Broadcast.strides(of: c.shape, to: shape)
            let pc = c.pointer, pg = inputs[1].pointer
            return Lowered(body: {
                do {
                    try Selection.selectGradient(whenTrue: whenTrue, shape: shape, condition: pc.pointer, strides: sc,
                                                 gradient: pg.pointer, into: out.pointer, loop: loop)
                } catch { throw failure(error) }
            }, flops: Double(n))

        case let .extremumBackward(isMax):
            let a = inputs[0], b = inputs[1]
            let sa = try Broadcast.strides(of: a.shape, to: shape), sb = try Broadcast.strides(of: b.shape, to: shape)
            let pa = a.pointer, pb = b.pointer, pg = inputs[2].pointer
            return Lowered(body: {
                do {
                    try Selection.extremumGradient(maximum: isMax, shape: shape, pa.pointer, strides: sa, pb.pointer, strides: sb,
                                                   gradient: pg.pointer, into: out.pointer, loop: loop)
                } catch { throw failure(error) }
            }, flops: 3 * Double(n))

        case let .matmul(ta, tb):
            let a = inputs[0], b = inputs[1]
            let ra = a.shape.count, rb = b.shape.count
            let m = shape[shape.count - 2], cols = shape[shape.count - 1]
            let k = ta ? a.shape[ra - 2] : a.shape[ra - 1]
            let lda = a.shape[ra - 1], ldb = b.shape[rb - 1]
            let batch = shape.dropLast(2).reduce(1, *)
            let strideA = ra == 2 ? 0 : a.shape[ra - 2] * lda
            let strideB = rb == 2 ? 0 : b.shape[rb - 2] * ldb
            let pa = a.pointer, pb = b.pointer
            let flops = 2 * Double(batch) * Double(m) * Double(cols) * Double(k)
            let cache = cacheSizes(loop)
            // Stacked rows times one shared matrix (x·W with x [..., m, k]): one GEMM over all the
            // rows (each row's sums are the same as in a product per batch entry: same bits).
            let stacked = batch > 1 && rb == 2 && !ta
            precondition(epilogue == nil && columnSums.isEmpty || batch == 1 || stacked,
                         "an epilogue or a column sum follows a single product only (PlanSteps)")
            if batch == 1 || stacked {
                let rows = batch * m
                return Lowered(body: {
                    do {
                        try GEMM.multiply(transposeA: ta, transposeB: tb, m: rows, n: cols, k: k,
                                          a: pa.pointer, lda: lda, b: pb.pointer, ldb: ldb,
                                          c: out.pointer, ldc: cols, loop: loop, cache: cache, epilogue: epilogue,
                                          columnSums: columnSums)
                    } catch { throw failure(error) }
                }, flops: flops)
            }
            return Lowered(body: {
                do {
                    try GEMM.multiplyBatched(batch: batch, transposeA: ta, transposeB: tb, m: m, n: cols, k: k,
                                             a: pa.pointer, lda: lda, strideA: strideA,
                                             b: pb.pointer, ldb: ldb, strideB: strideB,
                                             c: out.pointer, ldc: cols, strideC: m * cols, loop: loop, cache: cache)
                } catch { throw failure(error) }
            }, flops: flops)

        case let .transpose(p):
            let x = inputs[0]
            let own = Broadcast.contiguousStrides(x.shape)
            let strides = p.map { own[$0] }
            return copy(shape: shape, from: x.pointer, strides: strides, to: out, failure: failure, loop: loop)

        case .broadcastTo:
            let x = inputs[0]
            let strides = try Broadcast.strides(of: x.shape, to: shape)
            return copy(shape: shape, from: x.pointer, strides: strides, to: out, failure: failure, loop: loop)

        case let .slice(axis, range):
            let x = inputs[0]
            let strides = Broadcast.contiguousStrides(x.shape)
            let start = Address(x.address + range.lowerBound * strides[axis])
            return copy(shape: shape, from: start, strides: strides, to: out, failure: failure, loop: loop)

        case let .pad(axis, range, _):
            let x = inputs[0]
            let outStrides = Broadcast.contiguousStrides(shape)
            let own = Broadcast.contiguousStrides(x.shape)
            let px = x.pointer, xShape = x.shape
            let at = range.lowerBound * outStrides[axis]
            return Lowered(body: {
                Elementwise.fill(out.pointer, value: 0, count: n)
                do {
                    try StridedCopy.copy(shape: xShape, from: px.pointer, strides: own, to: out.pointer + at,
                                         strides: outStrides, loop: loop)
                } catch { throw failure(error) }
            }, flops: 0)

        case let .concat(axis):
            let outStrides = Broadcast.contiguousStrides(shape)
            var list: [(Address<Scalar>, [Int], [Int], Int)] = []
            var start = 0
            for x in inputs {
                list.append((x.pointer, x.shape, Broadcast.contiguousStrides(x.shape), start * outStrides[axis]))
                start += x.shape[axis]
            }
            let pieces = list
            return Lowered(body: {
                do {
                    for (px, s, own, at) in pieces {
                        try StridedCopy.copy(shape: s, from: px.pointer, strides: own, to: out.pointer + at,
                                             strides: outStrides, loop: loop)
                    }
                } catch { throw failure(error) }
            }, flops: 0)

        case let .sum(axes, _):
            return reduce(.sum, inputs[0], axes: axes, out: out, loop: loop, failure: failure)
        case let .mean(axes, _):
            return reduce(.mean, inputs[0], axes: axes, out: out, loop: loop, failure: failure)
        case let .max(axes, _):
            return reduce(.max, inputs[0], axes: axes, out: out, loop: loop, failure: failure)

        case let .softmax(axis):
            return softmax(input: inputs[0], axis: axis, log: false, out: out, loop: loop, failure: failure)
        case let .logSoftmax(axis):
            return softmax(input: inputs[0], axis: axis, log: true, out: out, loop: loop, failure: failure)

        case .softmaxCrossEntropy, .softmaxCrossEntropyBackward:
            let z = inputs[0], labels = inputs[1]
            let rows = z.shape[0], cols = z.shape[1]
            let scratch = Scratch<Int32>(count: rows)
            let pz = z.pointer, pl = labels.pointer
            let convert: @Sendable () throws -> Void = {
                for r in 0..<rows {
                    let v = pl.pointer[r]
                    guard let index = wholeIndex(v, below: cols) else {
                        throw GraphError(operation: op.name, shapes: inputShapes, location: location,
                                         message: "label \(v) of row \(r) is not a class index in 0..<\(cols)")
                    }
                    scratch.pointer[r] = Int32(truncatingIfNeeded: index)
                }
            }
            if case .softmaxCrossEntropyBackward = op {
                let g = inputs[2].pointer
                return Lowered(body: {
                    try convert()
                    do {
                        try Softmax.crossEntropyGradient(logits: pz.pointer, labels: scratch.pointer, rows: rows, cols: cols,
                                                         scale: g.pointer[0], into: out.pointer, loop: loop)
                    } catch { throw failure(error) }
                }, flops: 20 * Double(z.count))
            }
            return Lowered(body: {
                try convert()
                do {
                    out.pointer[0] = try Softmax.crossEntropy(logits: pz.pointer, labels: scratch.pointer,
                                                              rows: rows, cols: cols, loop: loop)
                } catch { throw failure(error) }
            }, flops: 20 * Double(z.count))

        case .embedding, .embeddingBackward:
            let forward = op == .embedding
            let indices = forward ? inputs[1] : inputs[0], values = forward ? inputs[0] : inputs[1]
            let rows = forward ? values.shape[0] : shape[0], columns = shape[shape.count - 1]
            let count = indices.count, indexShape = indices.shape
            let scratch = Scratch<Int>(count: count)
            let pi = indices.pointer, pv = values.pointer
            let convert: @Sendable () throws -> Void = {
                for i in 0..<count {
                    let v = pi.pointer[i]
                    guard let index = wholeIndex(v, below: rows) else {
                        throw GraphError(operation: op.name, shapes: inputShapes, location: location,
                                         message: "index \(v) at \(Self.position(i, in: indexShape)) is not a row of the table (0..<\(rows))")
                    }
                    scratch.pointer[i] = index
                }
            }
            if forward {
                return Lowered(body: {
                    try convert()
                    Embedding.gather(table: pv.pointer, columns: columns, indices: scratch.pointer, count: count,
                                     into: out.pointer, loop: loop)
                }, flops: Double(n))
            }
            return Lowered(body: {
                try convert()
                Embedding.scatterAdd(gradient: pv.pointer, indices: scratch.pointer, count: count, rows: rows,
                                     columns: columns, into: out.pointer, loop: loop)
            }, flops: Double(values.count))

        // Layer normalization: rows of the last axis of the first input.
        case let .layerNorm(eps):
            let (x, rows, cols, flops) = Self.rows(of: inputs[0])
            let epsilon = Scalar(eps), gamma = inputs[1].pointer, beta = inputs[2].pointer
            return Lowered(body: {
                LayerNorm.forward(x.pointer, gamma: gamma.pointer, beta: beta.pointer, rows: rows, cols: cols,
                                  epsilon: epsilon, into: out.pointer, loop: loop)
            }, flops: flops)
        case let .layerNormBackward(eps):
            let (x, rows, cols, flops) = Self.rows(of: inputs[0])
            let epsilon = Scalar(eps), gamma = inputs[1].pointer, g = inputs[2].pointer
            return Lowered(body: {
                LayerNorm.backward(x.pointer, gamma: gamma.pointer, gradient: g.pointer, rows: rows, cols: cols,
                                   epsilon: epsilon, into: out.pointer, loop: loop)
            }, flops: 1.5 * flops)
        case let .layerNormGammaBackward(eps):
            let (x, rows, cols, flops) = Self.rows(of: inputs[0])
            let epsilon = Scalar(eps), g = inputs[1].pointer
            let scratch = Scratch<Scalar>(count: LayerNorm.gammaScratchCount(rows: rows, cols: cols))
            return Lowered(body: {
                LayerNorm.gammaGradient(x.pointer, gradient: g.pointer, rows: rows, cols: cols, epsilon: epsilon,
                                        into: out.pointer, scratch: scratch.pointer, loop: loop)
            }, flops: flops)

        case let .dropout(rate, seed):
            // Note [Dropout of a part of the batch]: a second step value is the batch's first row
            // in a larger batch (a data-parallel rank's share of the global batch), so its masks
            // are the ones the whole batch would get there, from element first row · row size.
            let x = inputs[0].pointer, step = inputs[1].pointer
            let rowSize = inputs[0].shape.isEmpty ? 1 : inputs[0].shape.dropFirst().reduce(1, *)
            let partial = inputs[1].count == 2
            return Lowered(body: {
                let s = step.pointer[0]
                guard s.isFinite, s == s.rounded(), s < 0x1p62 else {
                    throw GraphError(operation: op.name, shapes: inputShapes, location: location,
                                     message: "step \(s) is not an integer below 2^62 (feed the training step, or -1 to turn dropout off)")
                }
                if s < 0 || rate == 0 {
                    if UnsafePointer(out.pointer) != UnsafePointer(x.pointer) { out.pointer.update(from: x.pointer, count: n) }
                    return
                }
                var offset = 0
                if partial {
                    let row = step.pointer[1]
                    guard row.isFinite, row == row.rounded(), row >= 0, row * Scalar(rowSize) < 0x1p52 else {
                        throw GraphError(operation: op.name, shapes: inputShapes, location: location,
                                         message: "first row \(row) is not a non-negative integer (feed the step and the batch's first row in the global batch, 0 alone)")
                    }
                    offset = Int(row) * rowSize
                }
                Dropout.apply(x.pointer, count: n, rate: rate, seed: UInt64(bitPattern: Int64(seed)), step: UInt64(s),
                              offset: offset, into: out.pointer, loop: loop)
            }, flops: 10 * Double(n))

        // Pooling: the geometry of the pooled image (the input, or the result for the average's gradient).
        case let .maxPool2d(k, st, p):
            let (geometry, flops) = Self.pooling(image: inputs[0].shape, kernel: k, stride: st, padding: p)
            let a = inputs[0].pointer
            return Lowered(body: { Pooling.maxForward(a.pointer, shape: geometry, into: out.pointer, loop: loop) }, flops: flops)
        case let .avgPool2d(k, st, p):
            let (geometry, flops) = Self.pooling(image: inputs[0].shape, kernel: k, stride: st, padding: p)
            let a = inputs[0].pointer
            return Lowered(body: { Pooling.averageForward(a.pointer, shape: geometry, into: out.pointer, loop: loop) }, flops: flops)
        case let .maxPool2dBackward(k, st, p):
            let (geometry, flops) = Self.pooling(image: inputs[0].shape, kernel: k, stride: st, padding: p)
            let a = inputs[0].pointer, g = inputs[1].pointer
            return Lowered(body: {
                Pooling.maxBackward(a.pointer, gradient: g.pointer, shape: geometry, into: out.pointer, loop: loop)
            }, flops: flops)
        case let .avgPool2dBackward(k, st, p, _):
            let (geometry, flops) = Self.pooling(image: shape, kernel: k, stride: st, padding: p)
            let g = inputs[0].pointer
            return Lowered(body: {
                Pooling.averageBackward(gradient: g.pointer, shape: geometry, into: out.pointer, loop: loop)
            }, flops: flops)

        // Convolutions: the image and filter shapes are among the inputs, or the result for the two gradients.
        case let .conv2d(st, p, d, groups):
            let (geometry, flops) = Self.convolution(image: inputs[0].shape, filter: inputs[1].shape, stride: st, padding: p,
                                                     dilation: d, groups: groups)
            let x = inputs[0].pointer, w = inputs[1].pointer
            return Lowered(body: {
                do { try Convolution.forward(x.pointer, filter: w.pointer, shape: geometry, into: out.pointer, loop: loop) }
                catch { throw failure(error) }
            }, flops: flops)
        case let .conv2dBackwardInput(st, p, d, groups, _):
            let (geometry, flops) = Self.convolution(image: shape, filter: inputs[1].shape, stride: st, padding: p,
                                                     dilation: d, groups: groups)
            let g = inputs[0].pointer, w = inputs[1].pointer
            return Lowered(body: {
                do { try Convolution.backwardInput(gradient: g.pointer, filter: w.pointer, shape: geometry, into: out.pointer, loop: loop) }
                catch { throw failure(error) }
            }, flops: flops)
        case let .conv2dBackwardFilter(st, p, d, groups, _):
            let (geometry, flops) = Self.convolution(image: inputs[0].shape, filter: shape, stride: st, padding: p,
                                                     dilation: d, groups: groups)
            let x = inputs[0].pointer, g = inputs[1].pointer
            let scratch = Scratch<Scalar>(count: Convolution.filterScratchCount(geometry))
            return Lowered(body: {
                do {
                    try Convolution.backwardFilter(x.pointer, gradient: g.pointer, shape: geometry, into: out.pointer,
                                                   scratch: scratch.pointer, loop: loop)
                } catch { throw failure(error) }
            }, flops: flops)

        // Losses: small fixed-order loops (one pass, summed in index order), the losses' own kernels.
        case .meanSquaredError:
            let a = inputs[0].pointer, b = inputs[1].pointer
            let count = inputs[0].count
            return Lowered(body: {
                var total: Scalar = 0
                let x = a.pointer, t = b.pointer
                for i in 0..<count { let d = x[i] - t[i]; total += d * d }
                out.pointer[0] = total / Scalar(count)
            }, flops: 3 * Double(count))
        case .binaryCrossEntropyWithLogits:
            let a = inputs[0].pointer, b = inputs[1].pointer
            let count = inputs[0].count
            return Lowered(body: {
                var total: Scalar = 0
                let x = a.pointer, t = b.pointer
                for i in 0..<count {
                    let z = x[i]
                    let softplus = Scalar(Foundation.log1p(Foundation.exp(-Swift.abs(Double(z)))))
                    total += Swift.max(z, 0) - z * t[i] + softplus
                }
                out.pointer[0] = total / Scalar(count)
            }, flops: 20 * Double(count))

        case .maxBackward:
            // dx = g where x equals the (broadcast) maximum, else 0 (y and g in keep-dims shape).
            let x = inputs[0]
            let ys = try Broadcast.strides(of: inputs[1].shape, to: x.shape)
            let maskScratch = Scratch<Scalar>(count: n)
            let px = x.pointer, py = inputs[1].pointer, pg = inputs[2].pointer
            let xs = x.shape, contiguous = Broadcast.contiguousStrides(x.shape)
            return Lowered(body: {
                do {
                    // mask = (x == y) as 0/1: x - y is exactly 0 at the maximum.
                    try Elementwise.binary(.sub, shape: xs, px.pointer, strides: contiguous,
                                           py.pointer, strides: ys, into: maskScratch.pointer, loop: loop)
                    for i in 0..<n { maskScratch.pointer[i] = maskScratch.pointer[i] == 0 ? 1 : 0 }
                    try Elementwise.binary(.mul, shape: xs, UnsafePointer(maskScratch.pointer),
                                           strides: contiguous,
                                           pg.pointer, strides: ys, into: out.pointer, loop: loop)
                } catch { throw failure(error) }
            }, flops: 3 * Double(n))
        }
    }

    /// A parameter's update run by the task of its gradient's product (Note [Updates in the
    /// gradient's product]): with `sgdRate`, `parameter += (−rate())·op(A)·op(B)` in one GEMM (the
    /// rate read when the task runs); otherwise the product into a buffer of this task's own, with
    /// `applyRange` on each finished block as the GEMM's epilogue (`applyBlock`, when given, on
    /// blocks narrower than a row: Note [Optimizer steps on blocks of rows]).
    static func updateInProduct(_ op: Operation, inputs: [Operand<Scalar>], parameter: Operand<Scalar>,
                                sgdRate: (@Sendable () -> Scalar)?, applyRange: ParameterUpdate<Scalar>.RangeApply?,
                                applyBlock: ParameterUpdate<Scalar>.BlockApply? = nil,
                                gradientStorage: UnsafeMutablePointer<Scalar>?, gradientScale: (@Sendable () -> Scalar)?,
                                apply: @escaping ParameterUpdate<Scalar>.Apply,
                                location: SourceLocation, loop: any ParallelLoop) throws -> Lowered {
        guard case let .matmul(ta, tb) = op, parameter.shape.count == 2, inputs.count == 2,
              sgdRate != nil || applyRange != nil || gradientStorage != nil else {
            throw GraphError(operation: op.name, shapes: inputs.map(\.shape), location: location,
                             message: "only a two-dimensional product can run its parameter's declared update")
        }
        let a = inputs[0], b = inputs[1]
        let m = parameter.shape[0], n = parameter.shape[1]
        let k = ta ? a.shape[0] : a.shape[1]
        let lda = a.shape[1], ldb = b.shape[1]
        let pa = a.pointer, pb = b.pointer, out = parameter.pointer
        let cache = cacheSizes(loop)
        let shapes = inputs.map(\.shape)
        let flops = 2 * Double(m) * Double(n) * Double(k) + 2 * Double(m * n)
        let failure: @Sendable (any Error) -> GraphError = { error in
            GraphError(operation: op.name, shapes: shapes, location: location, message: "\(error)")
        }
        if let storage = gradientStorage {
            // Note [Gradients into the update's memory].
            let g = Address(storage)
            return Lowered(body: {
                do {
                    try GEMM.multiply(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: gradientScale?() ?? 1,
                                      a: pa.pointer, lda: lda, b: pb.pointer, ldb: ldb,
                                      c: g.pointer, ldc: n, loop: loop, cache: cache)
                } catch { throw failure(error) }
                apply(UnsafeMutableBufferPointer(start: out.pointer, count: m * n),
                      UnsafeBufferPointer(start: g.pointer, count: m * n))
            }, flops: flops)
        }
        if let rate = sgdRate {
            return Lowered(body: {
                do {
                    try GEMM.multiply(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: -rate(),
                                      a: pa.pointer, lda: lda, b: pb.pointer, ldb: ldb, beta: 1,
                                      c: out.pointer, ldc: n, loop: loop, cache: cache)
                } catch { throw failure(error) }
            }, flops: flops)
        }
        let apply = applyRange!
        let gradient = Scratch<Scalar>(count: m * n)
        let g = Address(gradient.pointer)
        // Each finished block's rows: one range when the block spans whole rows, else the block
        // in one call when the rule takes blocks, or row by row.
        let epilogue: GEMM.Epilogue = { rows, columns in
            if columns.count == n {
                apply(out.pointer, g.pointer, (rows.lowerBound * n)..<(rows.upperBound * n))
            } else if let applyBlock {
                applyBlock(out.pointer, g.pointer, rows, columns, n)
            } else {
                for r in rows { apply(out.pointer, g.pointer, (r * n + columns.lowerBound)..<(r * n + columns.upperBound)) }
            }
        }
        return Lowered(body: {
            withExtendedLifetime(gradient) {}
            do {
                try GEMM.multiply(transposeA: ta, transposeB: tb, m: m, n: n, k: k,
                                  a: pa.pointer, lda: lda, b: pb.pointer, ldb: ldb,
                                  c: g.pointer, ldc: n, loop: loop, cache: cache, epilogue: epilogue)
            } catch { throw failure(error) }
        }, flops: flops)
    }

    /// The caches GEMM blocks for: this machine's (hwloc's, through the executor's topology).
    static func cacheSizes(_ loop: any ParallelLoop) -> CacheSizes {
        (loop as? Scheduler.Executor)?.topology.cacheSizes ?? MachineCaches.sizes
    }

    /// A reduction over `axes` of `x`.
    static func reduce(_ kernelOp: ReduceOp, _ x: Operand<Scalar>, axes: [Int], out: Address<Scalar>, loop: any ParallelLoop,
                       failure: @escaping @Sendable (any Error) -> GraphError) -> Lowered {
        let px = x.pointer, xs = x.shape
        return Lowered(body: {
            do {
                try Reduction.reduce(kernelOp, px.pointer, shape: xs, axes: axes, into: out.pointer, loop: loop)
            } catch { throw failure(error) }
        }, flops: Double(x.count))
    }

    /// `x` as rows of its last axis (layer normalization's view), with the forward pass's flops.
    static func rows(of x: Operand<Scalar>) -> (Address<Scalar>, rows: Int, cols: Int, flops: Double) {
        let cols = x.shape.last!, rows = cols == 0 ? 0 : x.count / cols
        return (x.pointer, rows, cols, 10 * Double(x.count))
    }

    /// The geometry of pooling an NHWC `image`, and the flops of one pass over its windows.
    static func pooling(image: [Int], kernel k: [Int], stride st: [Int], padding p: [Int]) -> (Pool2DShape, Double) {
        let geometry = Pool2DShape(batch: image[0], height: image[1], width: image[2], channels: image[3],
                                   kernel: (k[0], k[1]), stride: (st[0], st[1]), padding: (p[0], p[1]))
        let flops = Double(geometry.batch * geometry.outputHeight * geometry.outputWidth * geometry.channels * k[0] * k[1])
        return (geometry, flops)
    }

    /// The geometry of convolving an NHWC `image` with an HWIO `filter`, and the flops of one pass.
    static func convolution(image x: [Int], filter f: [Int], stride st: [Int], padding p: [Int], dilation d: [Int],
                            groups: Int) -> (Conv2DShape, Double) {
        let geometry = Conv2DShape(batch: x[0], height: x[1], width: x[2], inputChannels: x[3], outputChannels: f[3],
                                   kernel: (f[0], f[1]), stride: (st[0], st[1]), padding: (p[0], p[1]),
                                   dilation: (d[0], d[1]), groups: groups)
        return (geometry, 2 * Double(geometry.patchRows) * Double(geometry.patchSize) * Double(f[3]))
    }

    /// Element `flat` of a row-major tensor of `shape` as an index, e.g. `[1, 2]` (for messages).
    static func position(_ flat: Int, in shape: [Int]) -> String {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for d in shape.indices.reversed() where shape[d] > 0 {
            index[d] = rest % shape[d]
            rest /= shape[d]
        }
        return "\(index)"
    }

    /// Elements per chunk of a fused group: small enough that a chain's intermediates stay in L1/L2.
    static var chunkSize: Int { 4096 }
    /// Fused elementwise groups of fewer elements than this run on one worker (as `Elementwise`
    /// does below two of its 32 Ki-element chunks).
    static var parallelMinimum: Int { 1 << 16 }

    /// One elementwise node as a task of its own.
    static func elementwise(_ form: ElementwiseForm, inputs: [Operand<Scalar>], output: Operand<Scalar>,
                            loop: any ParallelLoop, failure: @escaping @Sendable (any Error) -> GraphError) throws -> Lowered {
        let out = output.pointer
        let n = output.count
        let shape = output.shape
        switch form {
        case let .binary(kernelOp):
            let a = inputs[0], b = inputs[1]
            let pa = a.pointer, pb = b.pointer
            if a.shape == shape && b.shape == shape {
                return Lowered(body: {
                    Elementwise.binary(kernelOp, pa.pointer, pb.pointer, into: out.pointer, count: n, loop: loop)
                }, flops: Double(n))
            }
            if a.shape == shape && b.count == 1 {
                return Lowered(body: {
                    Elementwise.binary(kernelOp, pa.pointer, scalar: pb.pointer[0], into: out.pointer, count: n, loop: loop)
                }, flops: Double(n))
            }
            if b.shape == shape && a.count == 1 {
                return Lowered(body: {
                    Elementwise.binary(kernelOp, pb.pointer, scalar: pa.pointer[0], scalarFirst: true,
                                       into: out.pointer, count: n, loop: loop)
                }, flops: Double(n))
            }
            let sa = try Broadcast.strides(of: a.shape, to: shape)
            let sb = try Broadcast.strides(of: b.shape, to: shape)
            return Lowered(body: {
                do {
                    try Elementwise.binary(kernelOp, shape: shape, pa.pointer, strides: sa, pb.pointer, strides: sb,
                                           into: out.pointer, loop: loop)
                } catch { throw failure(error) }
            }, flops: Double(n))

        case let .unary(kernelOp):
            let x = inputs[0].pointer
            let perElement: Double = switch kernelOp {
            case .neg, .relu, .abs, .square: 1
            case .sqrt: 4
            case .exp, .log, .tanh, .sigmoid, .gelu, .pow: 15
            }
            return Lowered(body: {
                Elementwise.unary(kernelOp, x.pointer, into: out.pointer, count: n, loop: loop)
            }, flops: perElement * Double(n))

        case let .constant(kernelOp, c):
            let x = inputs[0].pointer
            let s = Scalar(c)
            return Lowered(body: {
                Elementwise.binary(kernelOp, x.pointer, scalar: s, into: out.pointer, count: n, loop: loop)
            }, flops: Double(n))

        case let .gradient(kernelOp):
            let v = inputs[0].pointer, g = inputs[1].pointer
            return Lowered(body: {
                Elementwise.unaryGradient(kernelOp, value: v.pointer, gradient: g.pointer, into: out.pointer,
                                          count: n, loop: loop)
            }, flops: 3 * Double(n))

        case let .clamp(lo, hi):
            let x = inputs[0].pointer
            let lower = Scalar(lo), upper = Scalar(hi)
            return Lowered(body: {
                Selection.clamp(x.pointer, lower: lower, upper: upper, into: out.pointer, count: n, loop: loop)
            }, flops: 2 * Double(n))

        case let .clampGradient(lo, hi):
            let x = inputs[0].pointer, g = inputs[1].pointer
            let lower = Scalar(lo), upper = Scalar(hi)
            return Lowered(body: {
                Selection.clampGradient(x.pointer, lower: lower, upper: upper, gradient: g.pointer, into: out.pointer,
                                        count: n, loop: loop)
            }, flops: 2 * Double(n))

        case .fill:
            let x = inputs[0].pointer
            return Lowered(body: { Elementwise.fill(out.pointer, value: x.pointer[0], count: n) }, flops: 0)
        }
    }

    /// The micro-op of a node in a fused group (`PlanSteps`) and its flops.
    static func microOp(_ form: ElementwiseForm, inputs: [Operand<Scalar>], output: Operand<Scalar>) -> (MicroOp<Scalar>, Double) {
        let out = output.address
        let n = Double(output.count)
        switch form {
        case let .binary(kernelOp):
            let a = inputs[0], b = inputs[1]
            let aScalar = a.count == 1 && output.count != 1, bScalar = b.count == 1 && output.count != 1
            let cols = output.shape.last ?? 1
            let aRow = !aScalar && a.count != output.count, bRow = !bScalar && b.count != output.count
            let kind: MicroOp<Scalar>.Kind = aScalar && bScalar ? .scalarScalar : bScalar ? .arrayScalar : aScalar ? .scalarArray
                : aRow && bRow ? .rowRow : bRow ? .arrayRow : aRow ? .rowArray : .arrayArray
            return (MicroOp(code: .binary(kernelOp, kind), a: a.address, b: b.address, out: out, constant: 0, rowLength: cols), n)
        case let .constant(kernelOp, v):
            return (MicroOp(code: .binary(kernelOp, .arrayConstant), a: inputs[0].address, b: out, out: out, constant: Scalar(v)), n)
        case let .gradient(kernelOp):
            return (MicroOp(code: .gradient(kernelOp), a: inputs[0].address, b: inputs[1].address, out: out, constant: 0), 3 * n)
        case let .clamp(lo, hi):
            return (MicroOp(code: .clamp(Scalar(lo), Scalar(hi)), a: inputs[0].address, b: out, out: out, constant: 0), 2 * n)
        case let .clampGradient(lo, hi):
            return (MicroOp(code: .clampGradient(Scalar(lo), Scalar(hi)), a: inputs[0].address, b: inputs[1].address,
                            out: out, constant: 0), 2 * n)
        case .fill:
            return (MicroOp(code: .fill, a: inputs[0].address, b: out, out: out, constant: 0), 0)
        case let .unary(kernelOp):
            return (MicroOp(code: .unary(kernelOp), a: inputs[0].address, b: out, out: out, constant: 0), 15 * n)
        }
    }

    /// One task running a group's micro-ops chunk by chunk; large groups split their chunks over
    /// `loop` (elementwise, so the split never changes a result).
    static func fused(_ ops: [MicroOp<Scalar>], count: Int, rowLength: Int, loop: any ParallelLoop) -> Body {
        // Chunks hold whole rows when a member broadcasts a row vector over them.
        let size = rowLength > 0 ? rowLength * Swift.max(1, chunkSize / rowLength) : chunkSize
        let program = MicroProgram(ops)
        let pieces = (count + size - 1) / size
        if pieces <= 1 { return { program.run(0, count) } }
        return {
            let run: (Range<Int>) -> Void = { range in
                for p in range {
                    let s = p * size
                    program.run(s, Swift.min(size, count - s))
                }
            }
            // Below `parallelMinimum` elements the chunks run in order here: handing microseconds
            // of work to other workers costs more than it saves.
            if loop.concurrency <= 1 || count < parallelMinimum { run(0..<pieces) } else { loop.parallelFor(0..<pieces, grain: 1, run) }
        }
    }

    static func copy(shape: [Int], from x: Address<Scalar>, strides: [Int], to out: Address<Scalar>,
                     failure: @escaping @Sendable (any Error) -> GraphError, loop: any ParallelLoop) -> Lowered {
        Lowered(body: {
            do {
                try StridedCopy.copy(shape: shape, from: x.pointer, strides: strides, to: out.pointer, loop: loop)
            } catch { throw failure(error) }
        }, flops: 0)
    }

    /// Softmax kernels work on the last axis; another axis is moved last into scratch and back.
    static func softmax(input x: Operand<Scalar>, axis: Int, log: Bool, out: Address<Scalar>, loop: any ParallelLoop,
                        failure: @escaping @Sendable (any Error) -> GraphError) -> Lowered {
        let shape = x.shape
        let cols = shape[axis]
        let count = x.count
        let rows = cols == 0 ? 0 : count / cols
        let px = x.pointer
        let flops = 20 * Double(count)
        if axis == shape.count - 1 {
            return Lowered(body: {
                if log { Softmax.logForward(px.pointer, into: out.pointer, rows: rows, cols: cols, loop: loop) }
                else { Softmax.forward(px.pointer, into: out.pointer, rows: rows, cols: cols, loop: loop) }
            }, flops: flops)
        }
        var perm = Array(0..<shape.count)
        perm.remove(at: axis)
        perm.append(axis)
        let own = Broadcast.contiguousStrides(shape)
        let movedShape = perm.map { shape[$0] }
        let movedStrides = perm.map { own[$0] }
        let scratch = Scratch<Scalar>(count: count)
        // Writing back: moved index i maps to original position with strides `own` permuted.
        return Lowered(body: {
            do {
                try StridedCopy.copy(shape: movedShape, from: px.pointer, strides: movedStrides, to: scratch.pointer, loop: loop)
                if log { Softmax.logForward(scratch.pointer, into: scratch.pointer, rows: rows, cols: cols, loop: loop) }
                else { Softmax.forward(scratch.pointer, into: scratch.pointer, rows: rows, cols: cols, loop: loop) }
                try StridedCopy.copy(shape: movedShape, from: scratch.pointer, strides: Broadcast.contiguousStrides(movedShape),
                                     to: out.pointer, strides: movedStrides, loop: loop)
            } catch { throw failure(error) }
        }, flops: flops)
    }
}

/// One elementwise operation of a fused group, as plain data (pointers and kernel enums, nothing
/// reference-counted), so running a group costs no retain/release per operation and chunk.
struct MicroOp<Scalar: TensorScalar> {
    enum Kind {
        case arrayArray, arrayScalar, scalarArray, scalarScalar, arrayConstant, arrayRow, rowArray, rowRow

        /// For the kinds whose operands are arrays or row vectors, whether each one is a row
        /// vector (read from the block's first column on, the same for every row); nil for the
        /// kinds with a scalar operand.
        var rowOperands: (a: Bool, b: Bool)? {
            switch self {
            case .arrayArray: (false, false)
            case .arrayRow: (false, true)
            case .rowArray: (true, false)
            case .rowRow: (true, true)
            case .arrayScalar, .scalarArray, .scalarScalar, .arrayConstant: nil
            }
        }
    }
    enum Code {
        case binary(BinaryOp, Kind)
        case unary(UnaryOp)
        case gradient(UnaryGradient)
        /// `out = a[0]` (broadcast of a one-element value).
        case fill
        /// `out = clamp(a, lower, upper)`.
        case clamp(Scalar, Scalar)
        /// `out = b` where `lower <= a <= upper`, else 0.
        case clampGradient(Scalar, Scalar)
    }
    let code: Code
    let a: UnsafeMutablePointer<Scalar>
    let b: UnsafeMutablePointer<Scalar>
    let out: UnsafeMutablePointer<Scalar>
    let constant: Scalar
    /// Row length for the row-broadcast kinds (chunks then start and end on row boundaries).
    var rowLength: Int = 0

    /// Elements `s ..< s + c` of one row of this operation's output, starting at column `column`
    /// of the row (a block of a product's result in its epilogue): row vectors are read from
    /// `column` on.
    @inline(__always)
    func run(_ s: Int, _ c: Int, column: Int) {
        let serial = SerialLoop()
        if case let .binary(op, kind) = code {
            switch kind {
            case .arrayRow: Elementwise.binary(op, a + s, b + column, into: out + s, count: c, loop: serial); return
            case .rowArray: Elementwise.binary(op, a + column, b + s, into: out + s, count: c, loop: serial); return
            case .rowRow: Elementwise.binary(op, a + column, b + column, into: out + s, count: c, loop: serial); return
            default: break
            }
        }
        run(s, c)
    }

    /// The block `rows × columns` of this operation's output, whose rows are `width` long (a
    /// product's epilogue on a block narrower than its result): one call per block for the
    /// kinds that have a block form (Note [Elementwise blocks of rows]), a row at a time for
    /// the others.
    @inline(__always)
    func run(rows: Range<Int>, columns: Range<Int>, width: Int) {
        let s = rows.lowerBound * width + columns.lowerBound, h = rows.count, n = columns.count, j = columns.lowerBound
        switch code {
        case let .binary(op, kind) where kind.rowOperands != nil:
            let (aIsRow, bIsRow) = kind.rowOperands!
            Elementwise.binaryRows(op, aIsRow ? a + j : a + s, rowStride: aIsRow ? 0 : width,
                                   bIsRow ? b + j : b + s, rowStride: bIsRow ? 0 : width,
                                   into: out + s, rowStride: width, rows: h, columns: n)
        case let .unary(op):
            Elementwise.unaryRows(op, a + s, rowStride: width, into: out + s, rowStride: width, rows: h, columns: n)
        case let .gradient(op):
            Elementwise.unaryGradientRows(op, value: a + s, rowStride: width, gradient: b + s, rowStride: width,
                                          into: out + s, rowStride: width, rows: h, columns: n)
        default:
            for r in rows { run(r * width + j, n, column: j) }
        }
    }

    /// Elements `s ..< s + c` of this operation's output.
    @inline(__always)
    func run(_ s: Int, _ c: Int) {
        let serial = SerialLoop()
        switch code {
        case let .binary(op, kind):
            switch kind {
            case .arrayArray: Elementwise.binary(op, a + s, b + s, into: out + s, count: c, loop: serial)
            case .arrayScalar: Elementwise.binary(op, a + s, scalar: b[0], into: out + s, count: c, loop: serial)
            case .scalarArray: Elementwise.binary(op, b + s, scalar: a[0], scalarFirst: true, into: out + s, count: c, loop: serial)
            case .arrayConstant: Elementwise.binary(op, a + s, scalar: constant, into: out + s, count: c, loop: serial)
            case .scalarScalar:
                Elementwise.fill(out + s, value: a[0], count: c)
                Elementwise.binary(op, out + s, scalar: b[0], into: out + s, count: c, loop: serial)
            case .arrayRow where rowLength < 64, .rowArray where rowLength < 64:
                // Short rows (a bias over few channels): the row repeated into a pattern of about
                // 256 elements, so each kernel call covers many rows (chunks hold whole rows).
                let n = rowLength, repeats = Swift.max(1, 256 / n), period = n * repeats
                withUnsafeTemporaryAllocation(of: Scalar.self, capacity: period) { buffer in
                    let pattern = buffer.baseAddress!, row = kind == .arrayRow ? b : a
                    for k in 0..<repeats { (pattern + k * n).update(from: row, count: n) }
                    var r = s
                    while r < s + c {
                        let m = Swift.min(period, s + c - r)
                        if kind == .arrayRow {
                            Elementwise.binary(op, a + r, pattern, into: out + r, count: m, loop: serial)
                        } else {
                            Elementwise.binary(op, pattern, b + r, into: out + r, count: m, loop: serial)
                        }
                        r += m
                    }
                }
            case .arrayRow, .rowArray, .rowRow:
                let n = rowLength
                var r = s
                while r < s + c {
                    let pa = kind == .arrayRow ? a + r : a, pb = kind == .rowArray ? b + r : b
                    Elementwise.binary(op, pa, pb, into: out + r, count: n, loop: serial)
                    r += n
                }
            }
        case let .unary(op): Elementwise.unary(op, a + s, into: out + s, count: c, loop: serial)
        case let .gradient(op): Elementwise.unaryGradient(op, value: a + s, gradient: b + s, into: out + s, count: c, loop: serial)
        case .fill: Elementwise.fill(out + s, value: a[0], count: c)
        case let .clamp(lo, hi): Selection.clamp(a + s, lower: lo, upper: hi, into: out + s, count: c, loop: serial)
        case let .clampGradient(lo, hi):
            Selection.clampGradient(a + s, lower: lo, upper: hi, gradient: b + s, into: out + s, count: c, loop: serial)
        }
    }
}

/// A fused group's micro-ops in one buffer.
///
/// - Note: `@unchecked Sendable`: immutable after init; the memory the ops point to is ordered by
///   the task graph like every other task's (see BufferPlan).
final class MicroProgram<Scalar: TensorScalar>: @unchecked Sendable {
    private let ops: UnsafeMutableBufferPointer<MicroOp<Scalar>>

    init(_ list: [MicroOp<Scalar>]) {
        ops = .allocate(capacity: list.count)
        _ = ops.initialize(from: list)
    }

    deinit {
        ops.deinitialize()
        ops.deallocate()
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func run(_ start: Int, _ count: Int) {
        for i in 0..<ops.count { ops[i].run(start, count) }
    }

    /// The block `rows × columns` of outputs that are `width`-long rows (a product's epilogue):
    /// whole rows in one run, a narrower block operation by operation, each on the whole block
    /// (Note [Elementwise blocks of rows]).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func run(rows: Range<Int>, columns: Range<Int>, width: Int) {
        if columns.count == width {
            run(rows.lowerBound * width, rows.count * width)
            return
        }
        for i in 0..<ops.count { ops[i].run(rows: rows, columns: columns, width: width) }
    }
}

/// A buffer owned by one task body (allocated at plan time, freed with the plan).
///
/// - Note: `@unchecked Sendable` because only the one task that owns it touches it, and a plan runs
///   one run at a time.
final class Scratch<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    init(count: Int) { pointer = LargeAllocation.allocate(Element.self, capacity: count).baseAddress! }
    deinit { pointer.deallocate() }
}
