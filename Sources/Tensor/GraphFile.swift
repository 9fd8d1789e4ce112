import Foundation

/// Graphs as JSON files, so other tools and languages can describe a model and have this engine run
/// it. `Graph.jsonData()` writes one; `GraphFile(data:)` reads one back into a new graph.
///
/// Format (version 1): one object with
/// - `"format": "graph-engine/1"`;
/// - `"nodes"`: an array; node `i` has `"id": i` (optional, checked), `"op"` (an `Operation.name`),
///   `"inputs"` (ids of earlier nodes), its attributes, and optionally `"shape"` (checked against
///   the inferred shape; required for placeholders). Leaves: `placeholder` (`"name"`, `"shape"`),
///   `parameter` (`"name"`, `"shape"`, `"value"`), `constant` (`"shape"`, `"value"`); values are flat
///   row-major number arrays. Attributes: `pow` `"exponent"`; `scale`/`shift` `"value"`;
///   `matmul` `"transpose_a"`, `"transpose_b"` (default false); `transpose` `"permutation"`;
///   `reshape`/`broadcast_to` `"to"` (the new shape); `concat`/`softmax`/`log_softmax` `"axis"`;
///   `slice` `"axis"`, `"start"`, `"end"`; `pad` `"axis"`, `"start"`, `"end"`, `"size"`;
///   `sum`/`mean`/`max` `"axes"`, `"keep_dims"` (default false); `max_backward` `"axes"`;
///   a node may carry `"gradient": true` (it belongs to a backward graph).
/// - optional `"outputs"` (node ids to report), `"loss"` (a one-element node) and `"wrt"` (ids to
///   differentiate it with respect to; default: every parameter).
///
/// ```json
/// {"format": "graph-engine/1",
///  "nodes": [{"id": 0, "op": "placeholder", "name": "x", "shape": [2, 3]},
///            {"id": 1, "op": "parameter", "name": "w", "shape": [3, 1], "value": [0.1, 0.2, 0.3]},
///            {"id": 2, "op": "matmul", "inputs": [0, 1]},
///            {"id": 3, "op": "sum", "inputs": [2], "axes": [0, 1]}],
///  "outputs": [2], "loss": 3}
/// ```
/// A malformed file, an unknown operation or a shape mismatch is a `GraphFileError` naming the
/// place in the file (`nodes[2].inputs[1]`) and what is wrong.
public struct GraphFile<Scalar: TensorScalar> {
    /// The graph read from the file.
    public let graph: Graph<Scalar>
    /// Node handles in file order (`nodes[i]` is the file's node `i`).
    public let nodes: [Node<Scalar>]
    public let outputs: [Node<Scalar>]
    public let loss: Node<Scalar>?
    public let wrt: [Node<Scalar>]

    /// Placeholders by name.
    public var placeholders: [String: Node<Scalar>] {
        var out: [String: Node<Scalar>] = [:]
        for n in nodes { if case let .placeholder(name) = n.operation { out[name] = n } }
        return out
    }

    /// Reads a graph from JSON text.
    public init(data: Data) throws {
        let root: JSONValue.Positioned
        do { root = try JSONValue.parse(String(decoding: data, as: UTF8.self)) } catch let e as GraphFileError {
            throw GraphFileError(place: e.place, message: "not valid JSON: \(e.message)")
        }
        let top = try Reader(value: root, place: "")
        if let format = try top.optional("format")?.string(), format != "graph-engine/1" {
            throw GraphFileError(place: try top.required("format").place, message: "unsupported format '\(format)' (expected graph-engine/1)")
        }
        let g = Graph<Scalar>()
        var nodes: [Node<Scalar>] = []
        for (i, entry) in try top.required("nodes").array().enumerated() {
            nodes.append(try Self.node(entry, index: i, graph: g, nodes: nodes))
        }
        func ids(_ r: Reader) throws -> [Node<Scalar>] {
            try r.array().map { item in
                let id = try item.int()
                guard id >= 0 && id < nodes.count else { throw GraphFileError(place: item.place, message: "no node \(id)") }
                return nodes[id]
            }
        }
        graph = g
        self.nodes = nodes
        outputs = try top.optional("outputs").map(ids) ?? []
        if let l = try top.optional("loss") {
            let id = try l.int()
            guard id >= 0 && id < nodes.count else { throw GraphFileError(place: l.place, message: "no node \(id)") }
            loss = nodes[id]
        } else {
            loss = nil
        }
        wrt = try top.optional("wrt").map(ids) ?? g.parameters
    }

