import Foundation

extension GraphFile {
    /// Reads a graph file; a sidecar values file is looked up next to it. Errors name the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw GraphFileError(file: url.path, place: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        try self.init(json: data, fileName: url.path, directory: url.deletingLastPathComponent())
    }

    /// Reads a graph from JSON text. `fileName` is used in error messages; `directory` is where a
    /// sidecar values file named by the JSON is looked up (the current directory if nil).
    public init(json: Data, fileName: String? = nil, directory: URL? = nil) throws {
        var reader = GraphFileReader<Scalar>(file: fileName, directory: directory)
        self = try reader.read(json)
    }

    /// Reads an inputs file: a JSON object mapping placeholder names to their values (see
    /// `docs/graph-format.md`), as feeds for `Plan.run(feeds:)`.
    public func feeds(contentsOf url: URL) throws -> [Node<Scalar>: Tensor<Scalar>] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw GraphFileError(file: url.path, place: "", message: "cannot read the file: \(error.localizedDescription)")
        }
        return try feeds(json: data, fileName: url.path)
    }

    /// Reads inputs from JSON text (see `feeds(contentsOf:)`).
    public func feeds(json: Data, fileName: String? = nil) throws -> [Node<Scalar>: Tensor<Scalar>] {
        let reader = GraphFileReader<Scalar>(file: fileName, directory: nil)
        let root = try GraphFileFields(try reader.parse(json), place: "", file: fileName)
        let placeholders = self.placeholders
        guard case let .object(members) = root.object.kind else { return [:] }
        var feeds: [Node<Scalar>: Tensor<Scalar>] = [:]
        for (name, value) in members {
            guard let node = placeholders[name] else {
                let known = placeholders.keys.sorted().joined(separator: ", ")
                throw root.error(name, "the graph has no placeholder \"\(name)\" (placeholders: \(known.isEmpty ? "none" : known))")
            }
            feeds[node] = Tensor(shape: node.shape, scalars: try reader.scalars(value, shape: node.shape, root, name))
        }
        return feeds
    }
}

/// Reads a graph file in three passes: check every node's fields and resolve input ids, order the
/// nodes so each comes after its inputs (an iterative depth-first walk that reports any cycle), then
/// rebuild them with the builder calls in that order.
struct GraphFileReader<Scalar: TensorScalar> {
    let file: String?
    let directory: URL?
    /// The sidecar's bytes and element size, once `values_file` has been read.
    var sidecar: (path: String, bytes: Data, float64: Bool)?

    init(file: String?, directory: URL?) {
        self.file = file
        self.directory = directory
    }

    static var leafKinds: [String] { ["placeholder", "parameter", "constant"] }

    func parse(_ data: Data) throws(GraphFileError) -> JSONValue {
        do { return try JSONParser.parse(Array(data)) } catch {
            throw GraphFileError(file: file, line: error.line, column: error.column, place: "",
                                 message: "malformed JSON: \(error.message)")
        }
    }

