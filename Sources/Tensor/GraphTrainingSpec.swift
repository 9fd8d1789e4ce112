/// How a graph is trained, as a graph file (version 2) declares it in its `"training"` section:
/// which placeholders are fed from which data columns, which node is the model's prediction and
/// which is the loss to minimise. A trainer reads it to build batches; after training, writing the
/// `GraphFile` again saves the trained parameter values together with this section.
///
/// The initializer checks the same rules as the graph-file reader (see `docs/graph-format.md`,
/// "Training section (version 2)"): fed nodes are distinct placeholders of rank >= 1 sharing their
/// leading (batch) dimension, the loss is a scalar that depends on the prediction and the target,
/// every placeholder it depends on is fed, and the prediction does not read the target.
///
/// ```swift
/// let g = Graph<Float>()
/// let x = g.placeholder("x", shape: [16, 4]), labels = g.placeholder("labels", shape: [16])
/// let w = g.parameter("w", .randomNormal(shape: [4, 3], using: &rng))
/// let logits = try x.matmul(w)
/// let loss = try softmaxCrossEntropy(logits: logits, labels: labels)
/// let spec = try GraphTrainingSpec(inputs: [.init(placeholder: x, columns: .features)],
///                                  target: .init(placeholder: labels, columns: .label),
///                                  prediction: logits, loss: loss, task: "multiclass")
/// try GraphFile(outputs: [("logits", logits), ("loss", loss)], training: spec).write(to: url)
/// ```
public struct GraphTrainingSpec<Scalar: TensorScalar>: Equatable {
    /// Which columns of a data set feed a placeholder.
    public enum Columns: Sendable, Equatable {
        /// The data's feature columns (every column that is not a label column), in file order.
        case features
        /// The data's label column(s), as chosen where the data is loaded (e.g. on the command line).
        case label
        /// Columns by their header names, in this order.
        case names([String])
        /// Columns by 0-based index, in this order.
        case indices([Int])

        /// How many columns are listed; nil for `.features` and `.label` (known only with the data).
        public var count: Int? {
            switch self {
            case .features, .label: nil
            case let .names(names): names.count
            case let .indices(indices): indices.count
            }
        }
    }

    /// One placeholder and the columns it is fed from: each row of a batch fills one leading index
    /// of the placeholder with the row's columns, in the listed order.
    public struct Feed: Equatable {
        /// The placeholder fed (a node of kind `.placeholder`).
        public var placeholder: Node<Scalar>
        /// The columns it is fed from.
        public var columns: Columns

        /// The placeholder's name: its id in a graph file and its key in an inputs file.
        public var name: String {
            if case let .placeholder(name) = placeholder.operation { return name }
            return "%\(placeholder.id)"
        }

        public init(placeholder: Node<Scalar>, columns: Columns) {
            self.placeholder = placeholder
            self.columns = columns
        }
    }

    /// The tasks a spec may name.
    public static var tasks: [String] { ["regression", "binary", "multiclass"] }

    /// The placeholders fed from feature columns (the model's inputs), in order.
    public var inputs: [Feed]
    /// The placeholder fed with the targets.
    public var target: Feed
    /// What the model outputs: logits for `binary` and `multiclass`, values for `regression`.
    public var prediction: Node<Scalar>
    /// The scalar to minimise; it depends on `prediction` and on the target placeholder.
    public var loss: Node<Scalar>
    /// `"regression"`, `"binary"` or `"multiclass"`, when the file says.
    public var task: String?

    /// The leading (batch) dimension shared by every fed placeholder: the rows of one batch.
    public var batchSize: Int { target.placeholder.shape.first ?? 0 }

    /// A spec built in Swift, checked by the same rules as the graph-file reader; a violation is a
    /// `GraphFileError` whose place is the field a file would hold (`field "training.loss"`).
    public init(inputs: [Feed], target: Feed, prediction: Node<Scalar>, loss: Node<Scalar>, task: String? = nil) throws {
        self.inputs = inputs
        self.target = target
        self.prediction = prediction
        self.loss = loss
        self.task = task
        do { try check(label: GraphTrainingSpec.label) } catch {
            throw GraphFileError(place: "field \"training.\(error.field)\"", message: error.message)
        }
    }

    /// A spec whose fields were already checked (the reader checks them with file ids in messages).
    init(checked inputs: [Feed], target: Feed, prediction: Node<Scalar>, loss: Node<Scalar>, task: String?) {
        self.inputs = inputs
        self.target = target
        self.prediction = prediction
        self.loss = loss
        self.task = task
    }

    /// A node as messages name it when no file ids are known: a placeholder's or parameter's name in
    /// quotes, else `%<id>`.
    static func label(_ node: Node<Scalar>) -> String {
        switch node.operation.leaf {
        case let .placeholder(name)?, let .parameter(name)?: "\"\(name)\""
        case .constant?, nil: "%\(node.id)"
        }
    }
}

/// A broken rule of a training section: the field (below `training.`, e.g. `inputs[0].placeholder`)
/// and what is wrong. The reader turns it into a `GraphFileError` at the field's line and column.
struct TrainingSpecViolation: Error {
    let field: String
    let message: String
}

extension GraphTrainingSpec {
    /// The fields in the order they are checked, with their paths below `training.`.
    var feeds: [(field: String, feed: Feed)] {
        inputs.enumerated().map { ("inputs[\($0.offset)]", $0.element) } + [("target", target)]
    }