    /// Placeholder values from a JSON object keyed by placeholder name, each value a flat or nested
    /// array of numbers (row-major) of the placeholder's element count: `{"x": [[1, 2], [3, 4]]}`.
    public func feeds(json data: Data) throws -> [Node<Scalar>: Tensor<Scalar>] {
        let root: JSONValue.Positioned
        do { root = try JSONValue.parse(String(decoding: data, as: UTF8.self)) } catch let e as GraphFileError {
            throw GraphFileError(place: e.place, message: "not valid JSON: \(e.message)")
        }
        let top = try Reader(value: root, place: "")
        let byName = placeholders
        var feeds: [Node<Scalar>: Tensor<Scalar>] = [:]
        for (name, _) in try top.object() {
            let r = try top.required(name)
            guard let node = byName[name] else {
                throw GraphFileError(place: r.place, message: "no placeholder named '\(name)' (have \(byName.keys.sorted()))")
            }
            // Flatten nested arrays with an explicit stack (no recursion).
            var values: [Scalar] = []
            var stack: [Reader] = [r]
            while let item = stack.popLast() {
                if case .array = item.value.value { stack.append(contentsOf: try item.array().reversed()) }
                else { values.append(Scalar(try item.double())) }
            }
            guard values.count == node.count else {
                throw GraphFileError(place: r.place, message: "\(values.count) values for placeholder '\(name)' of shape \(node.shape)")
            }
            feeds[node] = Tensor(shape: node.shape, scalars: values)
        }
        return feeds
    }

    private static func node(_ r: Reader, index i: Int, graph g: Graph<Scalar>, nodes: [Node<Scalar>]) throws -> Node<Scalar> {
        let place = r.place, path = r.path
        if let id = try r.optional("id") {
            guard try id.int() == i else { throw GraphFileError(place: id.place, message: "id must equal the position \(i)") }
        }
        let opName = try r.required("op").string()
        let location = SourceLocation(fileID: "graph file \(path)", line: r.value.line)
        let declared = try r.optional("shape").map { try $0.ints() }
        func value(_ shape: [Int]) throws -> Tensor<Scalar> {
            let v = try r.required("value")
            let numbers = try v.array().map { Scalar(try $0.double()) }
            guard numbers.count == shape.reduce(1, *) else {
                throw GraphFileError(place: v.place, message: "\(numbers.count) values for shape \(shape)")
            }
            return Tensor(shape: shape, scalars: numbers)
        }
        func needShape() throws -> [Int] {
            guard let declared else { throw GraphFileError(place: place, message: "\(opName) needs a \"shape\"") }
            guard declared.allSatisfy({ $0 >= 0 }) else { throw GraphFileError(place: place, message: "negative dimension in shape") }
            return declared
        }
        let node: Node<Scalar>
        switch opName {
        case "placeholder":
            node = g.placeholder(try r.required("name").string(), shape: try needShape())
        case "parameter":
            let shape = try needShape()
            node = g.parameter(try r.required("name").string(), try value(shape))
        case "constant":
            node = g.constant(try value(try needShape()))
        default:
            let op = try operation(opName, r)
            let inputs = try (r.optional("inputs")?.array() ?? []).map { item -> Node<Scalar> in
                let id = try item.int()
                guard id >= 0 && id < i else {
                    throw GraphFileError(place: item.place, message: "input \(id) is not an earlier node (node \(i))")
                }
                return nodes[id]
            }
            do {
                node = try g.apply(op, inputs, location)
            } catch {
                throw GraphFileError(place: place, message: "\(error.operation)(\(error.shapes.map { "\($0)" }.joined(separator: ", "))): \(error.message)")
            }
            if let declared, declared != node.shape {
                throw GraphFileError(place: try r.required("shape").place, message: "declared \(declared) but \(opName) gives \(node.shape)")
            }
        }
        if try r.optional("gradient")?.bool() == true { g.markGradient(node.id) }
        return node
    }

