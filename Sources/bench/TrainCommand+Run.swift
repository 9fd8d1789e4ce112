import Distributed
import Foundation
import Profiling
import Scheduler
import Tensor
import Training

extension TrainCommand {
    /// One `bench train` run in a scalar type: the data, the model, the trainer, the loop and the reports.
    struct Run<Scalar: TensorScalar> {
        let o: Options
        let out: Output
        /// `--distributed`: the ranks (nil: this process trains alone).
        let communicator: Communicator?
        /// Whether this process prints and writes files (rank 0, or the only process).
        var isRoot: Bool { (communicator?.rank ?? 0) == 0 }

        init(_ options: Options, communicator: Communicator? = nil) {
            o = options
            self.communicator = communicator
            var output = Output(json: options.json)
            output.silent = (communicator?.rank ?? 0) != 0
            if communicator != nil { output.isTerminal = false }
            out = output
        }

        /// The model to train, as the trainer takes it, and how to describe and save it.
        struct Model {
            let trainer: Trainer<Scalar>
            let loss: Loss?
            let description: ModelDescription
            let summary: String
            /// The graph file (read, or built for saving) whose values are the trained parameters.
            let file: () throws -> GraphFile<Scalar>
        }

        func train() throws {
            let graphFile = try readGraphFile()
            let prepared = try PreparedData.load(o, task: o.task ?? Self.task(of: graphFile))
            let (executor, cpuShare) = try makeExecutor()
            defer { executor.shutdown() }
            let optimizer = makeOptimizer(prepared, fixedBatch: graphFile?.training?.batchSize)
            let model = try makeModel(prepared, graphFile: graphFile, optimizer: optimizer, executor: executor)
            let trainer = model.trainer
            if trainer.hasFixedBatch { try checkWholeBatches(prepared, batch: trainer.batchSize) }
            let scalarName = Scalar.self == Double.self ? "double" : "float"
            var metadata = [
                "data": prepared.name, "batch": String(trainer.batchSize), "task": prepared.task.rawValue,
                "header": prepared.header == .absent ? "absent" : prepared.header == .present ? "present" : "automatic",
                Preprocessor.key: try prepared.preprocessor.json(), ModelDescription.key: try model.description.json(),
            ]
            metadata["scalar"] = scalarName
            // A distributed run resumes on rank 0, which gives its state to the other ranks.
            if o.resume, isRoot, let path = o.checkpoint, FileManager.default.fileExists(atPath: path) {
                let checkpoint = try Checkpoint(contentsOf: path)
                // The seed fixes the split (so the preprocessing) and the batch order: name it, not its effects.
                guard checkpoint.seed == o.seed else {
                    throw CheckpointError.mismatch("\(path) was saved by a run with --seed \(checkpoint.seed), this run has --seed \(o.seed): resume with the same seed (it fixes the data split and the batch order)")
                }
                // Short settings are shown side by side; the model and preprocessing (JSON) only named.
                for key in ["data", "batch", "task"] where checkpoint.metadata[key] != metadata[key] {
                    throw CheckpointError.mismatch("\(path) was saved by a run with another \(key) (\(checkpoint.metadata[key] ?? "unknown") vs \(metadata[key]!))")
                }
                for (key, what) in [(ModelDescription.key, "model"), (Preprocessor.key, "preprocessing")]
                where checkpoint.metadata[key] != metadata[key] {
                    throw CheckpointError.mismatch("\(path) was saved by a run with another \(what)")
                }
                try trainer.restore(from: checkpoint)
                out.line("resumed from \(path) after epoch \(checkpoint.epoch) (step \(checkpoint.step))")
            }
            let p = prepared.preprocessor
            let columns = TrainCommand.PreparedData.isText(o.data)
                ? "\(o.context) characters of context, a vocabulary of \(p.classCount) characters"
                : "\(p.features.count) feature columns (\(p.featureCount) encoded)\(o.standardize ? ", standardized" : "")\(o.impute != .none ? ", missing cells filled with the \(o.impute.rawValue)" : "")"
            out.line("""
                train: \(prepared.name), \(prepared.train.count) training / \(prepared.validation.map { "\($0.count) validation / " } ?? "")\(prepared.test.count) test samples, \
                \(columns)
                task: \(prepared.task.rawValue) (\(p.taskReason == "given" ? "given" : "inferred: " + p.taskReason))\(describeTarget(p))
                model: \(model.summary), loss \(model.loss?.description ?? "from the graph"), \(optimizer), batch \(trainer.batchSize), \
                \(executor.workerCount) worker\(executor.workerCount == 1 ? "" : "s"), seed \(o.seed)\(Scalar.self == Double.self ? ", Double" : "")
                """)
            let parallel = try communicator.map { try makeParallel(trainer, $0, prepared, model, cpuShare: cpuShare) }
            // The ranks' traces share this origin (taken as they leave a barrier).
            try communicator?.barrier(what: "the traces' common origin")
            let traceOrigin = TraceRecorder.now()
            var communication = CommunicationTotals()

            // `--profile DIR`: every training batch is traced (evaluation is not) and profiled at the end.
            // Every rank traces its steps; rank 0 writes the profile, with all ranks' traces in trace.json.
            let recorder = o.profile.map { _ in TraceRecorder() }
            var session = ProfileSession()
            let heldOut = prepared.validation ?? prepared.test
            var curves = LearningCurves(metricName: prepared.task.isClassification ? "accuracy" : "R²",
                                        heldOutName: prepared.validation == nil ? "test" : "validation")
            var best: (epoch: Int, loss: Double, values: [[Scalar]], state: [[Scalar]])?
            var trainSeconds = 0.0, trainedSamples = 0
            var steadySeconds = 0.0, steadySamples = 0      // epochs after the first one of this process
            var lastLoss = Double.nan
            var stoppedEarly = false
            let wallStart = Clock.now()
            while trainer.epoch < o.epochs {
                let afterBatch: (Trainer<Scalar>.BatchInfo) -> Void = { batch in
                    out.progress(batch.index + 1, batch.count)
                    if let recorder, let compiled = batch.plan.compiled {
                        session.add(run: recorder.events, of: compiled, tasks: batch.plan.profileTasks)
                        recorder.reset()
                    }
                }
                let result = try parallel?.trainEpoch(on: prepared.train, observer: recorder, afterBatch: afterBatch)
                    ?? trainer.trainEpoch(on: prepared.train, observer: recorder, afterBatch: afterBatch)
                if let parallel { communication.add(parallel.takeCommunicationStatistics(), steady: trainedSamples > 0) }
                let held = try parallel?.evaluate(heldOut) ?? trainer.evaluate(heldOut)
                if trainedSamples > 0 { steadySeconds += result.seconds; steadySamples += result.samples }
                trainSeconds += result.seconds
                trainedSamples += result.samples
                lastLoss = result.loss
                curves.append(.init(epoch: result.epoch + 1, trainLoss: result.loss, heldOutLoss: held.loss,
                                    trainMetric: result.metric, heldOutMetric: held.metric, seconds: result.seconds))
                out.epochLine(result, heldOut: held, heldOutName: curves.heldOutName, task: prepared.task, of: o.epochs)
                if isRoot, let path = o.checkpoint { try trainer.checkpoint(metadata: metadata).write(to: path) }
                if let patience = o.patience {
                    if best == nil || held.loss < best!.loss {
                        best = (result.epoch, held.loss, try trainer.parameterValues(), try trainer.stateValues())
                    } else if result.epoch - best!.epoch >= patience {
                        stoppedEarly = true
                        break
                    }
                }
            }
            if let best {
                try trainer.setParameterValues(best.values)
                try trainer.setStateValues(best.state)
                curves.bestEpoch = best.epoch + 1
                out.line("\(stoppedEarly ? "stopped early: no" : "early stopping: best") validation loss \(stoppedEarly ? "improvement in \(o.patience!) epochs; keeping" : "at") epoch \(best.epoch + 1) (loss \(String(format: "%.4f", best.loss)))")
                if isRoot, let path = o.checkpoint {
                    var m = metadata
                    m["best_epoch"] = String(best.epoch + 1)
                    try trainer.checkpoint(metadata: m).write(to: path)
                }
            }

            // Analysis of the trained model on both splits.
            let trainEval = try parallel?.evaluate(prepared.train) ?? trainer.evaluate(prepared.train)
            let testEval = try parallel?.evaluate(prepared.test) ?? trainer.evaluate(prepared.test)
            // A graph's own loss: its prediction is read as logits (one: sigmoid; several: softmax) or values.
            let analysisLoss = model.loss ?? (prepared.task == .regression ? .meanSquaredError
                                              : testEval.predictionWidth == 1 ? .binaryCrossEntropy : .crossEntropy)
            let trainAnalysis = try ModelAnalysis(trainEval, of: prepared.train, loss: analysisLoss, preprocessor: p)
            let testAnalysis = try ModelAnalysis(testEval, of: prepared.test, loss: analysisLoss, preprocessor: p)
            if lastLoss.isNaN { lastLoss = trainEval.loss }
            out.line("\ntraining split (\(prepared.train.count) samples, loss \(String(format: "%.4f", trainEval.loss))):")
            out.line(trainAnalysis.table(), terminator: "")
            out.line("\ntest split (\(prepared.test.count) samples, loss \(String(format: "%.4f", testEval.loss))):")
            out.line(testAnalysis.table(), terminator: "")
            out.line("trained \(trainedSamples) samples in \(String(format: "%.2f", trainSeconds)) s " +
                     "(\(Int((Double(trainedSamples) / max(trainSeconds, 1e-9)).rounded())) samples/s)")
            if parallel != nil { out.line(communication.summary) }

            var title = "bench train: \(prepared.name), \(model.summary)"
            let facts: [(String, String)] = [
                ("data", prepared.name), ("task", prepared.task.rawValue), ("model", model.summary),
                ("loss", model.loss?.description ?? "graph's own"), ("optimizer", optimizer.description),
                ("batch", String(trainer.batchSize)), ("seed", String(o.seed)),
                ("test " + curves.metricName, String(format: "%.4f", testAnalysis.mainMetric)),
            ]
            if let dir = o.profile {
                // Small steps run on this thread (Note [Observed inline runs]): name its track.
                let profile = try session.profile(workerLabels: [executor.workerCount: "calling thread"])
                if isRoot {
                    try profile.write(to: URL(fileURLWithPath: dir), title: title)
                    try curves.write(toDirectory: dir, title: title, facts: facts)
                }
                if let communicator {
                    try mergeTraces(profile, communication.events, into: dir, communicator, origin: traceOrigin)
                }
                let perStep = profile.runs.map(\.criticalPathNanos).sorted()
                let median = perStep.isEmpty ? 0 : Double(perStep[perStep.count / 2]) / 1e3
                out.line("profile of \(session.runCount) training steps written to \(dir)/ (report.html, trace.json\(communicator.map { " with the \($0.size) ranks' traces" } ?? ""), summary.txt, graph.dot, training.html); " +
                         "critical path \(String(format: "%.1f", median)) µs per step (median; \(String(format: "%.2f", Double(profile.criticalPathNanos) / 1e6)) ms summed over the steps), average parallelism \(String(format: "%.2f", profile.averageParallelism))")
            }
            if isRoot, let dir = o.report {
                title += " (learning curves)"
                try curves.write(toDirectory: dir, title: title, facts: facts)
                out.line("learning curves written to \(dir)/training.html")
            }
            if isRoot, let path = o.saveGraph {
                try model.file().write(to: URL(fileURLWithPath: path))
                out.line("trained graph written to \(path)")
            }

            if o.json && isRoot {
                var j = JSONLine()
                j.add("data", prepared.name)
                j.add("task", prepared.task.rawValue)
                j.add("model", model.summary)
                j.add("loss", model.loss?.name ?? "graph")
                j.add("optimizer", optimizer.kind.rawValue)
                if let clip = optimizer.clipNorm { j.add("clip_norm", Double(clip)) }
                j.add("batch", trainer.batchSize)
                j.add("epochs", trainer.epoch)
                j.add("threads", executor.workerCount)
                j.add("seed", Int(o.seed))
                j.add("final_loss", lastLoss)
                j.add("test_loss", testEval.loss)
                if let best { j.add("best_epoch", best.epoch + 1) }
                for (key, value) in trainAnalysis.jsonFields(prefix: "train_") { j.add(key, value) }
                for (key, value) in testAnalysis.jsonFields(prefix: "test_") { j.add(key, value) }
                // Like the peer scripts (one untimed warm-up epoch), throughput leaves out the first epoch
                // when later ones ran: it pays for first-touch page faults and cold caches.
                let (n, s) = steadySamples > 0 ? (steadySamples, steadySeconds) : (trainedSamples, trainSeconds)
                j.add("samples_per_s", s > 0 ? Double(n) / s : 0)
                j.add("samples_per_s_all_epochs", trainSeconds > 0 ? Double(trainedSamples) / trainSeconds : 0)
                j.add("seconds", trainSeconds)
                j.add("train_seconds", trainSeconds)
                j.add("wall_seconds", Clock.now() - wallStart)
                j.add("param_checksum", String(try Self.parameterFingerprint(trainer), radix: 16))
                if let parallel { addDistributedFields(&j, parallel, communication) }
                print(j.text)
            }
            // Every rank gets here: frees the node's shared-memory window together.
            parallel?.shutdown()
        }

