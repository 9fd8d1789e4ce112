import Foundation

/// A graph with named outputs (and optionally a loss and a training section), as stored in a graph
/// file: the JSON format of `docs/graph-format.md`, so that other tools and languages can describe a
/// model for this engine, and this engine can save a trained one.
///
/// Reading rebuilds the graph through the ordinary builder calls (`matmul`, `+`, `sum(axes:)`, ...),
/// so every shape is checked exactly as for a graph written in Swift; any problem is a
/// `GraphFileError` that names its place in the file. Writing walks the nodes the outputs need, in
/// id order (a topological order), and stores parameter and constant values inline or in a sidecar
/// file of raw little-endian scalars.
///
/// ```swift
/// let file = try GraphFile<Float>(contentsOf: URL(fileURLWithPath: "docs/examples/mlp.json"))
/// let feeds = try file.feeds(contentsOf: URL(fileURLWithPath: "docs/examples/mlp-inputs.json"))
/// let grads = try file.graph.gradients(of: file.loss!, wrt: file.graph.parameters)
/// let plan = try Plan(outputs: file.outputs.map(\.node) + grads)
/// try plan.run(feeds: feeds)
///
/// try GraphFile(outputs: [("loss", loss)], loss: loss).write(to: url)   // and back to a file
/// ```
public struct GraphFile<Scalar: TensorScalar> {
    /// The graph the file describes.
    public let graph: Graph<Scalar>
    /// The file's outputs, in file order, by node id.
    public var outputs: [(name: String, node: Node<Scalar>)]
    /// The loss, if any (what `bench graph --grad` differentiates): an output marked as the loss, or
    /// the training section's loss (which need not be an output).
    public var loss: Node<Scalar>?
    /// How the graph is trained (a version 2 file's `"training"` section), if the file says. Writing
    /// a file with one writes version 2, with the parameters' current (e.g. trained) values.
    public var training: GraphTrainingSpec<Scalar>?
    /// The nodes of a file that was read, by their id in the file (for a file being written: the outputs).
    public internal(set) var nodes: [String: Node<Scalar>]

    /// A graph file describing what `outputs` need (all nodes from one graph), and with `training`,
    /// how the graph is trained (the writer then also stores the prediction, the loss and the fed
    /// placeholders, even if they are not outputs). `loss`, if given, must be one of the outputs or
    /// the training loss; with a training section it must be the training loss, and defaults to it.
    public init(outputs: [(name: String, node: Node<Scalar>)], loss: Node<Scalar>? = nil,
                training: GraphTrainingSpec<Scalar>? = nil) throws {
        guard let graph = outputs.first?.node.graph else {
            throw GraphFileError(place: "outputs", message: "a graph file needs at least one output")
        }
        var nodes: [String: Node<Scalar>] = [:]
        for (name, node) in outputs {
            guard node.graph === graph else {
                throw GraphFileError(place: "output \"\(name)\"", message: "node %\(node.id) belongs to another graph")
            }
            guard nodes.updateValue(node, forKey: name) == nil else {
                throw GraphFileError(place: "output \"\(name)\"", message: "two outputs are named \"\(name)\"")
            }
        }
        if let training {
            guard training.loss.graph === graph else {
                throw GraphFileError(place: "training", message: "the training section belongs to another graph than the outputs")
            }
            if let loss, loss != training.loss {
                throw GraphFileError(place: "loss", message: "the loss (node %\(loss.id)) differs from the training loss (node %\(training.loss.id))")
            }
        } else if let loss, !outputs.contains(where: { $0.node == loss }) {
            throw GraphFileError(place: "loss", message: "the loss (node %\(loss.id)) must be one of the outputs")
        }
        self.graph = graph
        self.outputs = outputs
        self.loss = loss ?? training?.loss
        self.training = training
        self.nodes = nodes
    }

    init(graph: Graph<Scalar>, outputs: [(name: String, node: Node<Scalar>)], loss: Node<Scalar>?,
         training: GraphTrainingSpec<Scalar>?, nodes: [String: Node<Scalar>]) {
        self.graph = graph
        self.outputs = outputs
        self.loss = loss
        self.training = training
        self.nodes = nodes
    }

    /// The placeholders of the graph, by name (the keys of an inputs file).
    public var placeholders: [String: Node<Scalar>] {
        var out: [String: Node<Scalar>] = [:]
        for id in 0..<graph.nodeCount {
            let node = Node(graph: graph, id: id)
            if case let .placeholder(name) = node.operation, out[name] == nil { out[name] = node }
        }
        return out
    }
}

/// The format's identity, written at the top of every graph file: version 1, or version 2 when the
/// file has a training section.
enum GraphFileFormat {
    static let name = "graph-engine/graph"
    static let versions = 1...2
    /// The first version that may hold a `"training"` section.
    static let trainingVersion = 2
}

/// A graph file (or inputs file) that cannot be read or written, with its place: the file, the
/// line and column, and the node and field concerned. When the graph builder rejected a node (a
/// shape mismatch), `graphError` holds its error.
///
/// ```
/// mlp.json:14:5: nodes[4] (id "h"), field "inputs": matmul([4, 3], [4, 8]): inner dimensions differ: 3 vs 4
/// ```
public struct GraphFileError: Error, CustomStringConvertible, Sendable {
    /// The file's path, when known.
    public var file: String?
    /// 1-based line and column in the file, when known.
    public var line: Int?
    public var column: Int?
    /// The node and field: `nodes[4] (id "h"), field "inputs"`, or `outputs`.
    public var place: String
    /// What is wrong.
    public var message: String
    /// The builder's error, for shape mismatches and other rejected operations.
    public var graphError: GraphError?

    public init(file: String? = nil, line: Int? = nil, column: Int? = nil, place: String, message: String,
                graphError: GraphError? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.place = place
        self.message = message
        self.graphError = graphError
    }

    public var description: String {
        var head = file ?? ""
        if let line { head += (head.isEmpty ? "" : ":") + "\(line)" + (column.map { ":\($0)" } ?? "") }
        let parts = [head, place].filter { !$0.isEmpty }
        return (parts + [message]).joined(separator: ": ")
    }
}
