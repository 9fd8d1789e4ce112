import Testing
import Scheduler
import Tensor

/// The README's "Building and differentiating a graph" example, kept compiling and correct here.
@Test func readmeExampleTrainsAndLowersLoss() throws {
    var rng = SeededGenerator(seed: 7)
    let g = Graph<Float>()
    let x  = g.placeholder("x", shape: [32, 4])
    let y  = g.placeholder("labels", shape: [32])
    let w1 = g.parameter("w1", .randomNormal(shape: [4, 16], standardDeviation: 0.5, using: &rng))
    let b1 = g.parameter("b1", .zeros(shape: [16]))
    let w2 = g.parameter("w2", .randomNormal(shape: [16, 3], standardDeviation: 0.5, using: &rng))

    let h = try relu(x.matmul(w1) + b1)               // shapes are checked here, as the graph is built
    let loss = try softmaxCrossEntropy(logits: h.matmul(w2), labels: y)
    let grads = try g.gradients(of: loss, wrt: [w1, b1, w2])   // the backward pass: more graph

    let executor = Executor(workers: 2)
    defer { executor.shutdown() }
    // Plain SGD inside the plan; a weight's step runs in the product that computes its gradient.
    // Any other rule: ParameterUpdate(parameter: p, gradient: dp) { value, grad in ... }
    let updates = zip([w1, b1, w2], grads).map { p, dp in
        ParameterUpdate.sgd(parameter: p, gradient: dp) { 0.1 }
    }
    let step = try Plan(outputs: [loss], updates: updates, executor: executor)

    let features = Tensor<Float>.randomUniform(shape: [32, 4], in: -1..<1, using: &rng)
    let labels = Tensor<Float>(shape: [32], scalars: (0..<32).map { i in
        features[i, 0] > 0 ? 0 : (features[i, 1] > 0 ? 1 : 2)
    })
    var first = Float.nan, last = Float.nan
    for i in 0..<200 {
        try step.run(feeds: [x: features, y: labels])   // forward, backward and updates, in parallel
        last = try step.value(of: loss).scalars[0]
        if i == 0 { first = last }
    }
    #expect(last < first / 2)
}
