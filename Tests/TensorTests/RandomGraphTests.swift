import Testing
import Scheduler
import Tensor

/// Random DAGs exercise fusion grouping and buffer reuse: a wrong reuse or a bad group would change
/// values, so fused plans on several workers must equal unfused serial plans bitwise.
@Suite struct RandomGraphTests {
    static func build(seed: UInt64) throws -> (Graph<Double>, [Node<Double>]) {
        var rng = SeededGenerator(seed: seed)
        let g = Graph<Double>()
        var pool: [Node<Double>] = []
        var params: [Node<Double>] = []
        for k in 0..<4 {
            let p = g.parameter("p\(k)", .randomUniform(shape: [6, 40], in: -1..<1, using: &rng))
            pool.append(p); params.append(p)
        }
        let m = g.parameter("m", .randomUniform(shape: [40, 40], in: -0.2..<0.2, using: &rng))
        let s = g.parameter("s", .randomUniform(shape: [1], in: 0.5..<1, using: &rng))
        let row = g.parameter("row", .randomUniform(shape: [40], in: -1..<1, using: &rng))
        params += [m, s, row]
        for _ in 0..<160 {
            // Prefer recent nodes (chains) but reach back sometimes (fan-out, long-lived values).
            func pick() -> Node<Double> {
                let back = Int.random(in: 0..<100, using: &rng) < 70 ? Int.random(in: 0..<min(4, pool.count), using: &rng)
                                                                       : Int.random(in: 0..<pool.count, using: &rng)
                return pool[pool.count - 1 - back]
            }
            let a = pick(), b = pick()
            let node: Node<Double>
            switch Int.random(in: 0..<17, using: &rng) {
            case 14: node = try maximum(a, b) - minimum(a, row)      // broadcasting min/max fuse like add
            case 15: node = try clamp(square(a), max: 0.8) + abs(b)
            case 16: node = try select(relu(a), b, a * s)
            case 12: node = try relu(a + row)            // a bias: fuses as a row broadcast
            case 13: node = try (a - row) * b
            case 0: node = try a + b
            case 1: node = try a * b
            case 2: node = try a - b * s
            case 3: node = try tanh(a)
            case 4: node = try sigmoid(a) * 2
            case 5: node = try -a + 0.5
            case 6: node = try a.matmul(m)
            case 7: node = try a.sum(axes: [1], keepDims: true) * b
            case 8: node = try a / (b * b + 1)
            case 9: node = try relu(a - b)
            case 10: node = try softmax(a) + b
            default: node = try a * s
            }
            pool.append(try tanh(node))    // keeps values bounded
        }
        var outputs: [Node<Double>] = []
        for k in stride(from: 10, to: pool.count, by: 37) { outputs.append(pool[k]) }
        let loss = try pool.suffix(20).reduce(g.scalar(0)) { try $0 + $1.mean() }
        outputs.append(loss)
        outputs += try g.gradients(of: loss, wrt: params)
        return (g, outputs)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func fusedParallelEqualsUnfusedSerial(seed: UInt64) throws {
        let (_, outputs) = try Self.build(seed: seed)
        let reference = try Plan(outputs: outputs, fusion: false)
        try reference.run()
        let executor = Executor(workers: 3)
        let fused = try Plan(outputs: outputs, executor: executor)
        #expect(fused.peakBytes < fused.unplannedBytes)      // buffers were reused
        #expect(fused.taskCount < reference.taskCount)        // and operations fused
        for _ in 0..<3 {
            try fused.run()
            for n in outputs { #expect(try fused.value(of: n) == reference.value(of: n), "node \(n)") }
        }
    }
}
