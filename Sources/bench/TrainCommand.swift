import Foundation
import Scheduler
import Tensor
import Training

/// `bench train`: trains an MLP classifier and reports loss, accuracy and throughput per epoch.
///
/// ```
/// bench train                                   # MLP 64,256,10 on the bundled digits, Adam, 2 workers
/// bench train --data iris --epochs 50
/// bench train --data synthetic --model 784,1024,1024,10 --batch 256 --epochs 3 --json
/// bench train --data my.csv --label-column 0 --standardize --checkpoint run.ckpt --resume
/// ```
enum TrainCommand {
    static let usage = """
        usage: bench train [--data digits|iris|synthetic|PATH.csv] [--label-column I] [--standardize | --no-standardize]
                           [--model 64,128,10] [--activation relu|tanh|sigmoid|gelu] [--optimizer sgd|momentum|nesterov|adam|adamw]
                           [--lr X] [--schedule constant|cosine|step] [--weight-decay X] [--epochs E] [--batch B] [--threads T]
                           [--seed S] [--test-fraction F] [--samples N] [--checkpoint PATH] [--resume] [--profile DIR] [--json]

        defaults: --data digits, 20% test split, --model <features>,256,<classes>, --epochs 30, --batch 32, --threads 2,
        --seed 42; adam at 0.001 (sgd 0.1, momentum/nesterov 0.02); the bundled digits and iris are standardized
        (a CSV file only with --standardize). --data synthetic: --samples 8192 rows as wide as --model, and plain
        sgd at 0.01 like the peer scripts in Benchmarks/. --checkpoint saves after every epoch (atomically);
        --resume continues from it when it exists. --json prints one JSON object as the last line.
        """

    static func run(_ words: [String]) throws {
        if words.contains("--help") || words.contains("-h") { print(usage); return }
        var args = try Arguments(words, flags: ["standardize", "no-standardize", "resume", "json"])
        let options = try Options(&args)
        try args.finish()
        try train(options)
    }

