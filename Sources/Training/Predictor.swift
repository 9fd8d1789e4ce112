import Foundation
import Scheduler
import Tensor

/// A trained model ready for new data: rebuilt from a checkpoint (its model description, its
/// parameters and its preprocessing), it encodes a table exactly as training did and returns class
/// probabilities or values in the targets' own units.
///
/// ```swift
/// let predictor = try Predictor<Float>(checkpoint: Checkpoint(contentsOf: "run.ckpt"), executor: nil)
/// let table = try DataTable(csvFile: "new.csv")
/// let p = try predictor.predict(table)
/// print(p.classNames![p.classes[0]], p.values[0..<p.width])
/// ```
public final class Predictor<Scalar: TensorScalar> {
    /// How tables are encoded.
    public let preprocessor: Preprocessor
    /// The model's architecture and loss.
    public let model: ModelDescription
    /// The trainer holding the model's graph and plans (its optimizer is unused).
    public let trainer: Trainer<Scalar>

    /// Rebuilds the model of `checkpoint` (saved by `bench train` or with `ModelDescription` and
    /// `Preprocessor` metadata) and loads its parameters; throws if anything is missing or does not fit.
    public init(checkpoint: Checkpoint, executor: Executor?) throws {
        guard let modelText = checkpoint.metadata[ModelDescription.key] else {
            throw CheckpointError.mismatch("the checkpoint has no model description (metadata '\(ModelDescription.key)'): it was not saved for prediction")
        }
        guard let prepText = checkpoint.metadata[Preprocessor.key] else {
            throw CheckpointError.mismatch("the checkpoint has no preprocessing (metadata '\(Preprocessor.key)')")
        }
        model = try ModelDescription(json: modelText)
        preprocessor = try Preprocessor(json: prepText)
        let idle = Optimizer.sgd(learningRate: .constant(0))
        switch model.kind {
        case "mlp":
            guard let widths = model.widths, widths.count >= 2, widths.allSatisfy({ $0 > 0 }),
                  let activation = model.activation.flatMap(Activation.init(rawValue:)), let loss = model.trainedLoss else {
                throw CheckpointError.mismatch("the checkpoint's MLP description is incomplete: \(modelText)")
            }
            var rng = SeededGenerator(seed: 0)
            let mlp = MLP(graph: Graph<Scalar>(), widths: widths, activation: activation, using: &rng)
            trainer = try Trainer(model: mlp, loss: loss, optimizer: idle, batchSize: 1, seed: checkpoint.seed, executor: executor)
        case "sequential":
            guard let inputShape = model.inputShape, let layers = model.layers, let loss = model.trainedLoss else {
                throw CheckpointError.mismatch("the checkpoint's layered model description is incomplete: \(modelText)")
            }
            var rng = SeededGenerator(seed: 0)
            let sequential = try Sequential(graph: Graph<Scalar>(), inputShape: inputShape, layers: layers, using: &rng)
            trainer = try Trainer(model: sequential, loss: loss, optimizer: idle, batchSize: 1, seed: checkpoint.seed, executor: executor)
        case "graph":
            guard let text = model.graph else { throw CheckpointError.mismatch("the checkpoint's graph model has no graph text") }
            let file = try GraphFile<Scalar>(json: Data(text.utf8), fileName: "checkpoint graph")
            guard let training = file.training else {
                throw CheckpointError.mismatch("the checkpoint's graph has no training section")
            }
            let spec = try training.trainingGraph(featureNames: preprocessor.encodedFeatureNames)
            trainer = try Trainer(graph: spec, loss: model.trainedLoss, optimizer: idle, seed: checkpoint.seed, executor: executor)
        default:
            throw CheckpointError.mismatch("unknown model kind '\(model.kind)' in the checkpoint")
        }
        try trainer.loadParameters(from: checkpoint)
    }

    /// Predictions for the rows of a table.
    public struct Predictions: Sendable {
        public let task: LearningTask
        /// Rows predicted.
        public let rows: Int
        /// Values per row: class probabilities (one per class) or regression targets.
        public let width: Int
        /// `rows x width`: probabilities, or values in the targets' units.
        public let values: [Double]
        /// Classification: the most probable class of each row.
        public let classes: [Int]
        /// Classification: class names by index; regression: nil.
        public let classNames: [String]?
        /// Regression: target names.
        public let targetNames: [String]
    }

    /// Encodes `table` (feature columns found by name) and runs the model over every row. When the
    /// table also has the label column(s), the encoded dataset with targets is returned too, for scoring.
    ///
    /// Unavailable in async code: use `try await predict(_:)` there.
    @available(*, noasync, message: "use the async form, `try await predict(_:)`, which does not block a thread")
    public func predict(_ table: DataTable) throws -> (predictions: Predictions, labelled: Dataset?) {
        let scored = preprocessor.hasTargets(table)
        let data = try preprocessor.dataset(table, targets: scored)
        let (raw, width) = try trainer.predict(data)
        return (predictions(raw, width: width, rows: data.count), scored ? data : nil)
    }

    /// `predict(_:)`, suspending the calling task while the plans run instead of blocking its
    /// thread; cancelling the task stops it with `CancellationError`.
    nonisolated(nonsending)
    public func predict(_ table: DataTable) async throws -> (predictions: Predictions, labelled: Dataset?) {
        let scored = preprocessor.hasTargets(table)
        let data = try preprocessor.dataset(table, targets: scored)
        let (raw, width) = try await trainer.predict(data)
        return (predictions(raw, width: width, rows: data.count), scored ? data : nil)
    }

    /// The model's raw outputs (`rows × width`) as class probabilities or values in the targets' units.
    private func predictions(_ raw: [Double], width: Int, rows n: Int) -> Predictions {
        let predictions: Predictions
        if let names = preprocessor.target.classNames {
            let loss = trainer.loss ?? (width == 1 ? .binaryCrossEntropy : .crossEntropy)
            var probabilities: [Double] = []
            var classes: [Int] = []
            for r in 0..<n {
                var p = loss.probabilities(row: raw[(r * width)..<((r + 1) * width)])
                p = Array(p.prefix(names.count))
                classes.append(p.indices.max { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) } ?? 0)
                probabilities.append(contentsOf: p)
            }
            predictions = Predictions(task: preprocessor.task, rows: n, width: names.count, values: probabilities,
                                      classes: classes, classNames: names, targetNames: preprocessor.target.names)
        } else {
            predictions = Predictions(task: .regression, rows: n, width: width,
                                      values: preprocessor.targetsInOriginalUnits(raw), classes: [], classNames: nil,
                                      targetNames: preprocessor.target.names)
        }
        return predictions
    }
}
