import Kernels

/// The storage of a parameter or constant: one heap buffer shared by the graph and every plan built
/// from it, so a training plan's updates are what an evaluation plan (or a checkpoint) reads next.
///
/// - Note: `@unchecked Sendable` because plan tasks read and write `buffer` from worker threads.
///   That is safe by construction: within a run the plan orders each parameter update after every
///   read of that parameter (task-graph edges), and between runs the executor's completion
///   (a release/acquire handshake) orders the run's writes before the caller's next access.
///   Running two plans that update the same parameter at the same time is the caller's race.
final class ValueBox<Scalar: TensorScalar>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Scalar>
    let shape: [Int]

    init(_ tensor: Tensor<Scalar>) {
        shape = tensor.shape
        buffer = LargeAllocation.allocate(Scalar.self, capacity: tensor.count)
        tensor.withUnsafeBufferPointer { src in
            _ = buffer.initialize(fromContentsOf: src)
        }
    }

    deinit { buffer.deallocate() }

    var tensor: Tensor<Scalar> {
        Tensor(shape: shape, scalars: Array(buffer.prefix(shape.reduce(1, *))))
    }
}