    mutating func read(_ data: Data) throws -> GraphFile<Scalar> {
        let root = try GraphFileFields(try parse(data), place: "", file: file)
        try root.allow(["format", "version", "comment", "values_file", "nodes", "outputs", "loss", "training"])
        if let format = try root.string("format"), format != GraphFileFormat.name {
            throw root.error("format", "expected \"\(GraphFileFormat.name)\", found \"\(format)\"")
        }
        guard let version = try root.int("version") else { throw root.error(nil, "missing field \"version\"") }
        guard GraphFileFormat.versions.contains(version) else {
            let known = GraphFileFormat.versions.map(String.init).joined(separator: " and ")
            throw root.error("version", "unsupported version \(version) (this reader reads versions \(known))")
        }
        if root.object["training"] != nil, version < GraphFileFormat.trainingVersion {
            throw root.error("training", "a training section needs version \(GraphFileFormat.trainingVersion) (this file says version \(version))")
        }
        if root.object["values_file"] != nil { try readSidecar(root) }

        // Pass 1: fields, ids and inputs.
        guard case let .array(items) = try root.required("nodes").kind else {
            throw root.error("nodes", "expected an array of nodes, found \(root.object["nodes"]!.typeName)")
        }
        var fields: [GraphFileFields] = []
        var ids: [String] = []
        var index: [String: Int] = [:]
        for (i, item) in items.enumerated() {
            let f = try GraphFileFields(item, place: "nodes[\(i)]", file: file)
            guard let id = try f.string("id") else { throw f.error(nil, "missing field \"id\"") }
            let node = try GraphFileFields(item, place: "nodes[\(i)] (id \"\(id)\")", file: file)
            if let first = index.updateValue(i, forKey: id) {
                throw node.error("id", "duplicate id \"\(id)\" (first used by nodes[\(first)])")
            }
            fields.append(node)
            ids.append(id)
        }
        var inputs: [[Int]] = []
        for f in fields {
            guard let kind = try f.string("kind") else { throw f.error(nil, "missing field \"kind\"") }
            if GraphFileReader.leafKinds.contains(kind) {
                try f.allow(kind == "placeholder" ? ["id", "kind", "shape", "comment"] : ["id", "kind", "shape", "values", "comment"])
                inputs.append([])
                continue
            }
            guard kind == "op" else {
                throw f.error("kind", "unknown kind \"\(kind)\" (expected placeholder, parameter, constant or op)")
            }
            try f.allow(["id", "kind", "op", "inputs", "attributes", "shape", "comment"])
            guard case let .array(refs) = try f.required("inputs").kind else {
                throw f.error("inputs", "expected an array of node ids, found \(f.object["inputs"]!.typeName)")
            }
            var resolved: [Int] = []
            for ref in refs {
                guard case let .string(id) = ref.kind else {
                    throw f.error("inputs", "expected a node id (a string), found \(ref.typeName)", at: ref)
                }
                guard let j = index[id] else { throw f.error("inputs", "no node has id \"\(id)\"", at: ref) }
                resolved.append(j)
            }
            inputs.append(resolved)
        }

        // Pass 2: an order where inputs come first, and the nodes some output needs.
        let order = try topologicalOrder(inputs, fields, ids)

        // Pass 3: build.
        let graph = Graph<Scalar>()
        var built = [Node<Scalar>?](repeating: nil, count: fields.count)
        for i in order {
            built[i] = try buildNode(fields[i], id: ids[i], inputs: inputs[i].map { built[$0]! }, graph: graph)
        }
        var nodes: [String: Node<Scalar>] = [:]
        for (i, id) in ids.enumerated() { nodes[id] = built[i] }

        guard case let .array(outs) = try root.required("outputs").kind, !outs.isEmpty else {
            throw root.error("outputs", "expected a non-empty array of node ids")
        }
        var outputs: [(name: String, node: Node<Scalar>)] = []
        for out in outs {
            guard case let .string(id) = out.kind else { throw root.error("outputs", "expected a node id, found \(out.typeName)", at: out) }
            guard let node = nodes[id] else { throw root.error("outputs", "no node has id \"\(id)\"", at: out) }
            outputs.append((id, node))
        }
        var loss: Node<Scalar>?
        if let id = try root.string("loss") {
            guard let node = nodes[id], outputs.contains(where: { $0.name == id }) else {
                throw root.error("loss", "\"\(id)\" is not one of the outputs")
            }
            loss = node
        }
        var training: GraphTrainingSpec<Scalar>?
        if let section = root.object["training"] {
            let spec = try readTraining(section, nodes: nodes)
            if let loss, loss != spec.loss, let id = try root.string("loss"), case let .string(trainingID)? = section["loss"]?.kind {
                throw root.error("loss", "\"\(id)\" differs from training.loss \"\(trainingID)\" (give one, or the same id in both)")
            }
            training = spec
            loss = spec.loss
        }
        return GraphFile(graph: graph, outputs: outputs, loss: loss, training: training, nodes: nodes)
    }

