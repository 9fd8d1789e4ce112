import Foundation
import Tensor

/// The cost functions a model can be trained on, chosen to fit the data: each builds a scalar loss
/// node from the prediction and the target placeholder, computes the same loss on the host (for
/// evaluation over data sets whose size is not a batch multiple), and turns predictions into what
/// reports use (probabilities or values).
///
/// | loss | task | prediction | target |
/// |---|---|---|---|
/// | `mse`, `mae`, `huber` | regression | `[N, k]` values | `[N, k]` values |
/// | `bce` | binary | `[N, 1]` logits (or `[N, k]` for k independent labels) | same shape, 0 or 1 |
/// | `ce` | multiclass (or binary with 2 logits) | `[N, C]` logits | `[N]` class indices |
///
/// ```swift
/// let loss = try Loss.crossEntropy(prediction: logits, target: labels)   // softmax fused in the node
/// let huber = Loss(name: "huber")!                                        // delta 1
/// ```
public enum Loss: Sendable, Equatable, CustomStringConvertible {
    /// `mean((p - t)^2)`.
    case meanSquaredError
    /// `mean(|p - t|)`: robust to outliers; its gradient is the sign of the residual (0 at 0).
    case meanAbsoluteError
    /// `mean(h(p - t))` with `h(d) = d²/2` for `|d| <= delta`, `delta (|d| - delta/2)` beyond: quadratic
    /// near the target, linear (outlier-robust) far from it.
    case huber(delta: Double)
    /// Mean binary cross-entropy of `sigmoid(logits)` against targets in [0, 1], computed from the
    /// logits as `max(z, 0) - z t + log(1 + e^-|z|)`: exact for logits of any size.
    case binaryCrossEntropy
    /// Mean softmax cross-entropy of logits `[N, C]` against class indices `[N]` (softmax fused).
    case crossEntropy

    /// Every loss by its command-line name.
    public static let names = ["mse", "mae", "huber", "bce", "ce"]

    /// The loss named `mse`, `mae`, `huber` (delta 1), `bce` or `ce`; nil for anything else.
    public init?(name: String) {
        switch name {
        case "mse": self = .meanSquaredError
        case "mae": self = .meanAbsoluteError
        case "huber": self = .huber(delta: 1)
        case "bce": self = .binaryCrossEntropy
        case "ce": self = .crossEntropy
        default: return nil
        }
    }

    /// The command-line name.
    public var name: String {
        switch self {
        case .meanSquaredError: "mse"
        case .meanAbsoluteError: "mae"
        case .huber: "huber"
        case .binaryCrossEntropy: "bce"
        case .crossEntropy: "ce"
        }
    }

    public var description: String {
        if case let .huber(delta) = self, delta != 1 { return "huber(delta \(delta))" }
        return name
    }

    /// The tasks this loss fits.
    public var tasks: Set<LearningTask> {
        switch self {
        case .meanSquaredError, .meanAbsoluteError, .huber: [.regression]
        case .binaryCrossEntropy: [.binary]
        case .crossEntropy: [.binary, .multiclass]
        }
    }

    /// Throws a message naming the loss and the task when they do not fit (BCE on 5 classes, MSE on classes).
    public func check(fits task: LearningTask, classCount: Int? = nil) throws {
        guard tasks.contains(task) else {
            let classes = task.isClassification ? classCount.map { " (\($0) classes)" } ?? "" : ""
            let fitting = Loss.names.filter { Loss(name: $0)!.tasks.contains(task) }.joined(separator: ", ")
            throw TrainingError.lossDoesNotFit("loss '\(name)' does not fit a \(task.rawValue) task\(classes): use \(fitting)")
        }
    }

    /// Prediction columns a model needs for `task` with this loss: `classCount` logits for CE, one
    /// logit per target for BCE, one value per target for regression.
    public func outputWidth(task: LearningTask, classCount: Int, targetCount: Int) -> Int {
        switch self {
        case .crossEntropy: classCount
        case .binaryCrossEntropy: targetCount
        case .meanSquaredError, .meanAbsoluteError, .huber: targetCount
        }
    }

    /// The target placeholder's shape for `rows` rows: `[rows]` of class indices for CE,
    /// `[rows, targetCount]` otherwise.
    public func targetShape(rows: Int, targetCount: Int) -> [Int] {
        self == .crossEntropy ? [rows] : [rows, targetCount]
    }

    // MARK: - The graph

