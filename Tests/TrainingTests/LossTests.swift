import Foundation
import Testing
import Tensor
import Training

/// Every `Loss`: the graph node's value against `hostLoss` and against the textbook formula on a
/// tiny case, its gradient with respect to the prediction against central finite differences (in
/// Double), BCE at extreme logits, probabilities, and the checks that refuse a loss that does not fit.
@Suite struct LossTests {
    /// A tiny case for one loss: predictions (a parameter, so it can be differentiated), targets
    /// and the loss's value worked out by hand (from the textbook definition, not the library's formula).
    struct Case {
        let predictionShape: [Int]
        let predictions: [Double]
        let targetShape: [Int]
        let targets: [Double]
        let rows: Int
        let byHand: Double
    }

    /// Regression residuals p - t = [0.3, -2, 0.75, -0.2]: away from 0 and from ±1 and ±0.5 (Huber's
    /// kinks for the deltas tested), both sides of delta 0.5 (0.3 and 0.2 inside, 0.75 and 2 outside)
    /// and both sides of delta 1.
    static let regressionP: [Double] = [1.0, 2.0, -0.5, 3.0]
    static let regressionT: [Double] = [0.7, 4.0, -1.25, 3.2]
    static let residuals: [Double] = [0.3, -2, 0.75, -0.2]

    static func tinyCase(_ loss: Loss) -> Case {
        switch loss {
        case .meanSquaredError:
            // (0.09 + 4 + 0.5625 + 0.04) / 4
            return Case(predictionShape: [2, 2], predictions: regressionP, targetShape: [2, 2], targets: regressionT,
                        rows: 2, byHand: 4.6925 / 4)
        case .meanAbsoluteError:
            // (0.3 + 2 + 0.75 + 0.2) / 4
            return Case(predictionShape: [2, 2], predictions: regressionP, targetShape: [2, 2], targets: regressionT,
                        rows: 2, byHand: 3.25 / 4)
        case .huber(delta: 1):
            // 0.3²/2 + (2 - 1/2) + 0.75²/2 + 0.2²/2 = 0.045 + 1.5 + 0.28125 + 0.02
            return Case(predictionShape: [2, 2], predictions: regressionP, targetShape: [2, 2], targets: regressionT,
                        rows: 2, byHand: 1.84625 / 4)
        case .huber(delta: 0.5):
            // 0.3²/2 + 0.5 (2 - 0.25) + 0.5 (0.75 - 0.25) + 0.2²/2 = 0.045 + 0.875 + 0.25 + 0.02
            return Case(predictionShape: [2, 2], predictions: regressionP, targetShape: [2, 2], targets: regressionT,
                        rows: 2, byHand: 1.19 / 4)
        case .binaryCrossEntropy:
            // -(t log σ(z) + (1 - t) log(1 - σ(z))), with a soft target 0.25 too.
            let z: [Double] = [2, -1, 0.5, -3], t: [Double] = [1, 0, 0.25, 1]
            var sum = 0.0
            for (zi, ti) in zip(z, t) {
                let s = 1 / (1 + exp(-zi))
                sum += -(ti * log(s) + (1 - ti) * log(1 - s))
            }
            return Case(predictionShape: [4, 1], predictions: z, targetShape: [4, 1], targets: t, rows: 4, byHand: sum / 4)
        case .crossEntropy:
            // -log softmax(row)[label], averaged over the 2 rows.
            let logits: [Double] = [1, 2, 0.5, 0.1, -1, 2], labels: [Double] = [1, 2]
            let row0 = -log(exp(2) / (exp(1) + exp(2) + exp(0.5)))
            let row1 = -log(exp(2) / (exp(0.1) + exp(-1) + exp(2)))
            return Case(predictionShape: [2, 3], predictions: logits, targetShape: [2], targets: labels, rows: 2,
                        byHand: (row0 + row1) / 2)
        case .huber:
            fatalError("no tiny case for \(loss)")
        }
    }

    static let all: [Loss] = [.meanSquaredError, .meanAbsoluteError, .huber(delta: 1), .huber(delta: 0.5),
                              .binaryCrossEntropy, .crossEntropy]

    /// The loss node over the case's prediction parameter and a constant target, with its gradient.
    private static func build<S: TensorScalar>(_ loss: Loss, _ c: Case, as _: S.Type)
        throws -> (graph: Graph<S>, p: Node<S>, loss: Node<S>, gradient: Node<S>) {
        let g = Graph<S>()
        let p = g.parameter("p", Tensor(shape: c.predictionShape, scalars: c.predictions.map { S($0) }))
        let t = g.constant(Tensor(shape: c.targetShape, scalars: c.targets.map { S($0) }))
        let l = try loss(prediction: p, target: t)
        let grad = try g.gradients(of: l, wrt: [p])[0]
        return (g, p, l, grad)
    }

