/// Phase 3 of `PlanBuilder`: what each step waits for, who reads each stored value, and the one
/// sequential order that buffer planning walks.
///
/// Steps `0..<steps.count` compute nodes; step `steps.count + k` runs `updates[k]`. A node step
/// waits for the steps that compute its inputs; an update waits for its gradient and, when it
/// writes the parameter, for every step that reads the parameter (so no reader sees a half-updated
/// value).
struct PlanOrder {
    /// Per step, the steps it waits for (each at most once).
    let dependencies: [[Int]]
    /// Per node id (roots only: views read their root), the steps other than its own that read it.
    let consumers: [[Int]]
    /// Every step once: node steps in id order, each update right after the last step it waits for.
    let sequence: [Int]
    /// Per step, its index in `sequence`.
    let position: [Int]
    /// Updates that run at the end of the node step computing their gradient, a column sum
    /// (Note [Bias updates in the product's step]): update index → node step. Their own steps
    /// stay in the numbering (empty: nothing waits for them, they wait for nothing) but get no task.
    let absorbed: [Int: Int]

    /// Throws if two updates write one parameter.
    /// A `folded` gradient's update (Note [Updates in the gradient's product]) waits for, and
    /// reads, what the gradient's product reads.
    /// `absorbable` updates (update index → the node step computing its gradient) are absorbed
    /// when every other step that reads their parameter comes before that step.
    init<Scalar>(_ records: [Graph<Scalar>.Record], steps: PlanSteps<Scalar>, updates: [ParameterUpdate<Scalar>],
                 folded: [Int: Int] = [:], absorbable: [Int: Int] = [:]) throws(GraphError) {
        let m = steps.count, stepCount = m + updates.count
        let root = steps.root, stepOf = steps.stepOf
        var deps = [[Int]](repeating: [], count: stepCount)
        var consumers = [[Int]](repeating: [], count: records.count)
        for s in 0..<m {
            for i in steps.members[s] {
                for j in records[i].inputs {
                    let r = root[j]
                    let p = stepOf[r]
                    if p >= 0 && p != s && !deps[s].contains(p) { deps[s].append(p) }
                    if p != s && consumers[r].last != s { consumers[r].append(s) }
                }
            }
        }
        var updated = Set<Int>()
        var absorbed: [Int: Int] = [:]
        for (k, u) in updates.enumerated() {
            let s = m + k
            guard updated.insert(u.parameter.id).inserted else {
                throw GraphError(operation: "plan", shapes: [u.parameter.shape], location: u.parameter.location,
                                 message: "parameter %\(u.parameter.id) has two updates in one plan")
            }
            // Readers of the parameter so far are node steps and folded updates' products; the
            // node step may wait for node steps before it (steps are in topological order).
            if let host = absorbable[k], consumers[root[u.parameter.id]].allSatisfy({ $0 < host || $0 == host }) {
                if u.writesParameter {
                    for reader in consumers[root[u.parameter.id]] where reader != host && !deps[host].contains(reader) {
                        deps[host].append(reader)
                    }
                }
                absorbed[k] = host
                continue
            }
            let g = root[u.gradient.id]
            if stepOf[g] >= 0 { deps[s].append(stepOf[g]) }
            if folded[u.gradient.id] == k {
                for j in records[u.gradient.id].inputs {
                    let r = root[j], p = stepOf[r]
                    if p >= 0 && !deps[s].contains(p) { deps[s].append(p) }
                    if consumers[r].last != s { consumers[r].append(s) }
                }
            }
            // After every read of the parameter (its readers so far are all node steps), if it writes it.
            if u.writesParameter {
                for reader in consumers[root[u.parameter.id]] where !deps[s].contains(reader) { deps[s].append(reader) }
            }
            consumers[g].append(s)
        }

        var updatesAfter = [[Int]](repeating: [], count: m + 1)
        for k in 0..<updates.count { updatesAfter[(deps[m + k].max() ?? -1) + 1].append(m + k) }
        var sequence: [Int] = updatesAfter[0]
        sequence.reserveCapacity(stepCount)
        for s in 0..<m { sequence.append(s); sequence.append(contentsOf: updatesAfter[s + 1]) }
        var position = [Int](repeating: 0, count: stepCount)
        for (p, s) in sequence.enumerated() { position[s] = p }

        dependencies = deps
        self.absorbed = absorbed
        self.consumers = consumers
        self.sequence = sequence
        self.position = position
    }
}