    /// The scalar loss node of `prediction` against `target` (shapes as in the table above, checked
    /// by the graph builder with errors naming the operation and shapes).
    public func callAsFunction<S>(prediction p: Node<S>, target t: Node<S>,
                                  file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
        switch self {
        case .meanSquaredError:
            return try graphMSE(p, t, file, line)
        case .binaryCrossEntropy:
            return try graphBCE(p, t, file, line)
        case .crossEntropy:
            return try graphSoftmaxCE(p, t, file, line)
        case .meanAbsoluteError:
            let d = try checkedResidual(p, t, file, line)
            return try graphAbs(d, file, line).mean(file: file, line: line)
        case let .huber(delta):
            // a = |d|; m = min(a, delta); h = m²/2 + delta (a - m).
            let d = try checkedResidual(p, t, file, line)
            let a = try graphAbs(d, file, line)
            let m = try clamp(a, max: delta, file: file, line: line)
            let quadratic = try square(m, file: file, line: line) * S(0.5)
            let linear = try (a - m) * S(delta)
            return try (quadratic + linear).mean(file: file, line: line)
        }
    }

    /// `p - t` for operands of equal shapes (regression losses do not broadcast: a `[N]` target
    /// against a `[N, 1]` prediction would silently make an `[N, N]` residual).
    private func checkedResidual<S>(_ p: Node<S>, _ t: Node<S>, _ file: StaticString, _ line: UInt) throws -> Node<S> {
        guard p.shape == t.shape else {
            throw ModelSpecError("\(name) loss: prediction \(p.shape) and target \(t.shape) must have the same shape (\(file):\(line))")
        }
        return try p - t
    }

    // MARK: - On the host

    /// The mean loss over `rows` rows of predictions (`rows x width`) against targets (`rows x
    /// targetCount` values, or `rows` class indices for CE), computed in Double in row order, the
    /// same formula as the graph node.
    public func hostLoss(predictions: [Double], targets: [Double], rows: Int) -> Double {
        guard rows > 0 else { return 0 }
        var sum = 0.0
        switch self {
        case .meanSquaredError:
            for i in predictions.indices { let d = predictions[i] - targets[i]; sum += d * d }
            return sum / Double(predictions.count)
        case .meanAbsoluteError:
            for i in predictions.indices { sum += abs(predictions[i] - targets[i]) }
            return sum / Double(predictions.count)
        case let .huber(delta):
            for i in predictions.indices {
                let a = abs(predictions[i] - targets[i])
                sum += a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta)
            }
            return sum / Double(predictions.count)
        case .binaryCrossEntropy:
            for i in predictions.indices {
                let z = predictions[i], t = targets[i]
                sum += Swift.max(z, 0) - z * t + Foundation.log1p(Foundation.exp(-abs(z)))
            }
            return sum / Double(predictions.count)
        case .crossEntropy:
            let width = predictions.count / rows
            for r in 0..<rows {
                let row = predictions[(r * width)..<((r + 1) * width)]
                let top = row.max()!
                let logSum = top + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - top) })
                sum += logSum - row[r * width + Int(targets[r])]
            }
            return sum / Double(rows)
        }
    }

    /// Class probabilities for one row of predictions: softmax for CE; `[1 - σ(z), σ(z)]` for BCE
    /// with one logit. Regression losses return the row unchanged.
    public func probabilities(row: ArraySlice<Double>) -> [Double] {
        switch self {
        case .crossEntropy:
            let top = row.max() ?? 0
            let e = row.map { Foundation.exp($0 - top) }
            let total = e.reduce(0, +)
            return e.map { $0 / total }
        case .binaryCrossEntropy:
            return row.flatMap { z -> [Double] in
                let p = z >= 0 ? 1 / (1 + Foundation.exp(-z)) : Foundation.exp(z) / (1 + Foundation.exp(z))
                return [1 - p, p]
            }
        case .meanSquaredError, .meanAbsoluteError, .huber:
            return Array(row)
        }
    }
}

// The enum's cases shadow the graph functions of the same names inside it; these reach them.
private func graphMSE<S>(_ p: Node<S>, _ t: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> {
    try meanSquaredError(p, t, file: f, line: l)
}
private func graphBCE<S>(_ p: Node<S>, _ t: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> {
    try binaryCrossEntropyWithLogits(p, t, file: f, line: l)
}
private func graphSoftmaxCE<S>(_ p: Node<S>, _ t: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> {
    try softmaxCrossEntropy(logits: p, labels: t, file: f, line: l)
}
private func graphAbs<S>(_ x: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> { try abs(x, file: f, line: l) }
