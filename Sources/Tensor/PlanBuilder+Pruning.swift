/// Phase 1 of `PlanBuilder`: the nodes a plan needs.
extension PlanBuilder {
    /// Per node id, whether the plan needs the node: the outputs, each update's parameter and
    /// gradient, and everything they read. One backward sweep over ids (inputs have smaller ids).
    static func prune(_ records: [Graph<Scalar>.Record], outputs: [Int], updates: [ParameterUpdate<Scalar>]) -> [Bool] {
        var needed = [Bool](repeating: false, count: records.count)
        for o in outputs { needed[o] = true }
        for u in updates { needed[u.parameter.id] = true; needed[u.gradient.id] = true }
        for i in stride(from: records.count - 1, through: 0, by: -1) where needed[i] {
            for j in records[i].inputs { needed[j] = true }
        }
        return needed
    }
}
