import Foundation

/// `bench`: throughput runs and profiling for the scheduler, the kernels and the tensor engine.
/// Each subcommand lives in its own `*Command.swift` file and is listed here.
let commands: [(name: String, summary: String, run: ([String]) throws -> Void)] = [
    ("scheduler", "task-graph throughput: chain, tree, wavefront, traversal, flat", SchedulerCommand.run),
    ("gemm", "GEMM throughput (GFLOP/s)", GemmCommand.run),
    ("kernels", "elementwise, reduction and softmax throughput", KernelsCommand.run),
    ("backprop", "forward + backward (+ SGD) plans: mlp, cnn, wide, deep, small-ops", BackpropCommand.run),
    ("conv", "conv2d and max-pooling kernels on the LeNet-5 layers (forward, both gradients)", ConvCommand.run),
    ("train", "train a model (MLP or graph file) on a CSV: any task, any loss; analysis and reports", TrainCommand.run),
    ("predict", "apply a trained model (checkpoint) to new rows of a CSV", PredictCommand.run),
    ("graph", "run a graph file (JSON) forward and backward", GraphCommand.run),
    ("data", "explore a CSV table: column statistics, missing cells, labels, HTML report", DataCommand.run),
]

@MainActor func usage() -> String {
    var text = "usage: bench <command> [options]\n\ncommands:\n"
    for c in commands { text += "  \(c.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(c.summary)\n" }
    return text
}

@MainActor func runMain() -> Int32 {
    let words = Array(CommandLine.arguments.dropFirst())
    guard let name = words.first, name != "--help", name != "-h", name != "help" else {
        print(usage(), terminator: "")
        return words.isEmpty ? 2 : 0
    }
    guard let command = commands.first(where: { $0.name == name }) else {
        FileHandle.standardError.write("bench: unknown command '\(name)'\n\n\(usage())".data(using: .utf8)!)
        return 2
    }
    do {
        try command.run(Array(words.dropFirst()))
        return 0
    } catch let error as ArgumentError {
        FileHandle.standardError.write("bench \(name): \(error)\n".data(using: .utf8)!)
        return 2
    } catch {
        FileHandle.standardError.write("bench \(name): \(error)\n".data(using: .utf8)!)
        return 1
    }
}

exit(runMain())