    /// Checks every rule of a training section; `label` names a node in messages (its file id when
    /// read from a file).
    func check(label: (Node<Scalar>) -> String) throws(TrainingSpecViolation) {
        let graph = loss.graph
        for (field, node) in [("prediction", prediction), ("loss", loss)] + feeds.map({ ("\($0.field).placeholder", $0.feed.placeholder) })
        where node.graph !== graph {
            throw TrainingSpecViolation(field: field, message: "node %\(node.id) belongs to another graph than the loss")
        }

        // Fed placeholders: kind, distinct, columns, rank and batch dimension.
        var fedBy: [Node<Scalar>: String] = [:]
        for (field, feed) in feeds {
            let p = feed.placeholder, place = "\(field).placeholder"
            guard case .placeholder = p.operation else {
                throw TrainingSpecViolation(field: place, message: "\(label(p)) is \(Self.kind(p)), not a placeholder")
            }
            if let first = fedBy.updateValue("training.\(field)", forKey: p) {
                throw TrainingSpecViolation(field: place, message: "placeholder \(label(p)) is already fed by \(first)")
            }
            try Self.checkColumns(feed.columns, of: p, field: "\(field).columns", label: label)
            guard let batch = p.shape.first else {
                throw TrainingSpecViolation(field: place, message: "placeholder \(label(p)) has shape [] (a scalar); "
                                            + "a fed placeholder needs a leading batch dimension")
            }
            let first = feeds[0].feed.placeholder
            if batch != first.shape[0] {
                throw TrainingSpecViolation(field: place, message: "placeholder \(label(p)) \(p.shape) has batch dimension \(batch), "
                                            + "but training.\(feeds[0].field) (\(label(first)) \(first.shape)) has \(first.shape[0])")
            }
        }

        // Prediction and loss.
        guard loss.shape.isEmpty else {
            throw TrainingSpecViolation(field: "loss", message: "the loss \(label(loss)) has shape \(loss.shape); it must be a scalar (shape [])")
        }
        guard prediction != loss else {
            throw TrainingSpecViolation(field: "prediction", message: "the prediction and the loss are the same node \(label(loss))")
        }
        let lossReads = Self.upstream(of: loss)
        guard lossReads.contains(prediction) else {
            throw TrainingSpecViolation(field: "loss", message: "the loss \(label(loss)) does not depend on the prediction \(label(prediction))")
        }
        guard lossReads.contains(target.placeholder) else {
            throw TrainingSpecViolation(field: "loss", message: "the loss \(label(loss)) does not depend on the target placeholder \(label(target.placeholder))")
        }
        for node in lossReads.sorted(by: { $0.id < $1.id }) where fedBy[node] == nil {
            if case .placeholder = node.operation {
                throw TrainingSpecViolation(field: "loss", message: "the loss \(label(loss)) depends on placeholder \(label(node)), "
                                            + "which is not fed (neither an input nor the target)")
            }
        }
        if Self.upstream(of: prediction).contains(target.placeholder) {
            throw TrainingSpecViolation(field: "prediction", message: "the prediction \(label(prediction)) depends on the target placeholder "
                                        + "\(label(target.placeholder)) (only the inputs are fed when predicting)")
        }
        if let task, !Self.tasks.contains(task) {
            throw TrainingSpecViolation(field: "task", message: "unknown task \"\(task)\" (expected: \(Self.tasks.joined(separator: ", ")))")
        }
    }

    /// Named columns: non-empty, no column twice, indices non-negative, and as many as the
    /// placeholder takes per row (the product of its dimensions after the first).
    static func checkColumns(_ columns: Columns, of p: Node<Scalar>, field: String, label: (Node<Scalar>) -> String) throws(TrainingSpecViolation) {
        let listed: [String]
        switch columns {
        case .features, .label: return
        case let .names(names): listed = names.map { "\"\($0)\"" }
        case let .indices(indices):
            if let bad = indices.first(where: { $0 < 0 }) {
                throw TrainingSpecViolation(field: field, message: "column index \(bad) is negative (indices count from 0)")
            }
            listed = indices.map(String.init)
        }
        guard !listed.isEmpty else { throw TrainingSpecViolation(field: field, message: "no columns listed") }
        var seen = Set<String>()
        for c in listed where !seen.insert(c).inserted {
            throw TrainingSpecViolation(field: field, message: "column \(c) is listed twice")
        }
        let perRow = p.shape.dropFirst().reduce(1, *)
        if !p.shape.isEmpty, listed.count != perRow {
            throw TrainingSpecViolation(field: field, message: "\(listed.count) column(s) listed, but placeholder \(label(p)) \(p.shape) "
                                        + "takes \(perRow) per row")
        }
    }

    /// Every node `node` reads, directly or not (itself excluded): an iterative walk over inputs.
    static func upstream(of node: Node<Scalar>) -> Set<Node<Scalar>> {
        var seen = Set<Node<Scalar>>()
        var stack = node.inputs
        while let n = stack.popLast() {
            if seen.insert(n).inserted { stack.append(contentsOf: n.inputs) }
        }
        return seen
    }

    /// "a parameter", "a constant", "an op (matmul)": what a node is, for "not a placeholder".
    static func kind(_ node: Node<Scalar>) -> String {
        switch node.operation.leaf {
        case .placeholder?: "a placeholder"
        case .parameter?: "a parameter"
        case .constant?: "a constant"
        case nil: "an op (\(node.operation.name))"
        }
    }
}