    static func train(_ o: Options) throws {
        let out = Output(json: o.json)
        let prepared = try PreparedData.load(o)
        let widths = o.model ?? [prepared.train.featureCount, 256, prepared.classCount]
        guard widths.first == prepared.train.featureCount else {
            throw ArgumentError("--model \(widths.map(String.init).joined(separator: ",")): the input width must be the data's \(prepared.train.featureCount) features")
        }
        guard widths.last! >= prepared.classCount else {
            throw ArgumentError("--model \(widths.map(String.init).joined(separator: ",")): the output width must be at least the data's \(prepared.classCount) classes")
        }
        let stepsPerEpoch = (prepared.train.count + o.batch - 1) / o.batch
        // Synthetic runs measure throughput against the peer scripts, which train with plain SGD at 0.01.
        let synthetic = o.data == "synthetic"
        let kind = o.optimizer ?? (synthetic ? .sgd : .adam)
        let lr = o.learningRate ?? (synthetic && kind == .sgd ? 0.01 : defaultLearningRate(kind))
        let schedule: LearningRateSchedule = switch o.schedule {
        case "cosine": .cosine(base: lr, totalSteps: max(1, o.epochs * stepsPerEpoch), minimum: lr / 100)
        case "step": .step(base: lr, every: max(1, o.epochs * stepsPerEpoch / 3), factor: 0.1)
        default: .constant(lr)
        }
        let optimizer = Optimizer(kind: kind, learningRate: schedule, weightDecay: o.weightDecay)

        let executor = Executor(workers: o.threads)
        defer { executor.shutdown() }
        let trainer = try Trainer(widths: widths, activation: o.activation, optimizer: optimizer,
                                  batchSize: o.batch, seed: o.seed, executor: executor)
        let metadata = [
            "data": prepared.name, "model": widths.map(String.init).joined(separator: ","),
            "batch": String(o.batch), "standardize": String(prepared.standardized), "activation": o.activation.rawValue,
        ]
        if o.resume, let path = o.checkpoint, FileManager.default.fileExists(atPath: path) {
            let checkpoint = try Checkpoint(contentsOf: path)
            for key in ["data", "batch", "standardize"] where checkpoint.metadata[key] != metadata[key] {
                throw CheckpointError.mismatch("\(path) was saved by a run with \(key) \(checkpoint.metadata[key] ?? "unknown"), this run has \(metadata[key]!)")
            }
            try trainer.restore(from: checkpoint)
            out.line("resumed from \(path) after epoch \(checkpoint.epoch) (step \(checkpoint.step))")
        }

        out.line("""
            train: \(prepared.name), \(prepared.train.count) training / \(prepared.test.count) test samples, \
            \(prepared.train.featureCount) features, \(prepared.classCount) classes\(prepared.standardized ? ", standardized" : "")
            model: MLP \(metadata["model"]!) (\(o.activation.rawValue)), \(optimizer), batch \(o.batch), \
            \(executor.workerCount) worker\(executor.workerCount == 1 ? "" : "s"), seed \(o.seed)
            """)

        // `--profile DIR`: every training batch is traced (evaluation is not) and profiled at the end.
        let recorder = o.profile.map { _ in TraceRecorder() }
        var session = ProfileSession()

        var trainSeconds = 0.0, trainedSamples = 0
        var steadySeconds = 0.0, steadySamples = 0      // epochs after the first one of this process
        var lastLoss = Double.nan
        let wallStart = Clock.now()
        while trainer.epoch < o.epochs {
            let result = try trainer.trainEpoch(on: prepared.train, trace: recorder) { batch in
                out.progress(batch.index + 1, batch.count)
                // Every batch's run goes into the profile, labelled with its plan's operations.
                if let recorder, let compiled = batch.plan.compiled {
                    session.add(run: recorder.events, of: compiled, tasks: batch.plan.profileTasks)
                    recorder.reset()
                }
            }
            let test = try trainer.evaluate(prepared.test)
            if trainedSamples > 0 { steadySeconds += result.seconds; steadySamples += result.samples }
            trainSeconds += result.seconds
            trainedSamples += result.samples
            lastLoss = result.loss
            out.epochLine(result, test: test, of: o.epochs)
            if let path = o.checkpoint {
                try trainer.checkpoint(metadata: metadata).write(to: path)
            }
        }
        let final = try trainer.evaluate(prepared.test)
        if let dir = o.profile {
            let profile = try session.profile()
            try profile.write(to: URL(fileURLWithPath: dir), title: "bench train: \(prepared.name), MLP \(metadata["model"]!)")
            out.line("profile of \(session.runCount) training steps written to \(dir)/ (report.html, trace.json, summary.txt, graph.dot); " +
                     "critical path \(String(format: "%.2f", Double(profile.criticalPathNanos) / 1e6)) ms per step, average parallelism \(String(format: "%.2f", profile.averageParallelism))")
        }
        if lastLoss.isNaN { lastLoss = try trainer.evaluate(prepared.train).loss }
        out.line("\ntest confusion matrix (\(prepared.test.count) samples, accuracy \(percent(final.accuracy))):")
        out.line(final.confusion.description, terminator: "")
        out.line("trained \(trainedSamples) samples in \(String(format: "%.2f", trainSeconds)) s " +
                 "(\(Int((Double(trainedSamples) / max(trainSeconds, 1e-9)).rounded())) samples/s)")

        if o.json {
            var j = JSONLine()
            j.add("data", prepared.name)
            j.add("model", metadata["model"]!)
            j.add("optimizer", kind.rawValue)
            j.add("batch", o.batch)
            j.add("epochs", o.epochs)
            j.add("threads", executor.workerCount)
            j.add("seed", Int(o.seed))
            j.add("final_loss", lastLoss)
            j.add("test_loss", final.loss)
            j.add("test_accuracy", final.accuracy)
            // Like the peer scripts (one untimed warm-up epoch), throughput leaves out the first epoch
            // when later ones ran: it pays for first-touch page faults and cold caches.
            let (n, s) = steadySamples > 0 ? (steadySamples, steadySeconds) : (trainedSamples, trainSeconds)
            j.add("samples_per_s", s > 0 ? Double(n) / s : 0)
            j.add("samples_per_s_all_epochs", trainSeconds > 0 ? Double(trainedSamples) / trainSeconds : 0)
            j.add("seconds", trainSeconds)
            j.add("wall_seconds", Clock.now() - wallStart)
            print(j.text)
        }
    }

    static func defaultLearningRate(_ kind: Optimizer.Kind) -> Float {
        switch kind {
        case .sgd: 0.1
        case .momentum, .nesterov: 0.02
        case .adam, .adamw: 0.001
        }
    }

    static func percent(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
}
