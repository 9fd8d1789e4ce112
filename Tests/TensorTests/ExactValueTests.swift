import Foundation
import Testing
import Tensor

/// Composite graphs against references written in plain loops.
@Suite struct ExactValueTests {
    @Test func softmaxCrossEntropyByHand() throws {
        let g = Graph<Float>()
        let z = g.placeholder("z", shape: [2, 2])
        let y = g.placeholder("y", shape: [2])
        let loss = try softmaxCrossEntropy(logits: z, labels: y)
        let plan = try Plan(outputs: [loss])
        try plan.run(feeds: [z: Tensor(rows: [[0, 0], [Float(Foundation.log(3.0)), 0]]), y: Tensor([0, 1])])
        // Row 0: -log(1/2); row 1: softmax = [3/4, 1/4], -log(1/4). Mean: 1.5 ln 2.
        let expected: Float = 1.5 * Float(Foundation.log(2.0))
        #expect(abs(try plan.value(of: loss).scalar - expected) < 1e-6)
    }

    @Test func twoLayerNetMatchesPlainLoops() throws {
        let (n, d, h, c) = (5, 4, 6, 3)
        var rng = SeededGenerator(seed: 11)
        let xv = Tensor<Double>.randomNormal(shape: [n, d], using: &rng)
        let w1v = Tensor<Double>.randomNormal(shape: [d, h], using: &rng)
        let b1v = Tensor<Double>.randomNormal(shape: [h], using: &rng)
        let w2v = Tensor<Double>.randomNormal(shape: [h, c], using: &rng)
        let b2v = Tensor<Double>.randomNormal(shape: [c], using: &rng)
        let labels: [Double] = [0, 2, 1, 1, 0]

        let g = Graph<Double>()
        let x = g.placeholder("x", shape: [n, d]), y = g.placeholder("y", shape: [n])
        let w1 = g.parameter("w1", w1v), b1 = g.parameter("b1", b1v)
        let w2 = g.parameter("w2", w2v), b2 = g.parameter("b2", b2v)
        let hidden = try relu(x.matmul(w1) + b1)
        let loss = try softmaxCrossEntropy(logits: hidden.matmul(w2) + b2, labels: y)
        let grads = try g.gradients(of: loss, wrt: [w1, b1, w2, b2])
        let plan = try Plan(outputs: [loss] + grads)
        try plan.run(feeds: [x: xv, y: Tensor(labels)])

        // Reference: forward and backward by hand.
        let X = xv.scalars, W1 = w1v.scalars, B1 = b1v.scalars, W2 = w2v.scalars, B2 = b2v.scalars
        var pre = [Double](repeating: 0, count: n * h), act = pre
        for i in 0..<n { for j in 0..<h {
            var s = B1[j]
            for k in 0..<d { s += X[i * d + k] * W1[k * h + j] }
            pre[i * h + j] = s
            act[i * h + j] = max(s, 0)
        } }
        var dz = [Double](repeating: 0, count: n * c)
        var total = 0.0
        for i in 0..<n {
            var z = [Double](repeating: 0, count: c)
            for j in 0..<c {
                z[j] = B2[j]
                for k in 0..<h { z[j] += act[i * h + k] * W2[k * c + j] }
            }
            let m = z.max()!
            let e = z.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            total += -(z[Int(labels[i])] - m - Foundation.log(s))
            for j in 0..<c { dz[i * c + j] = (e[j] / s - (j == Int(labels[i]) ? 1 : 0)) / Double(n) }
        }
        var dW2 = [Double](repeating: 0, count: h * c), dB2 = [Double](repeating: 0, count: c)
        var dAct = [Double](repeating: 0, count: n * h)
        for i in 0..<n { for j in 0..<c {
            dB2[j] += dz[i * c + j]
            for k in 0..<h {
                dW2[k * c + j] += act[i * h + k] * dz[i * c + j]
                dAct[i * h + k] += W2[k * c + j] * dz[i * c + j]
            }
        } }
        var dW1 = [Double](repeating: 0, count: d * h), dB1 = [Double](repeating: 0, count: h)
        for i in 0..<n { for j in 0..<h where pre[i * h + j] > 0 {
            dB1[j] += dAct[i * h + j]
            for k in 0..<d { dW1[k * h + j] += X[i * d + k] * dAct[i * h + j] }
        } }

        func close(_ a: [Double], _ b: [Double]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }
        }
        #expect(abs(try plan.value(of: loss).scalar - total / Double(n)) < 1e-12)
        #expect(close(try plan.value(of: grads[0]).scalars, dW1))
        #expect(close(try plan.value(of: grads[1]).scalars, dB1))
        #expect(close(try plan.value(of: grads[2]).scalars, dW2))
        #expect(close(try plan.value(of: grads[3]).scalars, dB2))
    }

    @Test func parameterUpdatesRunInsideThePlan() throws {
        let g = Graph<Float>()
        let w = g.parameter("w", Tensor([1, 2, 3]))
        let x = g.placeholder("x", shape: [3])
        let loss = try (w * x).sum()
        let dw = try g.gradients(of: loss, wrt: [w])[0]
        let step = ParameterUpdate(parameter: w, gradient: dw) { p, grad in
            for i in p.indices { p[i] -= 0.5 * grad[i] }
        }
        let plan = try Plan(outputs: [loss], updates: [step])
        try plan.run(feeds: [x: Tensor([2, 4, 6])])
        // The loss reads w before the update (28), and the update applies w -= 0.5 x.
        #expect(try plan.value(of: loss).scalar == 28)
        #expect(try g.value(of: w).scalars == [0, 0, 0])
        try plan.run()
        #expect(try plan.value(of: loss).scalar == 0)
        #expect(try g.value(of: w).scalars == [-1, -2, -3])
        #expect(plan.taskInfo.contains { $0.category == .update && $0.name == "update w" })
    }

    @Test func tensorBasics() throws {
        var t = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        t[1, 2] = 60
        let u = t.transposed()
        #expect(u.shape == [3, 2])
        #expect(u.scalars == [1, 4, 2, 5, 3, 60])
        #expect(u[2, 1] == 60)
        #expect(t.reshaped([3, 2])[2, 1] == 60)
        let copy = t
        t[0, 0] = 7
        #expect(copy[0, 0] == 1)     // copy on write
        #expect(t.description == "Tensor<Float> [2, 3]\n[[7.0, 2.0, 3.0],\n [4.0, 5.0, 60.0]]")
        var a = SeededGenerator(seed: 3), b = SeededGenerator(seed: 3)
        #expect(Tensor<Float>.randomNormal(shape: [4], using: &a) == Tensor<Float>.randomNormal(shape: [4], using: &b))
        let big = Tensor<Double>.zeros(shape: [2, 10])
        #expect(big.description.contains("..."))
    }
}
