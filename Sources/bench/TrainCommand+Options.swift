import Tensor
import Training

extension TrainCommand {
    /// Everything the command line sets.
    struct Options {
        var data: String
        var testData: String?
        var labelColumns: [String]?
        var task: LearningTask?
        var loss: Loss?
        var impute: Preprocessor.Imputation
        var standardize: Bool
        var standardizeTargets: Bool
        var model: [Int]?
        /// `--model` given as layers (`dense(128)-relu-dense(10)`) instead of widths.
        var layers: [LayerSpec]?
        /// `--image HxWxC`: one sample's features as an image (the digits are 8x8x1).
        var image: [Int]?
        /// `--context T`: characters per sample of a text (`--data shakespeare` or a .txt file).
        var context: Int
        var hidden: [Int]?
        var graph: String?
        var saveGraph: String?
        var activation: Activation
        var optimizer: Optimizer.Kind?
        var learningRate: Float?
        var schedule: String
        var weightDecay: Float
        /// `--clip-norm X`: gradients clipped to a global L2 norm of X before each update.
        var clipNorm: Float?
        var epochs: Int
        var batch: Int
        var threads: Int
        var seed: UInt64
        var testFraction: Double
        var validationFraction: Double?
        var patience: Int?
        var samples: Int
        var checkpoint: String?
        var resume: Bool
        var profile: String?
        var report: String?
        var double: Bool
        var json: Bool
        /// `--distributed`: one rank of a data-parallel run started by `mpirun` (see TrainCommand+Distributed).
        var distributed: Bool
        /// `--bucket-mb`: gradients per all-reduce, in MB.
        var bucketMB: Double
        /// `--comm-timeout`: seconds a collective may take before the run is ended as hung.
        var commTimeout: Double
        /// `--comm-poll-us`: the communication thread's sleep between tests while backprop runs.
        var commPollMicroseconds: Int
        /// `--node-sum shared|allreduce`: how ranks on one node sum gradients (Note [Node sums]).
        var nodeSum: String

