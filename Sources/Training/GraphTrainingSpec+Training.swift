import Tensor

extension GraphTrainingSpec {
    /// The trainer's view of this spec, with each input's columns resolved against the encoded
    /// feature names (`Preprocessor.encodedFeatureNames`): `features` is every column; a name picks a
    /// numeric column, or all one-hot columns of a text column (`name=...`); indices count encoded
    /// columns from 0. The target must be fed from the label column(s).
    public func trainingGraph(featureNames: [String]) throws -> TrainingGraph<Scalar> {
        let inputs = try self.inputs.map { feed -> TrainingGraph<Scalar>.Input in
            switch feed.columns {
            case .features:
                return .init(feed.placeholder, columns: nil)
            case .label:
                throw ModelSpecError("training input '\(feed.name)' is fed from the label: only the target may be")
            case let .indices(indices):
                if let bad = indices.first(where: { $0 < 0 || $0 >= featureNames.count }) {
                    throw ModelSpecError("training input '\(feed.name)': column \(bad) does not exist (the encoded data has \(featureNames.count) feature columns)")
                }
                return .init(feed.placeholder, columns: indices)
            case let .names(names):
                var columns: [Int] = []
                for name in names {
                    let matches = featureNames.indices.filter { featureNames[$0] == name || featureNames[$0].hasPrefix(name + "=") }
                    guard !matches.isEmpty else {
                        throw ModelSpecError("training input '\(feed.name)': no feature column '\(name)' (features: \(featureNames.joined(separator: ", ")))")
                    }
                    columns += matches
                }
                return .init(feed.placeholder, columns: columns)
            }
        }
        return try TrainingGraph(inputs: inputs, target: target.placeholder, prediction: prediction, loss: loss)
    }

    /// The known loss the loss node computes (`mse`, `bce` or `ce` of the prediction against the
    /// target placeholder), or nil for any other scalar.
    public var knownLoss: Loss? {
        guard loss.inputs == [prediction, target.placeholder] else { return nil }
        switch loss.operation {
        case .meanSquaredError: return .meanSquaredError
        case .binaryCrossEntropyWithLogits: return .binaryCrossEntropy
        case .softmaxCrossEntropy: return .crossEntropy
        // Listed, not `default:`, so that a new loss operation must be sorted here.
        case .placeholder, .parameter, .constant, .add, .sub, .mul, .div, .neg, .exp, .log, .sqrt, .tanh, .sigmoid,
             .relu, .gelu, .abs, .square, .minimum, .maximum, .clamp, .select, .pow, .scale, .shift, .matmul,
             .transpose, .reshape, .broadcastTo, .concat, .slice, .pad, .embedding, .sum, .mean, .max, .softmax,
             .logSoftmax, .maxPool2d, .avgPool2d, .conv2d, .layerNorm, .dropout,
             .reluBackward, .tanhBackward, .sigmoidBackward, .geluBackward, .absBackward, .clampBackward,
             .extremumBackward, .selectBackward, .maxBackward, .softmaxCrossEntropyBackward, .embeddingBackward,
             .layerNormBackward, .layerNormGammaBackward, .maxPool2dBackward, .avgPool2dBackward,
             .conv2dBackwardInput, .conv2dBackwardFilter:
            return nil
        }
    }
}