    @Test(arguments: all)
    func valueMatchesHostLossAndTheHandValue(loss: Loss) throws {
        let c = Self.tinyCase(loss)
        let host = loss.hostLoss(predictions: c.predictions, targets: c.targets, rows: c.rows)
        #expect(abs(host - c.byHand) <= 1e-12 * max(1, abs(c.byHand)), "\(loss): host \(host), by hand \(c.byHand)")

        let (_, _, d, _) = try Self.build(loss, c, as: Double.self)
        let planD = try Plan(outputs: [d])
        try planD.run()
        let valueD = try planD.value(of: d).scalar
        #expect(abs(valueD - c.byHand) <= 1e-12 * max(1, abs(c.byHand)), "\(loss) Double node \(valueD), by hand \(c.byHand)")
        #expect(abs(valueD - host) <= 1e-12 * max(1, abs(host)))

        let (_, _, f, _) = try Self.build(loss, c, as: Float.self)
        let planF = try Plan(outputs: [f])
        try planF.run()
        let valueF = Double(try planF.value(of: f).scalar)
        #expect(abs(valueF - c.byHand) <= 1e-6 * max(1, abs(c.byHand)), "\(loss) Float node \(valueF), by hand \(c.byHand)")
    }

    @Test(arguments: all)
    func gradientMatchesCentralDifferences(loss: Loss) throws {
        let c = Self.tinyCase(loss)
        let (g, p, l, grad) = try Self.build(loss, c, as: Double.self)
        let plan = try Plan(outputs: [l, grad])
        try plan.run()
        let analytic = try plan.value(of: grad).scalars
        #expect(analytic.count == c.predictions.count)
        let eps = 1e-6
        var problems: [String] = []
        for i in c.predictions.indices {
            var plus = c.predictions, minus = c.predictions
            plus[i] += eps
            minus[i] -= eps
            try g.setValue(Tensor(shape: c.predictionShape, scalars: plus), of: p)
            try plan.run()
            let lp = try plan.value(of: l).scalar
            try g.setValue(Tensor(shape: c.predictionShape, scalars: minus), of: p)
            try plan.run()
            let lm = try plan.value(of: l).scalar
            let numeric = (lp - lm) / (2 * eps)
            if !(abs(analytic[i] - numeric) <= 1e-7 + 1e-5 * abs(numeric)) {
                problems.append("element \(i): analytic \(analytic[i]) vs numeric \(numeric)")
            }
        }
        #expect(problems.isEmpty, "\(loss): \(problems)")
        // The regression gradients are also known in closed form: check one by hand.
        switch loss {
        case .meanSquaredError:
            #expect(zip(analytic, Self.residuals).allSatisfy { abs($0 - 2 * $1 / 4) < 1e-12 })
        case .meanAbsoluteError:
            #expect(analytic == Self.residuals.map { d -> Double in (d > 0 ? 1.0 : -1.0) / 4 })
        case let .huber(delta):
            let expected = Self.residuals.map { d in (abs(d) <= delta ? d : delta * (d > 0 ? 1 : -1)) / 4 }
            #expect(zip(analytic, expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(analytic) vs \(expected)")
        default: break
        }
    }

    /// Logits of ±80 and ±1000 against targets 0 and 1: no overflow in the value or the gradient, in Float or Double.
    @Test func binaryCrossEntropyAtExtremeLogits() throws {
        let z: [Double] = [80, 80, -80, -80, 1000, 1000, -1000, -1000]
        let t: [Double] = [0, 1, 0, 1, 0, 1, 0, 1]
        let n = Double(z.count)
        let exact = zip(z, t).reduce(0.0) { $0 + max($1.0, 0) - $1.0 * $1.1 + log1p(exp(-abs($1.0))) } / n
        // Worked out: the wrong-side rows cost |z| each (80 + 80 + 1000 + 1000), the right-side ones ~0.
        #expect(abs(exact - 2160 / n) < 1e-12)
        let expectedGradient = zip(z, t).map { (1 / (1 + exp(-$0.0)) - $0.1) / n }
        // σ(-80) = 1.8e-35 is the only gradient that is not exactly ±1/n or 0.
        #expect(zip(expectedGradient, [1, 0, 0, -1, 1, 0, 0, -1].map { $0 / n }).allSatisfy { abs($0 - $1) < 1e-34 })

        func check<S: TensorScalar>(_: S.Type, tolerance: Double) throws {
            let c = Case(predictionShape: [8, 1], predictions: z, targetShape: [8, 1], targets: t, rows: 8, byHand: exact)
            let (_, _, l, grad) = try Self.build(.binaryCrossEntropy, c, as: S.self)
            let plan = try Plan(outputs: [l, grad])
            try plan.run()
            let value = Double(try plan.value(of: l).scalar)
            let gradient = try plan.value(of: grad).scalars.map { Double($0) }
            #expect(value.isFinite && abs(value - exact) <= tolerance * exact, "\(S.self): \(value) vs \(exact)")
            #expect(gradient.allSatisfy { $0.isFinite }, "\(S.self): \(gradient)")
            #expect(zip(gradient, expectedGradient).allSatisfy { abs($0 - $1) <= tolerance }, "\(S.self): \(gradient)")
        }
        try check(Double.self, tolerance: 1e-12)
        try check(Float.self, tolerance: 1e-6)
        let host = Loss.binaryCrossEntropy.hostLoss(predictions: z, targets: t, rows: 8)
        #expect(host.isFinite && abs(host - exact) <= 1e-12 * exact)
    }

