extension Graph {
    /// Adds the backward graph of `loss` to this graph and returns dLoss/dnode for each of `nodes`.
    ///
    /// Nodes are visited once each in reverse topological order (descending id: a loop, no recursion,
    /// so million-node chains are fine). A node's gradient is the sum of its consumers' contributions,
    /// added in a fixed order (consumers by descending id), so it never depends on timing; each
    /// contribution comes from the operation's rule in `GradientRules.swift`. Only nodes on a path from
    /// some node of `nodes` to `loss` get gradients. A node of `nodes` that `loss` does not depend on
    /// gets a zero constant.
    ///
    /// `loss` must have one element unless `seed` (dLoss/dloss, of loss's shape) is given. The returned
    /// nodes are ordinary nodes: run them in a plan, or differentiate them again.
    ///
    /// ```swift
    /// let loss = try softmaxCrossEntropy(logits: h.matmul(w2), labels: y)
    /// let grads = try g.gradients(of: loss, wrt: [w1, w2])      // grads[0].shape == w1.shape
    /// let hess = try g.gradients(of: grads[0].sum(), wrt: [w1])  // second derivatives
    /// ```
    public func gradients(of loss: Node<Scalar>, wrt nodes: [Node<Scalar>], seed: Node<Scalar>? = nil,
                          file: StaticString = #fileID, line: UInt = #line) throws -> [Node<Scalar>] {
        let here = SourceLocation(file, line)
        for n in [loss] + nodes + (seed.map { [$0] } ?? []) where n.graph !== self || n.id >= records.count {
            throw GraphError(operation: "gradients", shapes: [n.shape], location: here,
                             message: "node \(n.id) belongs to another graph")
        }
        if let seed, seed.shape != loss.shape {
            throw GraphError(operation: "gradients", shapes: [loss.shape, seed.shape], location: here,
                             message: "seed shape differs from the loss shape")
        }
        if seed == nil && loss.count != 1 {
            throw GraphError(operation: "gradients", shapes: [loss.shape], location: here,
                             message: "the loss must have one element (or pass a seed of its shape)")
        }
        buildingGradients = true
        defer { buildingGradients = false }

        let end = loss.id + 1
        // Nodes that depend on some wrt node (forward sweep) and that loss depends on (backward sweep).
        var fromWrt = [Bool](repeating: false, count: end)
        for n in nodes where n.id < end { fromWrt[n.id] = true }
        for i in 0..<end where !fromWrt[i] {
            for j in records[i].inputs where fromWrt[j] { fromWrt[i] = true; break }
        }
        var toLoss = [Bool](repeating: false, count: end)
        toLoss[loss.id] = true
        for i in stride(from: loss.id, through: 0, by: -1) where toLoss[i] {
            for j in records[i].inputs { toLoss[j] = true }
        }

        // Accumulated gradient per node: contributions are summed as they arrive, and they arrive in
        // a fixed order (consumers visited by descending id, inputs in argument order).
        var grad = [Int?](repeating: nil, count: end)
        if let seed {
            grad[loss.id] = seed.id
        } else {
            let one = Tensor<Scalar>(shape: loss.shape, repeating: 1)
            grad[loss.id] = constant(one, file: file, line: line).id
        }
        for i in stride(from: loss.id, through: 0, by: -1) {
            guard fromWrt[i], toLoss[i], let g = grad[i], !records[i].operation.isLeaf else { continue }
            let contributions = try vjp(of: i, upstream: g)
            for (k, input) in records[i].inputs.enumerated() {
                guard fromWrt[input], let c = contributions[k] else { continue }
                if let previous = grad[input] {
                    grad[input] = try apply(.add, ids: [previous, c], records[i].location)
                } else {
                    grad[input] = c
                }
            }
        }
        return nodes.map { n in
            if n.id < end, let g = grad[n.id] { return Node(graph: self, id: g) }
            return constant(.zeros(shape: n.shape), file: file, line: line)
        }
    }
}