    /// Every node after its inputs, in file order where the file allows (a file written in
    /// topological order is built in that order). A walk that meets a node still on its own path has
    /// found a cycle, and reports the path.
    private func topologicalOrder(_ inputs: [[Int]], _ fields: [GraphFileFields], _ ids: [String]) throws(GraphFileError) -> [Int] {
        var state = [VisitState](repeating: .new, count: inputs.count)
        var order: [Int] = []
        order.reserveCapacity(inputs.count)
        for start in inputs.indices where state[start] == .new {
            var path: [(node: Int, next: Int)] = [(start, 0)]
            state[start] = .onPath
            while let (node, next) = path.last {
                if next == inputs[node].count {
                    path.removeLast()
                    state[node] = .done
                    order.append(node)
                    continue
                }
                path[path.count - 1].next += 1
                let input = inputs[node][next]
                switch state[input] {
                case .done: continue
                case .new:
                    state[input] = .onPath
                    path.append((input, 0))
                case .onPath:
                    let from = path.firstIndex { $0.node == input }!
                    let cycle = (path[from...].map(\.node) + [input]).map { "\"\(ids[$0])\"" }
                    throw fields[input].error("inputs", "cycle: " + cycle.joined(separator: " reads ")
                                              + " (each node must depend only on earlier results)")
                }
            }
        }
        return order
    }

    private func buildNode(_ f: GraphFileFields, id: String, inputs: [Node<Scalar>], graph: Graph<Scalar>) throws -> Node<Scalar> {
        let kind = try f.string("kind")!
        let declared = try f.shape("shape")
        switch kind {
        case "placeholder":
            guard let shape = declared else { throw f.error(nil, "missing field \"shape\"") }
            return graph.placeholder(id, shape: shape)
        case "parameter", "constant":
            guard let shape = declared else { throw f.error(nil, "missing field \"shape\"") }
            let value = Tensor(shape: shape, scalars: try values(f, shape: shape))
            return kind == "parameter" ? graph.parameter(id, value) : graph.constant(value)
        default:
            guard let name = try f.string("op") else { throw f.error(nil, "missing field \"op\"") }
            guard let entry = GraphFileOperations.table[name] else {
                let known = GraphFileOperations.table.keys.sorted().joined(separator: ", ")
                throw f.error("op", "unknown operation \"\(name)\" (known: \(known))")
            }
            if entry.inputs == 0 ? inputs.isEmpty : inputs.count != entry.inputs {
                throw f.error("inputs", "\(name) takes \(entry.inputs == 0 ? "one or more" : "\(entry.inputs)") input(s), found \(inputs.count)")
            }
            let attributes = try GraphFileFields(f.object["attributes"] ?? JSONValue(kind: .object([]), line: f.object.line, column: f.object.column),
                                                 place: f.place, prefix: "attributes.", file: file)
            try attributes.allow(entry.attributes)
            let node: Node<Scalar>
            do { node = try GraphFileOperations.build(name, inputs, attributes) } catch let e as GraphError {
                // The builder's message without its source line (a line of this reader, not of the file).
                let shapes = e.shapes.map { "\($0)" }.joined(separator: ", ")
                var error = f.error(nil, "\(e.operation)(\(shapes)): \(e.message)")
                error.graphError = e
                throw error
            }
            if let declared, declared != node.shape {
                throw f.error("shape", "the file says \(declared) but \(name) of \(inputs.map(\.shape)) gives \(node.shape)")
            }
            return node
        }
    }

    // MARK: Values

