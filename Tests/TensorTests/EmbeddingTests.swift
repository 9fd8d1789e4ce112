import Foundation
import Testing
import Tensor

/// `embedding`: rows looked up and gradients scattered back as worked out by hand, finite
/// differences (first and second order), bad indices failing the run with their place, graph
/// files, and equal bits on 1, 2 and 3 workers.
@Suite struct EmbeddingTests {
    static let gradientCases: [GradCase] = [
        GradCase("embedding, repeated indices") { g, r in
            let table = g.random([5, 3], &r)
            let indices = g.constant(Tensor(shape: [2, 4], scalars: [0, 4, 2, 4, 1, 0, 0, 3]))
            return (try embedding(table, indices: indices), [table])
        },
        GradCase("embedding, scalar index") { g, r in
            let table = g.random([4, 2], &r)
            return (try embedding(table, indices: g.scalar(3)), [table])
        },
        GradCase("second derivative through embedding") { g, r in
            let table = g.random([4, 3], &r)
            let indices = g.constant(Tensor([1, 3, 1]))
            let e = try embedding(table, indices: indices)
            let first = try g.gradients(of: (e * e * e).sum(), wrt: [table])[0]
            return (first, [table])
        },
    ]

    @Test(arguments: gradientCases)
    func matchesFiniteDifferences(_ c: GradCase) throws {
        let problems = try GradientCheck.run(c.build)
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }

    @Test func rowsAndGradientByHand() throws {
        let g = Graph<Double>()
        let table = g.parameter("table", Tensor(rows: [[1, 2], [3, 4], [5, 6]]))
        let ids = g.placeholder("ids", shape: [3])
        let out = try embedding(table, indices: ids)
        let weights = g.constant(Tensor(rows: [[1, 1], [2, 2], [3, 3]]))
        let grad = try g.gradients(of: (out * weights).sum(), wrt: [table])[0]
        let plan = try Plan(outputs: [out, grad])
        try plan.run(feeds: [ids: Tensor([2, 0, 2])])
        #expect(try plan.value(of: out) == Tensor(rows: [[5, 6], [1, 2], [5, 6]]))
        // Row 0 gets weights[1]; row 2 gets weights[0] + weights[2]; row 1 gets nothing.
        #expect(try plan.value(of: grad) == Tensor(rows: [[2, 2], [0, 0], [4, 4]]))
        #expect(out.shape == [3, 2])
        let grid = try embedding(table, indices: g.constant(.zeros(shape: [2, 5])))
        #expect(grid.shape == [2, 5, 2])
    }

    @Test func badIndexFailsTheRunNamingIt() throws {
        let g = Graph<Float>()
        let table = g.parameter("table", .zeros(shape: [3, 2]))
        let ids = g.placeholder("ids", shape: [2, 2])
        let line = #line + 1
        let out = try embedding(table, indices: ids)
        let plan = try Plan(outputs: [out])
        for (values, expected) in [([0, 1, 3, 0], "index 3.0 at [1, 0]"), ([0, -1, 2, 0], "index -1.0 at [0, 1]"),
                                   ([0, 1, 2, 1.5], "index 1.5 at [1, 1]")] as [([Float], String)] {
            var message = "no error"
            do { try plan.run(feeds: [ids: Tensor(shape: [2, 2], scalars: values)]) } catch { message = "\(error)" }
            #expect(message.contains("embedding([3, 2], [2, 2]) at TensorTests/EmbeddingTests.swift:\(line)"), "\(message)")
            #expect(message.contains("\(expected) is not a row of the table (0..<3)"), "\(message)")
        }
        try plan.run(feeds: [ids: Tensor(shape: [2, 2], scalars: [0, 1, 2, 1])])   // the plan stays usable
        #expect(try plan.value(of: out).shape == [2, 2, 2])
        var shapeMessage = ""
        do { _ = try embedding(g.placeholder("flat", shape: [6]), indices: ids) } catch { shapeMessage = "\(error)" }
        #expect(shapeMessage.contains("embedding([6], [2, 2])") && shapeMessage.contains("expects a table [V, D], got [6]"))
    }

    @Test func graphFilesRoundTrip() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 4)
        let table = g.parameter("table", .randomNormal(shape: [6, 3], using: &rng))
        let ids = g.placeholder("ids", shape: [2, 3])
        let out = try tanh(embedding(table, indices: ids))
        #expect(try GraphFileRoundTrip.matches([("out", out)], loss: out.sum()) { file in
            [file.placeholders["ids"]!: Tensor(shape: [2, 3], scalars: [5, 0, 5, 2, 2, 1])]
        })
    }

    @Test func bitwiseEqualOnOneTwoAndThreeWorkers() throws {
        let check = try WorkerCountCheck { (g: Graph<Float>) in
            var rng = SeededGenerator(seed: 12)
            let table = g.parameter("table", .randomNormal(shape: [1000, 64], using: &rng))
            // Skewed ids with many repeats, so rows collect many contributions.
            let ids = (0..<4096).map { _ in Float(Int(pow(rng.nextUniform(), 3) * 1000)) }
            let out = try embedding(table, indices: g.constant(Tensor(shape: [64, 64], scalars: ids)))
            let weights = g.constant(.randomNormal(shape: [64, 64, 64], using: &rng))
            let loss = try (out * weights).sum()
            return [out, loss, try g.gradients(of: loss, wrt: [table])[0]]
        }
        #expect(check.bitwiseEqual)
        for k in 1..<check.split.count {
            #expect(check.split[k].isSuperset(of: ["embedding", "embedding_backward"]),
                    "\(WorkerCountCheck.workerCounts[k]) workers split only \(check.split[k])")
        }
    }
}
