/// Reading and writing the `"training"` section of a version 2 graph file (see
/// `docs/graph-format.md`, "Training section (version 2)").
extension GraphFileReader {
    /// The training section, once every node is built: field types and ids here, then the rules
    /// shared with `GraphTrainingSpec.init` (`check`), each error at its field's line and column.
    func readTraining(_ value: JSONValue, nodes: [String: Node<Scalar>]) throws(GraphFileError) -> GraphTrainingSpec<Scalar> {
        guard case .object = value.kind else {
            throw error("", "expected an object, found \(value.typeName)", at: value)
        }
        let t = try GraphFileFields(value, place: "", prefix: "training.", file: file)
        try t.allow(["inputs", "target", "prediction", "loss", "task", "comment"])
        var locations: [String: JSONValue] = [:]

        func node(_ f: GraphFileFields, _ key: String, path: String) throws(GraphFileError) -> Node<Scalar> {
            guard let id = try f.string(key) else { throw f.error(nil, "missing field \"\(f.prefix)\(key)\"") }
            locations[path] = f.object[key]
            guard let node = nodes[id] else { throw f.error(key, "no node has id \"\(id)\"") }
            return node
        }
        func feed(_ v: JSONValue, path: String) throws(GraphFileError) -> GraphTrainingSpec<Scalar>.Feed {
            guard case .object = v.kind else { throw error(path, "expected an object, found \(v.typeName)", at: v) }
            let f = try GraphFileFields(v, place: "", prefix: "training.\(path).", file: file)
            try f.allow(["placeholder", "columns", "comment"])
            let placeholder = try node(f, "placeholder", path: "\(path).placeholder")
            let columns = try f.required("columns")
            locations["\(path).columns"] = columns
            return .init(placeholder: placeholder, columns: try self.columns(columns, path: "\(path).columns"))
        }

        guard case let .array(items) = try t.required("inputs").kind else {
            throw t.error("inputs", "expected an array of inputs, found \(t.object["inputs"]!.typeName)")
        }
        var inputs: [GraphTrainingSpec<Scalar>.Feed] = []
        for (i, item) in items.enumerated() { inputs.append(try feed(item, path: "inputs[\(i)]")) }
        let target = try feed(try t.required("target"), path: "target")
        let prediction = try node(t, "prediction", path: "prediction")
        let loss = try node(t, "loss", path: "loss")
        let task = try t.string("task")
        locations["task"] = t.object["task"]

        let spec = GraphTrainingSpec(checked: inputs, target: target, prediction: prediction, loss: loss, task: task)
        var ids: [Node<Scalar>: String] = [:]
        for (id, node) in nodes { ids[node] = id }
        do { try spec.check { "\"\(ids[$0] ?? "%\($0.id)")\"" } } catch {
            throw self.error(error.field, error.message, at: locations[error.field] ?? value)
        }
        return spec
    }

    /// `"features"`, `"label"`, an array of column names, or an array of 0-based column indices.
    private func columns(_ v: JSONValue, path: String) throws(GraphFileError) -> GraphTrainingSpec<Scalar>.Columns {
        let expected = "expected \"features\", \"label\", or an array of column names or of 0-based column indices"
        switch v.kind {
        case .string("features"): return .features
        case .string("label"): return .label
        case let .string(s): throw error(path, "\(expected), found \"\(s)\"", at: v)
        case let .array(items):
            var names: [String] = [], indices: [Int] = []
            for item in items {
                switch item.kind {
                case let .string(s): names.append(s)
                case let .number(text):
                    guard let i = Int(text) else { throw error(path, "expected a column index (an integer), found \(text)", at: item) }
                    indices.append(i)
                default: throw error(path, "expected a column name or index, found \(item.typeName)", at: item)
                }
            }
            guard names.isEmpty || indices.isEmpty else {
                throw error(path, "expected column names (strings) or indices (integers), not both", at: v)
            }
            return names.isEmpty ? .indices(indices) : .names(names)
        default: throw error(path, "\(expected), found \(v.typeName)", at: v)
        }
    }

    /// An error at `training.<path>` (at `value`'s line and column).
    func error(_ path: String, _ message: String, at value: JSONValue) -> GraphFileError {
        GraphFileError(file: file, line: value.line, column: value.column,
                       place: "field \"training\(path.isEmpty ? "" : ".")\(path)\"", message: message)
    }
}

extension GraphFile {
    /// The training section as JSON text (two-space indented, one field a line), given each node's id.
    static func trainingJSON(_ spec: GraphTrainingSpec<Scalar>, ids: [Int: String]) -> String {
        func columns(_ c: GraphTrainingSpec<Scalar>.Columns) -> String {
            switch c {
            case .features: "\"features\""
            case .label: "\"label\""
            case let .names(names): "[" + names.map(JSONText.quote).joined(separator: ", ") + "]"
            case let .indices(indices): JSONText.ints(indices)
            }
        }
        func feed(_ f: GraphTrainingSpec<Scalar>.Feed) -> String {
            "{\"placeholder\": \(JSONText.quote(ids[f.placeholder.id]!)), \"columns\": \(columns(f.columns))}"
        }
        var lines = ["\"inputs\": [" + spec.inputs.map(feed).joined(separator: ", ") + "]",
                     "\"target\": " + feed(spec.target),
                     "\"prediction\": " + JSONText.quote(ids[spec.prediction.id]!),
                     "\"loss\": " + JSONText.quote(ids[spec.loss.id]!)]
        if let task = spec.task { lines.append("\"task\": " + JSONText.quote(task)) }
        return "{\n" + lines.map { "    " + $0 }.joined(separator: ",\n") + "\n  }"
    }

    /// Before writing: the training section still holds (its fields are public and may have changed
    /// since it was checked) and agrees with `loss`. Messages name nodes as in `GraphTrainingSpec.init`.
    func checkTrainingForWriting(_ spec: GraphTrainingSpec<Scalar>) throws {
        guard spec.loss.graph === graph else {
            throw GraphFileError(place: "training", message: "the training section belongs to another graph than the outputs")
        }
        do { try spec.check(label: GraphTrainingSpec.label) } catch {
            throw GraphFileError(place: "field \"training.\(error.field)\"", message: error.message)
        }
        if let loss, loss != spec.loss {
            throw GraphFileError(place: "loss", message: "the loss (node %\(loss.id)) differs from the training loss (node %\(spec.loss.id))")
        }
    }
}
