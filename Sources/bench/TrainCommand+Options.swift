import Tensor
import Training

extension TrainCommand {
    /// Everything the command line sets.
    struct Options {
        var data: String
        var labelColumn: Int?
        var standardize: Bool?
        var model: [Int]?
        var activation: Activation
        var optimizer: Optimizer.Kind?
        var learningRate: Float?
        var schedule: String
        var weightDecay: Float
        var epochs: Int
        var batch: Int
        var threads: Int
        var seed: UInt64
        var testFraction: Double
        var samples: Int
        var checkpoint: String?
        var resume: Bool
        var profile: String?
        var json: Bool

        init(_ args: inout Arguments) throws {
            data = args.string("data", default: "digits")
            labelColumn = try args.int("label-column")
            let on = args.flag("standardize"), off = args.flag("no-standardize")
            guard !(on && off) else { throw ArgumentError("--standardize and --no-standardize contradict each other") }
            standardize = on ? true : off ? false : nil
            model = try args.string("model").map { text in
                do { return try MLP<Float>.parseWidths(text) } catch { throw ArgumentError("--model: \(error)") }
            }
            let activationName = args.string("activation", default: "relu")
            guard let a = Activation(rawValue: activationName), a != .identity else {
                throw ArgumentError("--activation expects relu, tanh, sigmoid or gelu, got '\(activationName)'")
            }
            activation = a
            optimizer = try args.string("optimizer").map { name in
                guard let kind = Optimizer.Kind(rawValue: name) else {
                    throw ArgumentError("--optimizer expects one of \(Optimizer.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
                }
                return kind
            }
            learningRate = try args.string("lr").map { text in
                guard let v = Float(text), v > 0, v.isFinite else { throw ArgumentError("--lr expects a positive number, got '\(text)'") }
                return v
            }
            schedule = args.string("schedule", default: "constant")
            guard ["constant", "cosine", "step"].contains(schedule) else {
                throw ArgumentError("--schedule expects constant, cosine or step, got '\(schedule)'")
            }
            weightDecay = Float(try args.double("weight-decay", default: 0))
            epochs = try args.int("epochs", default: 30)
            batch = try args.int("batch", default: 32)
            threads = try args.int("threads", default: 2)
            let seedValue = try args.int("seed", default: 42)
            guard seedValue >= 0 else { throw ArgumentError("--seed expects a non-negative integer, got \(seedValue)") }
            seed = UInt64(seedValue)
            testFraction = try args.double("test-fraction", default: 0.2)
            samples = try args.int("samples", default: 8192)
            checkpoint = args.string("checkpoint")
            resume = args.flag("resume")
            profile = args.string("profile")
            json = args.flag("json")
            guard epochs >= 0 else { throw ArgumentError("--epochs expects a non-negative integer, got \(epochs)") }
            guard batch > 0 else { throw ArgumentError("--batch expects a positive integer, got \(batch)") }
            guard threads > 0 else { throw ArgumentError("--threads expects a positive integer, got \(threads)") }
            guard samples > 1 else { throw ArgumentError("--samples expects at least 2, got \(samples)") }
            guard testFraction > 0 && testFraction < 1 else {
                throw ArgumentError("--test-fraction expects a number strictly between 0 and 1, got \(testFraction)")
            }
            guard !resume || checkpoint != nil else { throw ArgumentError("--resume needs --checkpoint PATH") }
            if let c = labelColumn, c < 0 { throw ArgumentError("--label-column counts from 0, got \(c)") }
        }
    }
}
