import Training

extension DataParallelTrainer {
    /// Evaluates the model on `data` with each rank computing its share of the rows, then
    /// combined: every rank gets the evaluation one process would compute (all predictions in row
    /// order, the loss over all rows, the confusion matrix or R²).
    public func evaluate(_ data: Dataset) throws -> Trainer<Scalar>.Evaluation {
        if let broken = brokenError { throw broken }
        if trainer.hasFixedBatch && data.count / size < trainer.batchSize {
            // A fixed-shape graph evaluates whole windows of its batch, which a share shorter
            // than one batch cannot fill: every rank evaluates every row (replicas are equal, so
            // every rank gets the same figures).
            return try trainer.evaluate(data)
        }
        let share = Self.share(of: data.count, rank: rank, size: size)
        let part = try trainer.evaluate(data.rows(share))
        let widths = try communicator.allgather(Int64(part.predictionWidth), what: "the evaluation's prediction widths")
        let width = Int(widths.max() ?? 0)
        let predictions = try communicator.allgather(part.predictions, what: "the evaluation's predictions")
        guard predictions.count == data.count * width else {
            throw communicator.error(.mismatch, "the ranks' predictions for \(data.count) rows hold \(predictions.count) values, expected \(data.count) x \(width)")
        }
        var confusion: ConfusionMatrix? = nil
        if let mine = part.confusion {
            var counts = mine.counts.map { Int64($0) }
            try counts.withUnsafeMutableBufferPointer { try communicator.allreduce($0, op: .sum, what: "the confusion matrix") }
            var matrix = ConfusionMatrix(classCount: mine.classCount)
            for actual in 0..<mine.classCount {
                for predicted in 0..<mine.classCount {
                    for _ in 0..<counts[actual * mine.classCount + predicted] { matrix.add(actual: actual, predicted: predicted) }
                }
            }
            confusion = matrix
        }
        var lossValue = 0.0
        if let loss = trainer.loss {
            lossValue = data.count > 0 ? loss.hostLoss(predictions: predictions, targets: data.targets, rows: data.count) : 0
        } else {
            var sum = [part.loss * Double(share.count)]
            try sum.withUnsafeMutableBufferPointer { try communicator.allreduce($0, op: .sum, what: "the evaluation loss") }
            lossValue = data.count > 0 ? sum[0] / Double(data.count) : 0
        }
        let r2 = confusion == nil ? Self.r2(predictions: predictions, width: width, data: data) : nil
        return Trainer<Scalar>.Evaluation(loss: lossValue, predictions: predictions, predictionWidth: width,
                                          confusion: confusion, r2: r2)
    }

    /// R² of `predictions` against `data`'s targets, averaged uniformly over targets (as
    /// `Trainer.evaluate` computes it).
    static func r2(predictions: [Double], width: Int, data: Dataset) -> Double? {
        let k = data.targetCount, n = data.count
        guard n > 0, k > 0 else { return nil }
        var total = 0.0
        for j in 0..<k {
            var mean = 0.0
            for r in 0..<n { mean += data.targets[r * k + j] }
            mean /= Double(n)
            var variance = 0.0, squaredErrors = 0.0
            for r in 0..<n {
                let d = data.targets[r * k + j] - mean
                variance += d * d
                if j < width {
                    let e = predictions[r * width + j] - data.targets[r * k + j]
                    squaredErrors += e * e
                }
            }
            variance /= Double(n)
            let mse = squaredErrors / Double(n)
            total += variance > 0 ? 1 - mse / variance : (mse == 0 ? 1 : 0)
        }
        return total / Double(k)
    }
}
