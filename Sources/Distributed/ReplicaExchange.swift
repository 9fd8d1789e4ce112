import Tensor
import Training

/// The `GradientExchange` a `DataParallelTrainer` gives its trainer: this rank's share of each
/// batch, plan hooks that send gradients (ranked so the first bucket's are computed first), and
/// the bucket reducer that sums them and applies the updates.
final class ReplicaExchange<Scalar: TensorScalar>: GradientExchange {
    let reducer: BucketReducer<Scalar>
    let rank: Int
    let size: Int
    /// Per parameter: its rank in the plan (the first parameter sent has the highest).
    private let priorities: [Int]

    init(reducer: BucketReducer<Scalar>, rank: Int, size: Int) {
        self.reducer = reducer
        self.rank = rank
        self.size = size
        let order = reducer.layout.sendOrder
        var priorities = [Int](repeating: 0, count: order.count)
        for (position, p) in order.enumerated() { priorities[p] = order.count - position }
        self.priorities = priorities
    }

    var processCount: Int { size }

    func localRows(of batch: ArraySlice<Int>) -> ArraySlice<Int> {
        let share = DataParallelTrainer<Scalar>.share(of: batch.count, rank: rank, size: size)
        return batch[(batch.startIndex + share.lowerBound)..<(batch.startIndex + share.upperBound)]
    }

    func planUpdate(parameter index: Int, replacing update: ParameterUpdate<Scalar>) -> ParameterUpdate<Scalar> {
        let reducer = reducer
        let bucket = reducer.layout.location[index].bucket
        let name = update.name.map { $0.replacingPrefix("update ", with: "") } ?? "parameter \(index)"
        var send = ParameterUpdate(parameter: update.parameter, gradient: update.gradient,
                                   name: "send \(name) (bucket \(bucket))") { values, gradients in
            reducer.deposit(index, values, gradients)
        }
        send.writesParameter = false
        // A product gradient is written into its bucket by the plan, already weighted.
        send.gradientStorage = reducer.slot(of: index)
        send.gradientScale = { reducer.weight }
        send.priority = priorities[index]
        return send
    }

    func beginStep(localRows: Int, batchRows: Int) throws {
        try reducer.begin(localRows: localRows, batchRows: batchRows)
    }

    func finishStep() throws {
        try reducer.finish()
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
