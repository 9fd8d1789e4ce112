import Foundation

extension GraphFile {
    /// The file as JSON text: the nodes the outputs need, in id order, one per line. Values of
    /// parameters and constants are inline, or, when `valuesFile` names a sidecar, in `values` (raw
    /// little-endian scalars: float32 for `Float` graphs, float64 for `Double`) to be stored under that
    /// name next to the JSON.
    ///
    /// Node ids are the output names, the names of placeholders and parameters, and `n<k>` for the
    /// rest (`k` is the node's id in the graph). Throws if a needed node is a derivative helper that
    /// the format does not describe (write the forward graph; take gradients after reading).
    public func json(valuesFile: String? = nil) throws -> (json: String, values: Data?) {
        let records = graph.records
        var needed = [Bool](repeating: false, count: records.count)
        for (_, node) in outputs { needed[node.id] = true }
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
        for i in records.indices where needed[i] && fileID[i] == nil {
            switch records[i].operation {
            case let .placeholder(name), let .parameter(name): fileID[i] = claim(name)
            default: break
            }
        }
        for i in records.indices where needed[i] && fileID[i] == nil { fileID[i] = claim("n\(i)") }

        var sidecar = valuesFile.map { _ in Data() }
        var lines: [String] = []
        for i in records.indices where needed[i] {
            let r = records[i]
            var fields = [("id", JSONText.quote(fileID[i]!))]
            switch r.operation {
            case .placeholder:
                fields += [("kind", "\"placeholder\""), ("shape", JSONText.ints(r.shape))]
            case .parameter, .constant:
                let kind = if case .parameter = r.operation { "parameter" } else { "constant" }
                let value = try graph.value(of: Node(graph: graph, id: i)).scalars
                fields += [("kind", "\"\(kind)\""), ("shape", JSONText.ints(r.shape))]
                if sidecar != nil {
                    fields.append(("values", "{\"offset\": \(sidecar!.count / MemoryLayout<Scalar>.size)}"))
                    GraphFileWriting.append(value, to: &sidecar!)
                } else {
                    fields.append(("values", "[" + value.map(JSONText.number).joined(separator: ", ") + "]"))
                }
            default:
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

        var text = "{\n  \"format\": \"\(GraphFileFormat.name)\",\n  \"version\": \(GraphFileFormat.version),\n"
        if let valuesFile {
            let dtype = MemoryLayout<Scalar>.size == 8 ? "float64" : "float32"
            text += "  \"values_file\": {\"path\": \(JSONText.quote(valuesFile)), \"dtype\": \"\(dtype)\"},\n"
        }
        text += "  \"nodes\": [\n" + lines.joined(separator: ",\n") + "\n  ],\n"
        text += "  \"outputs\": [" + outputs.map { JSONText.quote(fileID[$0.node.id]!) }.joined(separator: ", ") + "]"
        if let loss { text += ",\n  \"loss\": \(JSONText.quote(fileID[loss.id]!))" }
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
