import Foundation
import Tensor
import Training

extension TrainCommand {
    /// Human-readable lines (and a progress bar on a terminal); with `--json` the JSON object stays
    /// the last line of stdout.
    struct Output {
        let json: Bool
        /// Prints nothing (the ranks of a distributed run other than rank 0).
        var silent = false
        /// Progress bars only make sense on a terminal (not in logs or pipes; under mpirun, whose
        /// ranks may write to a pseudo-terminal, the run sets it false).
        var isTerminal = isatty(STDOUT_FILENO) == 1

        func line(_ text: String, terminator: String = "\n") {
            guard !silent else { return }
            print(text, terminator: terminator)
        }

        func progress(_ done: Int, _ total: Int) {
            guard !silent, isTerminal, total > 1 else { return }
            // Redraw about 50 times per epoch at most: printing is not free.
            let step = max(1, total / 50)
            guard done % step == 0 || done == total else { return }
            let width = 30
            let filled = width * done / total
            print("\r  [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(total)",
                  terminator: "")
            fflush(nil)   // all output streams (naming `stdout` is not concurrency-safe in Swift 6)
        }

        func epochLine<S>(_ r: Trainer<S>.EpochResult, heldOut: Trainer<S>.Evaluation, heldOutName: String,
                          task: LearningTask, of epochs: Int) {
            guard !silent else { return }
            if isTerminal { print("\r\u{1B}[K", terminator: "") }
            let digits = String(epochs).count
            let n = String(r.epoch + 1)
            func metric(_ m: Double) -> String {
                task.isClassification ? percent(m) : "R² " + String(format: "%.4f", m)
            }
            print("epoch \(String(repeating: " ", count: max(0, digits - n.count)))\(n)/\(epochs)  " +
                  "loss \(String(format: "%.4f", r.loss))  train \(metric(r.metric))  " +
                  "\(heldOutName) \(metric(heldOut.metric)) (loss \(String(format: "%.4f", heldOut.loss)))  " +
                  "\(Int(r.samplesPerSecond.rounded())) samples/s  \(String(format: "%.3f", r.seconds)) s")
            fflush(nil)   // each epoch reaches logs (and mpirun's output) as it ends
        }
    }
}
