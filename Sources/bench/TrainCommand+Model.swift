import Foundation
import Scheduler
import Tensor
import Training

extension TrainCommand.Run {
    /// The graph file of `--graph`, read in this run's scalar type (nil without `--graph`).
    func readGraphFile() throws -> GraphFile<Scalar>? {
        guard let path = o.graph else { return nil }
        let file = try GraphFile<Scalar>(contentsOf: URL(fileURLWithPath: path))
        guard file.training != nil else {
            throw ArgumentError("\(path): the graph file has no training section, so it cannot be trained: declare its inputs, target, prediction and loss (docs/graph-format.md, version 2)")
        }
        return file
    }

    /// The task a graph file implies: its `task` field, else what its known loss trains.
    static func task(of file: GraphFile<Scalar>?) -> LearningTask? {
        guard let training = file?.training else { return nil }
        if let name = training.task { return LearningTask(rawValue: name) }
        switch training.knownLoss {
        case .crossEntropy?: return .multiclass
        case .binaryCrossEntropy?: return .binary
        case .meanSquaredError?, .meanAbsoluteError?, .huber?: return .regression
        case nil: return nil
        }
    }

    /// The model: an MLP of `--model`/`--hidden` widths on the chosen loss, or the graph file's.
    func makeModel(_ prepared: TrainCommand.PreparedData, graphFile: GraphFile<Scalar>?, optimizer: Optimizer,
                   executor: Executor) throws -> Model {
        let p = prepared.preprocessor
        let scalar = Scalar.self == Double.self ? "double" : "float"
        if let file = graphFile, let training = file.training {
            let spec = try training.trainingGraph(featureNames: p.encodedFeatureNames)
            let loss = training.knownLoss
            try loss?.check(fits: prepared.task, classCount: p.classCount)
            let trainer = try Trainer(graph: spec, loss: loss, optimizer: optimizer, seed: o.seed, executor: executor)
            let json = try file.json().json
            return Model(trainer: trainer, loss: loss, description: .graph(json: json, loss: loss, scalar: scalar),
                         summary: "graph \(o.graph!) (\(spec.parameters.count) parameters, \(spec.parameters.reduce(0) { $0 + $1.count }) values)",
                         file: { file })
        }
        let loss = o.loss ?? prepared.task.defaultLoss
        try loss.check(fits: prepared.task, classCount: p.classCount)
        let features = prepared.train.featureCount
        let outputs = loss.outputWidth(task: prepared.task, classCount: p.classCount, targetCount: prepared.train.targetCount)
        let batch = o.batch, task = prepared.task
        var layers = o.layers
        if TrainCommand.PreparedData.isText(prepared.name) {
            // A text's samples are character indices: the model starts with an embedding, whose
            // vocabulary (embedding(D)) is the text's character set.
            let v = p.classCount
            layers = try (layers ?? LayerSpec.parse("embedding(64)-position-attention(4)-layernorm-last-dense(\(v))")).map {
                if case let .embedding(0, d) = $0 { .embedding(vocabulary: v, dimension: d) } else { $0 }
            }
            guard case .embedding? = layers?.first else {
                throw ArgumentError("--model: a text's samples are \(o.context) character indices; start the model with embedding(D)")
            }
        }
        if let specs = layers {
            // The digits are 8x8 images: a model that starts on images reads them so unless told otherwise.
            let inputShape = o.image ?? (specs.first?.takesImages == true && prepared.name == "digits" ? [8, 8, 1] : [features])
            guard inputShape.reduce(1, *) == features else {
                throw ArgumentError("--image \(inputShape.map(String.init).joined(separator: "x")) holds \(inputShape.reduce(1, *)) values, the data has \(features) encoded features")
            }
            var rng = SeededGenerator(seed: o.seed)
            let model: Sequential<Scalar>
            do { model = try Sequential(graph: Graph<Scalar>(), inputShape: inputShape, layers: specs, using: &rng) } catch {
                throw ArgumentError("--model: \(error)")
            }
            let width = model.outputWidth
            guard loss == .crossEntropy ? width >= outputs : width == outputs else {
                throw ArgumentError("--model \(model.description): its output width is \(width); loss \(loss.name) on this data needs \(loss == .crossEntropy ? "at least " : "")\(outputs)")
            }
            let trainer = try Trainer(model: model, loss: loss, optimizer: optimizer, batchSize: o.batch, seed: o.seed,
                                      executor: executor)
            return Model(trainer: trainer, loss: loss,
                         description: .sequential(inputShape: inputShape, layers: specs, loss: loss, scalar: scalar),
                         summary: "\(model.description) on \(inputShape.map(String.init).joined(separator: "x"))",
                         file: { try Self.graphFile(of: model, loss: loss, batch: batch, task: task) })
        }
        let widths = o.model ?? [features] + (o.hidden ?? [256]) + [outputs]
        let text = widths.map(String.init).joined(separator: ",")
        guard widths.first == features else {
            throw ArgumentError("--model \(text): the input width must be the data's \(features) encoded features")
        }
        if loss == .crossEntropy {
            guard widths.last! >= outputs else {
                throw ArgumentError("--model \(text): the output width must be at least the data's \(outputs) classes")
            }
        } else if widths.last! != outputs {
            throw ArgumentError("--model \(text): loss \(loss.name) on this data needs \(outputs) output\(outputs == 1 ? "" : "s")")
        }
        var rng = SeededGenerator(seed: o.seed)
        let mlp = MLP(graph: Graph<Scalar>(), widths: widths, activation: o.activation, using: &rng)
        let trainer = try Trainer(model: mlp, loss: loss, optimizer: optimizer, batchSize: o.batch, seed: o.seed,
                                  executor: executor)
        return Model(trainer: trainer, loss: loss,
                     description: .mlp(widths: widths, activation: o.activation, loss: loss, scalar: scalar),
                     summary: "MLP \(text) (\(o.activation.rawValue))",
                     file: { try Self.graphFile(of: mlp, loss: loss, batch: batch, task: task) })
    }

    /// The model as a graph file with a training section (batch `batch`), its values the current parameters.
    static func graphFile(of model: some TrainableModel<Scalar>, loss: Loss, batch: Int, task: LearningTask) throws -> GraphFile<Scalar> {
        let graph = model.parameters[0].graph
        let x = graph.placeholder("x", shape: [batch] + model.inputShape)
        let prediction = try model.prediction(x)
        let target = graph.placeholder("target", shape: loss.targetShape(rows: batch, targetCount: prediction.shape[1]))
        let lossNode = try loss(prediction: prediction, target: target)
        let spec = try GraphTrainingSpec(inputs: [.init(placeholder: x, columns: .features)],
                                         target: .init(placeholder: target, columns: .label),
                                         prediction: prediction, loss: lossNode, task: task.rawValue)
        return try GraphFile(outputs: [("prediction", prediction), ("loss", lossNode)], loss: lossNode, training: spec)
    }
}
