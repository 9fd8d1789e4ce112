import Foundation

/// Per-epoch losses and metric values of a training run, for a self-contained HTML page
/// (`training.html`) with the learning curves: loss per epoch and the metric per epoch, each for
/// the training data and the held-out (validation or test) data.
///
/// ```swift
/// var curves = LearningCurves(metricName: "accuracy", heldOutName: "validation")
/// curves.append(.init(epoch: 1, trainLoss: 0.9, heldOutLoss: 1.0, trainMetric: 0.70, heldOutMetric: 0.66, seconds: 1.2))
/// curves.append(.init(epoch: 2, trainLoss: 0.5, heldOutLoss: 0.7, trainMetric: 0.85, heldOutMetric: 0.80, seconds: 1.1))
/// curves.bestEpoch = 2
/// try curves.write(toDirectory: "runs/digits", title: "digits MLP",
///                  facts: [("data set", "digits.csv"), ("optimizer", "adam 1e-3")])
/// ```
public struct LearningCurves: Sendable {
    /// One epoch's numbers. A nil value was not measured; a NaN one (a diverged run) is shown as
    /// "NaN" in the table and left out of the charts, like a nil one.
    public struct Epoch: Sendable {
        /// The epoch's number, as the caller counts (the charts' x axis).
        public var epoch: Int
        /// Mean loss over the training data.
        public var trainLoss: Double
        /// Loss on the held-out data.
        public var heldOutLoss: Double?
        /// The metric (see `LearningCurves.metricName`) on the training data.
        public var trainMetric: Double?
        /// The metric on the held-out data.
        public var heldOutMetric: Double?
        /// Wall-clock seconds the epoch took.
        public var seconds: Double

        /// An epoch's numbers; leave out what was not measured.
        public init(epoch: Int, trainLoss: Double, heldOutLoss: Double? = nil, trainMetric: Double? = nil,
                    heldOutMetric: Double? = nil, seconds: Double) {
            self.epoch = epoch
            self.trainLoss = trainLoss
            self.heldOutLoss = heldOutLoss
            self.trainMetric = trainMetric
            self.heldOutMetric = heldOutMetric
            self.seconds = seconds
        }
    }

    /// What `trainMetric` and `heldOutMetric` measure ("accuracy", "R²"): the second chart's name.
    public var metricName: String
    /// What the held-out data is ("validation", "test"): the name of the second series.
    public var heldOutName: String
    /// The epochs in the order they were appended (the charts sort them by number).
    public var epochs: [Epoch] = []
    /// The `epoch` number of the epoch whose model was kept (early stopping's best), marked on the
    /// charts and in the table; nil for none.
    public var bestEpoch: Int?

    /// No epochs yet.
    public init(metricName: String, heldOutName: String) {
        self.metricName = metricName
        self.heldOutName = heldOutName
    }

    /// Adds one epoch's numbers.
    public mutating func append(_ e: Epoch) { epochs.append(e) }

    /// Writes `html(title:facts:)` to `dir/training.html`, creating `dir` (and its parents) when
    /// missing. The file is replaced atomically: readers see the old page or the new one, never
    /// half of it.
    /// - Throws: `ReportError.writeFailed` naming the directory or file and the reason.
    public func write(toDirectory dir: String, title: String, facts: [(String, String)]) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw ReportError.writeFailed(file: dir, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        let path = (dir.hasSuffix("/") ? dir : dir + "/") + "training.html"
        do {
            try AtomicFile.write(Array(html(title: title, facts: facts).utf8), to: path)
        } catch let CheckpointError.writeFailed(_, reason) {
            throw ReportError.writeFailed(file: path, reason: reason)
        }
    }
}
