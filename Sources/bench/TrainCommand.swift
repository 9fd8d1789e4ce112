import Foundation
import Scheduler
import Tensor
import Training

/// `bench train`: trains a model (an MLP, or any graph file with a training section) on a data set,
/// with the loss that fits the task, and reports loss and metric per epoch, the trained model's
/// analysis on the training and test splits, and throughput.
///
/// ```
/// bench train                                             # MLP 64,256,10 on the bundled digits, Adam, 2 workers
/// bench train --data diabetes --hidden 64,64 --epochs 100 # regression (inferred), MSE, R²/RMSE/MAE
/// bench train --data breast-cancer --loss bce             # binary, text labels, ROC AUC
/// bench train --data my.csv --label-columns 8,9 --loss huber --impute median --report out/
/// bench train --graph docs/examples/iris-mlp.json --data iris --save-graph trained.json
/// ```
enum TrainCommand {
    static let usage = """
        usage: bench train [--data digits|iris|diabetes|breast-cancer|synthetic|PATH.csv] [--test-data PATH.csv]
                           [--label-column C | --label-columns C,D] [--task regression|binary|multiclass]
                           [--loss mse|mae|huber|bce|ce] [--huber-delta D] [--impute none|mean|median]
                           [--standardize | --no-standardize] [--no-standardize-targets]
                           [--model 64,128,10 | --hidden 128,64 | --graph model.json] [--activation relu|tanh|sigmoid|gelu]
                           [--optimizer sgd|momentum|nesterov|adam|adamw] [--lr X] [--schedule constant|cosine|step]
                           [--weight-decay X] [--clip-norm X] [--epochs E] [--batch B] [--threads T] [--seed S] [--double]
                           [--test-fraction F] [--validation-fraction F --patience P] [--samples N]
                           [--checkpoint PATH] [--resume] [--save-graph PATH] [--profile DIR] [--report DIR] [--json]
                           [--distributed [--bucket-mb MB] [--comm-timeout S] [--comm-poll-us US] [--node-sum shared|allreduce]]

        The label is the last column unless --label-column(s) name others (numbers from 0, or header names);
        the task is inferred from it (text or <= 20 distinct integers: classification; otherwise regression) and
        printed; the loss defaults to the task's (mse, bce, ce). Numeric features are standardized and text
        features one-hot encoded on the training split; missing cells are errors unless --impute fills them.
        Regression targets are standardized for training (--no-standardize-targets: not) and reported in
        their units. --model gives every width, --hidden only the hidden ones (default 256).

        defaults: --data digits, 20% test split, --epochs 30, --batch 32, --threads 2, --seed 42; adam at 0.001
        (sgd 0.1, momentum/nesterov 0.02). --data synthetic: --samples N rows as wide as --model, plain sgd at
        0.01 like the peer scripts in Benchmarks/. --checkpoint saves after every epoch (atomically) with the
        preprocessing, for `bench predict`; --resume continues from it. --validation-fraction F --patience P
        stops early and keeps the best epoch's parameters. --report DIR writes training.html (learning
        curves); --profile DIR the profile files and training.html. --json prints one JSON object last.

        --distributed: one rank of a data-parallel run under mpirun (docs/distributed.md), e.g.
          mpirun -np 2 --bind-to none bench train --distributed --data synthetic --model 784,1024,1024,10 --batch 256
        --batch is the global batch, split across the ranks; gradients are summed in buckets of about
        --bucket-mb (25) MB; a collective taking over --comm-timeout (300) s ends the run; the communication
        thread sleeps --comm-poll-us (50) µs between tests while backprop runs. Ranks on one node sum their
        buckets through a shared-memory window, nodes through MPI's all-reduce (--node-sum allreduce: MPI's
        all-reduce over all ranks). Rank 0 prints and writes files.
        """

    static func run(_ words: [String]) throws {
        if words.contains("--help") || words.contains("-h") { print(usage); return }
        var args = try Arguments(words, flags: ["standardize", "no-standardize", "no-standardize-targets", "resume",
                                                "json", "double", "distributed"])
        let options = try Options(&args)
        try args.finish()
        guard options.distributed else {
            if options.double { try Run<Double>(options).train() } else { try Run<Float>(options).train() }
            return
        }
        try runDistributed(options)
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