    private static func operation(_ name: String, _ r: Reader) throws -> Operation {
        func int(_ key: String) throws -> Int { try r.required(key).int() }
        func ints(_ key: String) throws -> [Int] { try r.required(key).ints() }
        func flag(_ key: String) throws -> Bool { try r.optional(key)?.bool() ?? false }
        func number(_ key: String) throws -> Double { try r.required(key).double() }
        switch name {
        case "add": return .add
        case "sub": return .sub
        case "mul": return .mul
        case "div": return .div
        case "neg": return .neg
        case "exp": return .exp
        case "log": return .log
        case "sqrt": return .sqrt
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        case "relu": return .relu
        case "gelu": return .gelu
        case "pow": return .pow(try number("exponent"))
        case "scale": return .scale(try number("value"))
        case "shift": return .shift(try number("value"))
        case "matmul": return .matmul(transposeA: try flag("transpose_a"), transposeB: try flag("transpose_b"))
        case "transpose": return .transpose(permutation: try ints("permutation"))
        case "reshape": return .reshape(shape: try ints("to"))
        case "broadcast_to": return .broadcastTo(shape: try ints("to"))
        case "concat": return .concat(axis: try int("axis"))
        case "slice":
            let start = try int("start"), end = try int("end")
            guard start <= end else { throw GraphFileError(place: r.place, message: "slice start \(start) > end \(end)") }
            return .slice(axis: try int("axis"), range: start..<end)
        case "pad":
            let start = try int("start"), end = try int("end")
            guard start <= end else { throw GraphFileError(place: r.place, message: "pad start \(start) > end \(end)") }
            return .pad(axis: try int("axis"), range: start..<end, size: try int("size"))
        case "sum": return .sum(axes: try ints("axes"), keepDims: try flag("keep_dims"))
        case "mean": return .mean(axes: try ints("axes"), keepDims: try flag("keep_dims"))
        case "max": return .max(axes: try ints("axes"), keepDims: try flag("keep_dims"))
        case "softmax": return .softmax(axis: try int("axis"))
        case "log_softmax": return .logSoftmax(axis: try int("axis"))
        case "mse": return .meanSquaredError
        case "bce_with_logits": return .binaryCrossEntropyWithLogits
        case "softmax_cross_entropy": return .softmaxCrossEntropy
        case "relu_backward": return .reluBackward
        case "tanh_backward": return .tanhBackward
        case "sigmoid_backward": return .sigmoidBackward
        case "gelu_backward": return .geluBackward
        case "max_backward": return .maxBackward(axes: try ints("axes"))
        case "softmax_cross_entropy_backward": return .softmaxCrossEntropyBackward
        default:
            throw GraphFileError(place: try r.required("op").place, message: "unknown operation '\(name)'")
        }
    }
}

/// A graph file could not be read: `place` is a path into the JSON with its line and column
/// (`nodes[3].inputs[0] (line 5, column 40)`).
public struct GraphFileError: Error, CustomStringConvertible {
    public let place: String
    public let message: String
    public var description: String { "\(place): \(message)" }
}

/// Typed access to parsed JSON that knows its place in the file (path, line and column).
struct Reader {
    let value: JSONValue.Positioned
    let path: String

    init(value: JSONValue.Positioned, place: String) throws {
        self.value = value
        self.path = place
    }