        init(_ args: inout Arguments) throws {
            data = args.string("data", default: "digits")
            testData = args.string("test-data")
            let one = args.string("label-column"), several = args.string("label-columns")
            guard one == nil || several == nil else { throw ArgumentError("give --label-column or --label-columns, not both") }
            labelColumns = (one.map { [$0] } ?? several.map { $0.split(separator: ",").map { String($0).trimmed } })
            if let l = labelColumns, l.isEmpty || l.contains(where: \.isEmpty) {
                throw ArgumentError("--label-columns expects column numbers or names separated by commas, got '\(several ?? one ?? "")'")
            }
            task = try args.string("task").map { name in
                guard let t = LearningTask(rawValue: name) else {
                    throw ArgumentError("--task expects regression, binary or multiclass, got '\(name)'")
                }
                return t
            }
            loss = try args.string("loss").map { name in
                guard let l = Loss(name: name) else {
                    throw ArgumentError("--loss expects one of \(Loss.names.joined(separator: ", ")), got '\(name)'")
                }
                return l
            }
            let delta = try args.double("huber-delta", default: 1)
            guard delta > 0, delta.isFinite else { throw ArgumentError("--huber-delta expects a positive number, got \(delta)") }
            if case .huber = loss { loss = .huber(delta: delta) }
            let imputeName = args.string("impute", default: "none")
            guard let imputation = Preprocessor.Imputation(rawValue: imputeName) else {
                throw ArgumentError("--impute expects none, mean or median, got '\(imputeName)'")
            }
            impute = imputation
            let on = args.flag("standardize"), off = args.flag("no-standardize")
            guard !(on && off) else { throw ArgumentError("--standardize and --no-standardize contradict each other") }
            standardize = !off
            standardizeTargets = !args.flag("no-standardize-targets")
            if let text = args.string("model") {
                if text.allSatisfy({ $0.isNumber || $0 == "," || $0 == " " }) {
                    do { model = try MLP<Float>.parseWidths(text) } catch { throw ArgumentError("--model: \(error)") }
                } else {
                    do { layers = try LayerSpec.parse(text) } catch { throw ArgumentError("--model: \(error)") }
                }
            }
            image = try args.string("image").map { text in
                let dims = text.split(separator: "x").map { Int($0) }
                guard dims.count == 3, dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw ArgumentError("--image expects HxWxC (e.g. 8x8x1), got '\(text)'")
                }
                return dims.map { $0! }
            }
            let contextGiven = args.string("context")
            context = try args.int("context", default: 32)
            hidden = try args.string("hidden").map { text in
                let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int(String($0).trimmed) }
                guard !text.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw ArgumentError("--hidden expects positive widths separated by commas, got '\(text)'")
                }
                return parts.map { $0! }
            }
            graph = args.string("graph")
            saveGraph = args.string("save-graph")
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
            clipNorm = try args.string("clip-norm").map { text in
                guard let v = Float(text), v > 0, v.isFinite else { throw ArgumentError("--clip-norm expects a positive number, got '\(text)'") }
                return v
            }
            epochs = try args.int("epochs", default: 30)
            batch = try args.int("batch", default: 32)
            threads = try args.int("threads", default: 2)
            let seedValue = try args.int("seed", default: 42)
            guard seedValue >= 0 else { throw ArgumentError("--seed expects a non-negative integer, got \(seedValue)") }
            seed = UInt64(seedValue)
            testFraction = try args.double("test-fraction", default: 0.2)
            validationFraction = try args.string("validation-fraction").map { text in
                guard let v = Double(text), v > 0, v < 1 else {
                    throw ArgumentError("--validation-fraction expects a number strictly between 0 and 1, got '\(text)'")
                }
                return v
            }
            patience = try args.int("patience")
            samples = try args.int("samples", default: 8192)
            checkpoint = args.string("checkpoint")
            resume = args.flag("resume")
            profile = args.string("profile")
            report = args.string("report")
            double = args.flag("double")
            json = args.flag("json")
            distributed = args.flag("distributed")
            bucketMB = try args.double("bucket-mb", default: 25)
            commTimeout = try args.double("comm-timeout", default: 300)
            commPollMicroseconds = try args.int("comm-poll-us", default: 50)
            nodeSum = args.string("node-sum", default: "shared")
            guard nodeSum == "shared" || nodeSum == "allreduce" else {
                throw ArgumentError("--node-sum expects 'shared' (a shared-memory window per node) or 'allreduce' (MPI's all-reduce), got '\(nodeSum)'")
            }
            guard commPollMicroseconds >= 0 && commPollMicroseconds <= 100_000 else {
                throw ArgumentError("--comm-poll-us expects microseconds from 0 to 100000, got \(commPollMicroseconds)")
            }
            guard bucketMB > 0, bucketMB.isFinite else { throw ArgumentError("--bucket-mb expects a positive number of megabytes, got \(bucketMB)") }
            guard commTimeout > 0, commTimeout.isFinite else { throw ArgumentError("--comm-timeout expects a positive number of seconds, got \(commTimeout)") }
            if !distributed {
                for (flag, given) in [("bucket-mb", bucketMB != 25), ("comm-timeout", commTimeout != 300),
                                      ("comm-poll-us", commPollMicroseconds != 50), ("node-sum", nodeSum != "shared")] where given {
                    throw ArgumentError("--\(flag) applies to --distributed runs")
                }
            }
            guard epochs >= 0 else { throw ArgumentError("--epochs expects a non-negative integer, got \(epochs)") }
            guard batch > 0 else { throw ArgumentError("--batch expects a positive integer, got \(batch)") }
            guard threads > 0 else { throw ArgumentError("--threads expects a positive integer, got \(threads)") }
            guard samples > 1 else { throw ArgumentError("--samples expects at least 2, got \(samples)") }
            guard testFraction > 0 && testFraction < 1 else {
                throw ArgumentError("--test-fraction expects a number strictly between 0 and 1, got \(testFraction)")
            }
            guard !resume || checkpoint != nil else { throw ArgumentError("--resume needs --checkpoint PATH") }
            if let p = patience {
                guard p > 0 else { throw ArgumentError("--patience expects a positive number of epochs, got \(p)") }
                guard validationFraction != nil else {
                    throw ArgumentError("--patience needs --validation-fraction F: early stopping watches a validation split")
                }
            }
            guard (model == nil && layers == nil) || hidden == nil else {
                throw ArgumentError("give --model (all widths, or layers) or --hidden (hidden widths), not both")
            }
            if image != nil && layers == nil { throw ArgumentError("--image applies to a --model given as layers") }
            if graph != nil {
                guard model == nil && layers == nil && hidden == nil else { throw ArgumentError("--graph brings its own model: --model and --hidden do not apply") }
                guard loss == nil else { throw ArgumentError("--graph brings its own loss (its training section): --loss does not apply") }
            }
            if TrainCommand.PreparedData.isText(data) {
                guard context > 0 && context <= 4096 else { throw ArgumentError("--context expects characters from 1 to 4096, got \(context)") }
                for (flag, given) in [("label-column(s)", labelColumns != nil), ("test-data", testData != nil), ("graph", graph != nil),
                                      ("model as widths (a text needs layers starting with embedding)", model != nil),
                                      ("hidden", hidden != nil), ("image", image != nil)] where given {
                    throw ArgumentError("--\(flag) does not apply to a text (--data \(data))")
                }
            } else if contextGiven != nil {
                throw ArgumentError("--context applies to a text (--data shakespeare or a .txt file)")
            }
            if data == "synthetic" {
                for (flag, given) in [("label-column(s)", labelColumns != nil), ("test-data", testData != nil), ("graph", graph != nil)] where given {
                    throw ArgumentError("--\(flag) does not apply to --data synthetic")
                }
            }
        }
    }
}

extension String {
    /// Without leading and trailing spaces.
    var trimmed: String { String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()) }
}
