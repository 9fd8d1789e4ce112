import Foundation

extension GraphFile {
    /// The file as JSON text: the nodes the outputs need, in id order, one per line. Values of
    /// parameters and constants are their current values: inline, or, when `valuesFile` names a
    /// sidecar, in `values` (raw little-endian scalars: float32 for `Float` graphs, float64 for
    /// `Double`) to be stored under that name next to the JSON.
    ///
    /// Without a training section the file is version 1; with one, version 2, holding the section
    /// and also the nodes it names (its placeholders, the prediction and the loss, whether or not
    /// outputs need them), and no top-level `loss` (the training loss is the loss).
    ///
    /// Node ids are the output names, the names of placeholders and parameters, and `n<k>` for the
    /// rest (`k` is the node's id in the graph); a training prediction or loss that is not an output
    /// keeps its id from the file it was read from, else is `prediction` or `loss`. Throws if a
    /// needed node is a derivative helper that the format does not describe (write the forward
    /// graph; take gradients after reading), or if the training section breaks a rule.
    public func json(valuesFile: String? = nil) throws -> (json: String, values: Data?) {
        if let training { try checkTrainingForWriting(training) }
        else if let loss, !outputs.contains(where: { $0.node == loss }) {
            throw GraphFileError(place: "loss", message: "the loss (node %\(loss.id)) must be one of the outputs")
        }
        let records = graph.records
        var needed = [Bool](repeating: false, count: records.count)
        for (_, node) in outputs { needed[node.id] = true }
        if let training {
            for node in [training.prediction, training.loss] + training.feeds.map(\.feed.placeholder) { needed[node.id] = true }
        }
        for i in stride(from: records.count - 1, through: 0, by: -1) where needed[i] {
            for j in records[i].inputs { needed[j] = true }
        }

        // Ids: outputs keep their names, placeholders and parameters theirs where free.
        var fileID: [Int: String] = [:]
        var taken = Set<String>()
        func claim(_ base: String) -> String {
            var name = base, k = 1
            while taken.contains(name) { k += 1; name = "\(base)_\(k)" }
            taken.insert(name)
            return name
        }
        for (name, node) in outputs where fileID[node.id] == nil { fileID[node.id] = claim(name) }
        if let training {
            for (_, feed) in training.feeds where fileID[feed.placeholder.id] == nil { fileID[feed.placeholder.id] = claim(feed.name) }
            for (node, name) in [(training.prediction, "prediction"), (training.loss, "loss")] where fileID[node.id] == nil {
                fileID[node.id] = claim(nodes.filter { $0.value == node }.keys.min() ?? name)
            }
        }
        for i in records.indices where needed[i] && fileID[i] == nil {
            switch records[i].operation.leaf {
            case let .placeholder(name)?, let .parameter(name)?: fileID[i] = claim(name)
            case .constant?, nil: break
            }
        }
        // Other nodes are numbered by their place in the file, not by their id in the graph: nodes
        // the outputs do not need are left out, so ids would number a file read back differently.
        for (place, i) in records.indices.filter({ needed[$0] }).enumerated() where fileID[i] == nil {
            fileID[i] = claim("n\(place)")
        }

        var sidecar = valuesFile.map { _ in Data() }
        var lines: [String] = []
        for i in records.indices where needed[i] {
            let r = records[i]
            var fields = [("id", JSONText.quote(fileID[i]!))]
            switch r.operation.leaf {
            case .placeholder?:
                fields += [("kind", "\"placeholder\""), ("shape", JSONText.ints(r.shape))]
            case .parameter?, .constant?:
                let kind = if case .parameter = r.operation { "parameter" } else { "constant" }
                let value = try graph.value(of: Node(graph: graph, id: i)).scalars
                fields += [("kind", "\"\(kind)\""), ("shape", JSONText.ints(r.shape))]
                if sidecar != nil {
                    fields.append(("values", "{\"offset\": \(sidecar!.count / MemoryLayout<Scalar>.size)}"))
                    GraphFileWriting.append(value, to: &sidecar!)
                } else {
                    fields.append(("values", "[" + value.map(JSONText.number).joined(separator: ", ") + "]"))
                }
            case nil:
                guard let attributes = GraphFileOperations.attributes(of: r.operation) else {
                    throw GraphFileError(place: "node %\(i) (\(r.operation.name))",
                                         message: "\(r.operation.name) is a derivative helper that graph files do not describe; "
                                             + "write the forward graph and take gradients after reading it")
                }
                fields += [("kind", "\"op\""), ("op", JSONText.quote(r.operation.name)),
                           ("inputs", "[" + r.inputs.map { JSONText.quote(fileID[$0]!) }.joined(separator: ", ") + "]")]
                if !attributes.isEmpty {
                    fields.append(("attributes", "{" + attributes.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"))
                }
                fields.append(("shape", JSONText.ints(r.shape)))
            }
            lines.append("    {" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
        }

        let version = training == nil ? GraphFileFormat.versions.lowerBound : GraphFileFormat.trainingVersion
        var text = "{\n  \"format\": \"\(GraphFileFormat.name)\",\n  \"version\": \(version),\n"
        if let valuesFile {
            let dtype = MemoryLayout<Scalar>.size == 8 ? "float64" : "float32"
            text += "  \"values_file\": {\"path\": \(JSONText.quote(valuesFile)), \"dtype\": \"\(dtype)\"},\n"
        }
        text += "  \"nodes\": [\n" + lines.joined(separator: ",\n") + "\n  ],\n"
        text += "  \"outputs\": [" + outputs.map { JSONText.quote(fileID[$0.node.id]!) }.joined(separator: ", ") + "]"
        if let training {
            text += ",\n  \"training\": " + GraphFile.trainingJSON(training, ids: fileID)
        } else if let loss {
            text += ",\n  \"loss\": \(JSONText.quote(fileID[loss.id]!))"
        }
        return (text + "\n}\n", sidecar)
    }

    /// Writes the file to `url` (and the sidecar `valuesFile`, if given, next to it).
    public func write(to url: URL, valuesFile: String? = nil) throws {
        let (text, values) = try json(valuesFile: valuesFile)
        if let valuesFile, let values {
            try values.write(to: url.deletingLastPathComponent().appendingPathComponent(valuesFile), options: .atomic)
        }
        try Data(text.utf8).write(to: url, options: .atomic)
    }
}

enum GraphFileWriting {
    /// Appends `values` as little-endian bytes (float32 or float64, as `S` is).
    static func append<S: TensorScalar>(_ values: [S], to data: inout Data) {
        if S.self == Float.self {
            for v in values { withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        } else {
            for v in values { withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
    }
}