    @Test func probabilities() {
        // Softmax, worked out: e^x / (e + e² + e³).
        let total = exp(1.0) + exp(2.0) + exp(3.0)
        let ce = Loss.crossEntropy.probabilities(row: [1, 2, 3][...])
        #expect(zip(ce, [exp(1.0) / total, exp(2.0) / total, exp(3.0) / total]).allSatisfy { abs($0 - $1) < 1e-15 })
        // Huge logits do not overflow.
        #expect(Loss.crossEntropy.probabilities(row: [1000, 0, -1000][...]) == [1, 0, 0])
        #expect(Loss.crossEntropy.probabilities(row: [5, 5][...]) == [0.5, 0.5])
        // One BCE logit: [1 - σ(z), σ(z)].
        #expect(Loss.binaryCrossEntropy.probabilities(row: [0][...]) == [0.5, 0.5])
        let s2 = 1 / (1 + exp(-2.0))
        let bce = Loss.binaryCrossEntropy.probabilities(row: [2][...])
        #expect(abs(bce[1] - s2) < 1e-15 && abs(bce[0] - (1 - s2)) < 1e-15)
        let negative = Loss.binaryCrossEntropy.probabilities(row: [-2][...])
        #expect(abs(negative[1] - (1 - s2)) < 1e-15 && abs(negative[0] - s2) < 1e-15)
        #expect(Loss.binaryCrossEntropy.probabilities(row: [1000][...]) == [0, 1])
        #expect(Loss.binaryCrossEntropy.probabilities(row: [-1000][...]) == [1, 0])
        // Regression rows are returned unchanged.
        #expect(Loss.meanSquaredError.probabilities(row: [3.5, -1][...]) == [3.5, -1])
    }

    @Test func checkRefusesLossesThatDoNotFitTheTask() throws {
        do {
            try Loss.binaryCrossEntropy.check(fits: .multiclass, classCount: 5)
            Issue.record("bce on 5 classes was accepted")
        } catch let error as TrainingError {
            let m = error.description
            #expect(m.contains("bce") && m.contains("multiclass") && m.contains("5 classes"), "\(m)")
        }
        do {
            try Loss.meanSquaredError.check(fits: .binary, classCount: 2)
            Issue.record("mse on a binary task was accepted")
        } catch let error as TrainingError {
            let m = error.description
            #expect(m.contains("mse") && m.contains("binary"), "\(m)")
        }
        #expect(throws: TrainingError.self) { try Loss.crossEntropy.check(fits: .regression) }
        #expect(throws: TrainingError.self) { try Loss.huber(delta: 1).check(fits: .multiclass, classCount: 3) }
        // What fits passes.
        try Loss.crossEntropy.check(fits: .binary, classCount: 2)
        try Loss.crossEntropy.check(fits: .multiclass, classCount: 7)
        try Loss.binaryCrossEntropy.check(fits: .binary, classCount: 2)
        for loss in [Loss.meanSquaredError, .meanAbsoluteError, .huber(delta: 0.5)] { try loss.check(fits: .regression) }
    }

    /// A `[N]` prediction against a `[N, 1]` target would broadcast to `[N, N]`: refused with the shapes.
    @Test(arguments: [Loss.huber(delta: 1), .huber(delta: 0.5), .meanAbsoluteError])
    func regressionLossesRefuseMismatchedShapes(loss: Loss) throws {
        let g = Graph<Float>()
        let p = g.placeholder("p", shape: [4])
        let t = g.placeholder("t", shape: [4, 1])
        do {
            _ = try loss(prediction: p, target: t)
            Issue.record("\(loss): [4] against [4, 1] was accepted")
        } catch let error as ModelSpecError {
            let m = error.description
            #expect(m.contains(loss.name) && m.contains("[4]") && m.contains("[4, 1]") && m.contains("same shape"), "\(m)")
        }
        // Equal shapes build a scalar.
        #expect(try loss(prediction: p, target: g.placeholder("u", shape: [4])).shape == [])
    }

    @Test func namesRoundTrip() {
        for name in Loss.names { #expect(Loss(name: name)?.name == name) }
        #expect(Loss(name: "huber") == .huber(delta: 1))
        #expect(Loss(name: "hinge") == nil)
        #expect(Loss.huber(delta: 0.5).description == "huber(delta 0.5)")
    }
}