    private mutating func readSidecar(_ root: GraphFileFields) throws(GraphFileError) {
        let f = try GraphFileFields(root.object["values_file"]!, place: "values_file", file: file)
        try f.allow(["path", "dtype"])
        guard let path = try f.string("path") else { throw f.error(nil, "missing field \"path\"") }
        let dtype = try f.string("dtype") ?? "float32"
        guard dtype == "float32" || dtype == "float64" else {
            throw f.error("dtype", "expected \"float32\" or \"float64\", found \"\(dtype)\"")
        }
        // A relative path is looked up inside `directory` whether or not its URL ends in a slash
        // (`URL(fileURLWithPath:relativeTo:)` would replace a last component without one).
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path)
            : directory.map { $0.appendingPathComponent(path) } ?? URL(fileURLWithPath: path)
        do { sidecar = (path, try Data(contentsOf: url), dtype == "float64") } catch {
            throw f.error("path", "cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    /// The `values` of a parameter or constant: inline JSON, or `{"offset": k}` into the sidecar.
    private func values(_ f: GraphFileFields, shape: [Int]) throws(GraphFileError) -> [Scalar] {
        let v = try f.required("values")
        guard case .object = v.kind else { return try scalars(v, shape: shape, f, "values") }
        let ref = try GraphFileFields(v, place: f.place, prefix: "values.", file: file)
        try ref.allow(["offset"])
        guard let offset = try ref.int("offset") else { throw ref.error(nil, "missing field \"values.offset\"") }
        guard let sidecar else { throw f.error("values", "refers to a values file, but the document has no \"values_file\"") }
        let count = shape.reduce(1, *), size = sidecar.float64 ? 8 : 4
        guard offset >= 0, offset <= sidecar.bytes.count / size - count else {
            // (offset &+ count: the message must not trap on an offset near Int.max.)
            let end = offset.addingReportingOverflow(count).overflow ? "beyond Int.max" : String(offset + count)
            throw ref.error("offset", "elements \(offset)..<\(end) are outside \(sidecar.path) (\(sidecar.bytes.count / size) elements)")
        }
        return sidecar.bytes.withUnsafeBytes { raw in
            (0..<count).map { k in
                let at = (offset + k) * size
                return sidecar.float64
                    ? Scalar(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))))
                    : Scalar(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self))))
            }
        }
    }

    /// Scalars of `shape` in row-major order from a number (one element), a flat array, or arrays
    /// nested exactly as `shape`. Non-finite values are the strings "nan", "inf" and "-inf".
    ///
    /// Memory is reserved only once the file is known to hold `count` values: a shape may declare
    /// up to `GraphFileFields.maxElements` elements in a few bytes (`"shape": [131072, 131072],
    /// "values": 1`), and that must be an error, not a 64 GiB allocation.
    func scalars(_ v: JSONValue, shape: [Int], _ f: GraphFileFields, _ key: String) throws(GraphFileError) -> [Scalar] {
        let count = shape.reduce(1, *)
        var out: [Scalar] = []
        if case let .array(items) = v.kind, let first = items.first, case .array = first.kind {
            // Nested: walk depth-first with an explicit stack, checking each level's length; `out`
            // grows with the values found (at most one per value in the file).
            var stack: [(value: JSONValue, depth: Int)] = [(v, 0)]
            while let (value, depth) = stack.popLast() {
                if depth == shape.count { out.append(try scalar(value, f, key)); continue }
                guard case let .array(xs) = value.kind, xs.count == shape[depth] else {
                    throw f.error(key, "expected an array of \(shape[depth]) at depth \(depth) for shape \(shape), found \(value.typeName)\(value.arrayCount)", at: value)
                }
                stack.append(contentsOf: xs.reversed().map { ($0, depth + 1) })
            }
        } else if case let .array(items) = v.kind {
            guard items.count == count else {
                throw f.error(key, "expected \(count) values for shape \(shape), found \(items.count)")
            }
            out.reserveCapacity(count)
            for item in items { out.append(try scalar(item, f, key)) }
        } else {
            guard count == 1 else { throw f.error(key, "expected an array of \(count) values for shape \(shape), found \(v.typeName)") }
            out.append(try scalar(v, f, key))
        }
        return out
    }

    private func scalar(_ v: JSONValue, _ f: GraphFileFields, _ key: String) throws(GraphFileError) -> Scalar {
        switch v.kind {
        case let .number(text):
            // Float straight from the decimal text (through Double it could round twice).
            let x: Scalar? = Scalar.self == Float.self ? Float(text).map { Scalar($0) } : Double(text).map { Scalar($0) }
            guard let x, x.isFinite else { throw f.error(key, "\(text) is out of range for \(Scalar.self)", at: v) }
            return x
        case .string("nan"): return .nan
        case .string("inf"): return .infinity
        case .string("-inf"): return -.infinity
        default: throw f.error(key, "expected a number (or \"nan\", \"inf\", \"-inf\"), found \(v.typeName)", at: v)
        }
    }
}

/// Where a node stands in the topological walk.
private enum VisitState { case new, onPath, done }

extension JSONValue {
    /// " of N items" for arrays, for shape messages.
    fileprivate var arrayCount: String {
        if case let .array(xs) = kind { return " of \(xs.count)" }
        return ""
    }
}
