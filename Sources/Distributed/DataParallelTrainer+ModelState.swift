import Training

// Note [Model state across ranks]: a model's state (batch normalization's running mean and
// variance, `Trainer.state`) is not trained by the optimizer, so the gradient sums do not keep
// it equal on every rank: each rank's steps update it from the batch statistics of its own share
// of the rows, and the replicas drift apart. Left alone, evaluation would combine ranks that
// normalize differently, and a checkpoint (rank 0's) would hold rank 0's statistics only. So
// after every epoch, before evaluation and the replicas' check, the ranks replace their state by
// its mean over the ranks (the sum through MPI's all-reduce, then divided by N), as the
// "distributed batch norm" step of common data-parallel training scripts does; PyTorch DDP
// instead copies rank 0's buffers to every rank before each forward, which discards the other
// ranks' statistics. Within an epoch each rank normalizes a batch over its own rows (DDP without
// SyncBatchNorm): N ranks match one process up to rounding only for models without batch
// normalization. One rank keeps its state untouched (bitwise one process).

extension DataParallelTrainer {
    /// Replaces every rank's model state (`Trainer.state`, e.g. batch normalization's running
    /// statistics) by its mean over the ranks (Note [Model state across ranks]); `trainEpoch`
    /// calls it after every epoch. Collective: every rank calls it. Nothing to do for one rank or
    /// a model without state.
    public func averageModelState(what: String) throws {
        guard size > 1, !trainer.state.isEmpty else { return }
        guard let datatype = MPIDatatype.of(Scalar.self) else {
            throw communicator.error(.unavailable, "no MPI datatype for \(Scalar.self) (averaging the model state)")
        }
        let arrays = try trainer.stateValues()
        var all = arrays.flatMap { $0 }
        try all.withUnsafeMutableBufferPointer { buffer in
            try communicator.allreduce(UnsafeMutableRawPointer(buffer.baseAddress), count: buffer.count,
                                       datatype: datatype, op: .sum, what: "the model state (\(what))")
        }
        let ranks = Scalar(size)
        var start = 0
        let averaged = arrays.map { array in
            defer { start += array.count }
            return all[start..<(start + array.count)].map { $0 / ranks }
        }
        try trainer.setStateValues(averaged)
    }
}