        /// A fixed-shape graph trains and evaluates whole batches: every split needs at least one.
        private func checkWholeBatches(_ prepared: PreparedData, batch: Int) throws {
            let splits: [(String, Int?, String)] = [
                ("training", prepared.train.count, "more rows, or a smaller --test-fraction or --validation-fraction"),
                ("validation", prepared.validation?.count, "a larger --validation-fraction"),
                ("test", prepared.test.count, o.testData != nil ? "more rows in --test-data" : "a larger --test-fraction"),
            ]
            for (name, count, remedy) in splits {
                if let count, count < batch {
                    throw ArgumentError("\(o.graph ?? "the graph") runs whole batches of \(batch) rows, but the \(name) split has \(count): use \(remedy)")
                }
            }
        }

        private func describeTarget(_ p: Preprocessor) -> String {
            if let names = p.target.classNames {
                let shown = names.count <= 12 ? names.joined(separator: ", ") : names.prefix(12).joined(separator: ", ") + ", ..."
                return "; label '\(p.target.names[0])', \(names.count) classes: \(shown)"
            }
            let standardized = p.target.scale.contains { $0 != 1 } ? ", standardized for training" : ""
            return "; target\(p.target.names.count > 1 ? "s" : "") \(p.target.names.map { "'\($0)'" }.joined(separator: ", "))\(standardized)"
        }

        /// The optimizer of the options; schedules span the run's steps (a fixed-shape graph runs
        /// `fixedBatch`-row batches, whole ones only).
        private func makeOptimizer(_ prepared: PreparedData, fixedBatch: Int?) -> Optimizer {
            let stepsPerEpoch = fixedBatch.map { prepared.train.count / $0 } ?? (prepared.train.count + o.batch - 1) / o.batch
            // Synthetic runs measure throughput against the peer scripts, which train with plain SGD at 0.01.
            let synthetic = o.data == "synthetic"
            let kind = o.optimizer ?? (synthetic ? .sgd : .adam)
            let lr = o.learningRate ?? (synthetic && kind == .sgd ? 0.01 : defaultLearningRate(kind))
            let schedule: LearningRateSchedule = switch o.schedule {
            case "cosine": .cosine(base: lr, totalSteps: max(1, o.epochs * stepsPerEpoch), minimum: lr / 100)
            case "step": .step(base: lr, every: max(1, o.epochs * stepsPerEpoch / 3), factor: 0.1)
            default: .constant(lr)
            }
            return Optimizer(kind: kind, learningRate: schedule, weightDecay: o.weightDecay, clipNorm: o.clipNorm)
        }
    }
}