    /// `nodes[3].inputs[0] (line 5, column 40)`.
    var place: String { "\(path.isEmpty ? "(top)" : path) (line \(value.line), column \(value.column))" }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func object() throws -> [(String, JSONValue.Positioned)] {
        guard case let .object(o) = value.value else { throw GraphFileError(place: place, message: "expected an object") }
        return o
    }
    func optional(_ key: String) throws -> Reader? {
        guard let v = try object().last(where: { $0.0 == key })?.1 else { return nil }
        if case .null = v.value { return nil }
        return try Reader(value: v, place: child(key))
    }
    func required(_ key: String) throws -> Reader {
        guard let r = try optional(key) else { throw GraphFileError(place: place, message: "missing \"\(key)\"") }
        return r
    }
    func array() throws -> [Reader] {
        guard case let .array(a) = value.value else { throw GraphFileError(place: place, message: "expected an array") }
        return try a.enumerated().map { try Reader(value: $0.element, place: "\(path)[\($0.offset)]") }
    }
    func string() throws -> String {
        guard case let .string(s) = value.value else { throw GraphFileError(place: place, message: "expected a string") }
        return s
    }
    func double() throws -> Double {
        guard case let .number(d) = value.value else { throw GraphFileError(place: place, message: "expected a number") }
        return d
    }
    func int() throws -> Int {
        let d = try double()
        guard d == d.rounded(), Swift.abs(d) < 1e15 else { throw GraphFileError(place: place, message: "expected an integer") }
        return Int(d)
    }
    func ints() throws -> [Int] { try array().map { try $0.int() } }
    func bool() throws -> Bool {
        guard case let .bool(b) = value.value else { throw GraphFileError(place: place, message: "expected true or false") }
        return b
    }
}

extension Graph {
    /// Marks a node as part of a backward graph (graph files carry this flag).
    func markGradient(_ id: Int) { records[id].isGradient = true }

    /// This graph as a graph file (see `GraphFile`), with parameter and constant values inline.
    public func jsonData(outputs: [Node<Scalar>] = [], loss: Node<Scalar>? = nil, wrt: [Node<Scalar>]? = nil) -> Data {
        var text = "{\"format\": \"graph-engine/1\",\n \"nodes\": [\n"
        func list(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ", ") + "]" }
        func quote(_ s: String) -> String {
            var out = "\""
            for c in s.unicodeScalars {
                switch c {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where c.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(c.value, radix: 16).count) + String(c.value, radix: 16)
                default: out.unicodeScalars.append(c)
                }
            }
            return out + "\""
        }
        func number(_ d: Double) -> String { d.isFinite ? "\(d)" : "null" }
        for (i, r) in records.enumerated() {
            var fields = ["\"id\": \(i)", "\"op\": \"\(r.operation.name)\""]
            if !r.inputs.isEmpty { fields.append("\"inputs\": \(list(r.inputs))") }
            switch r.operation {
            case let .placeholder(name), let .parameter(name): fields.append("\"name\": \(quote(name))")
            case let .pow(p): fields.append("\"exponent\": \(number(p))")
            case let .scale(v), let .shift(v): fields.append("\"value\": \(number(v))")
            case let .matmul(ta, tb): fields += ["\"transpose_a\": \(ta)", "\"transpose_b\": \(tb)"]
            case let .transpose(p): fields.append("\"permutation\": \(list(p))")
            case let .reshape(s): fields.append("\"to\": \(list(s))")
            case let .broadcastTo(s): fields.append("\"to\": \(list(s))")
            case let .concat(a), let .softmax(a), let .logSoftmax(a): fields.append("\"axis\": \(a)")
            case let .slice(a, range): fields += ["\"axis\": \(a)", "\"start\": \(range.lowerBound)", "\"end\": \(range.upperBound)"]
            case let .pad(a, range, size):
                fields += ["\"axis\": \(a)", "\"start\": \(range.lowerBound)", "\"end\": \(range.upperBound)", "\"size\": \(size)"]
            case let .sum(axes, k), let .mean(axes, k), let .max(axes, k): fields += ["\"axes\": \(list(axes))", "\"keep_dims\": \(k)"]
            case let .maxBackward(axes): fields.append("\"axes\": \(list(axes))")
            default: break
            }
            fields.append("\"shape\": \(list(r.shape))")
            if let box = boxes[i] {
                let values = box.buffer.prefix(r.shape.reduce(1, *)).map { number(Double($0)) }
                fields.append("\"value\": [" + values.joined(separator: ", ") + "]")
            }
            if r.isGradient { fields.append("\"gradient\": true") }
            text += "  {" + fields.joined(separator: ", ") + "}" + (i + 1 < records.count ? ",\n" : "\n")
        }
        text += " ]"
        if !outputs.isEmpty { text += ",\n \"outputs\": \(list(outputs.map(\.id)))" }
        if let loss { text += ",\n \"loss\": \(loss.id)" }
        if let wrt { text += ",\n \"wrt\": \(list(wrt.map(\.id)))" }
        return Data((text + "\n}\n").utf8)
    }
}
