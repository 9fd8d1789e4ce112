import Foundation
import Tensor
import Training

/// `bench predict --prompt`: continues a text with a character-level model trained by `bench train
/// --data FILE.txt` (or `--data shakespeare`). The checkpoint's preprocessing names the model's
/// vocabulary (its class names: the characters, with escapes for spaces and control characters) and
/// its context (the features `c0 … c{T-1}`). Each step predicts the next character from the last T
/// and appends it: the most probable one (`--temperature 0`) or one drawn from the probabilities
/// raised to `1/temperature`, with a seeded generator (the same seed, the same text).
extension PredictCommand {
    struct TextOptions {
        var prompt: String
        var count: Int
        var temperature: Double
        var seed: UInt64
    }

    static func generate<S>(_ predictor: Predictor<S>, _ o: TextOptions, checkpointPath: String, json: Bool) throws {
        let prep = predictor.preprocessor
        let context = prep.encodedFeatureNames.count
        guard let names = prep.target.classNames, prep.encodedFeatureNames == (0..<context).map({ "c\($0)" }) else {
            throw ArgumentError("\(checkpointPath): --prompt needs a character-level model (bench train --data FILE.txt); this checkpoint predicts from the features \(prep.encodedFeatureNames.prefix(5).joined(separator: ", "))")
        }
        let characters = try names.map { name -> Unicode.Scalar in
            guard let c = character(named: name) else { throw ArgumentError("\(checkpointPath): class '\(name)' is not a character") }
            return c
        }
        let index = Dictionary(characters.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var text = Array(o.prompt.unicodeScalars)
        guard text.count >= context else {
            throw ArgumentError("--prompt has \(text.count) character(s); the model reads \(context) at a time, so give at least \(context)")
        }
        var window = try text.suffix(context).map { c -> Double in
            guard let i = index[c] else {
                throw ArgumentError("--prompt: the character \(TrainCommand.PreparedData.className(c)) is not in the model's vocabulary of \(characters.count)")
            }
            return Double(i)
        }
        var rng = SeededGenerator(seed: o.seed)
        let loss = predictor.trainer.loss ?? .crossEntropy
        for _ in 0..<o.count {
            let row = try Dataset(features: window, targets: [0], featureCount: context, targetCount: 1, task: .multiclass,
                                  classCount: characters.count)
            let (raw, width) = try predictor.trainer.predict(row)
            let p = Array(loss.probabilities(row: raw[0..<width]).prefix(characters.count))
            let next = o.temperature == 0 ? mostProbable(p) : draw(p, temperature: o.temperature, using: &rng)
            text.append(characters[next])
            window.removeFirst()
            window.append(Double(next))
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: text)
        let result = String(out)
        if json {
            var j = JSONLine()
            j.add("checkpoint", checkpointPath)
            j.add("prompt", o.prompt)
            j.add("generated", String(result.unicodeScalars.dropFirst(o.prompt.unicodeScalars.count)))
            j.add("context", context)
            j.add("temperature", o.temperature)
            j.add("seed", Int(o.seed))
            print(j.text)
        } else {
            print(result)
        }
    }

    /// The index of the largest probability (the first at ties).
    static func mostProbable(_ p: [Double]) -> Int {
        p.indices.max { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) } ?? 0
    }

    /// An index drawn with probability proportional to `p[i]^(1/temperature)`.
    static func draw(_ p: [Double], temperature: Double, using rng: inout SeededGenerator) -> Int {
        let weights = p.map { Foundation.pow(Swift.max($0, 0), 1 / temperature) }
        let total = weights.reduce(0, +)
        guard total > 0, total.isFinite else { return mostProbable(p) }
        var u = Double.random(in: 0..<total, using: &rng)
        for (i, w) in weights.enumerated() {
            if u < w { return i }
            u -= w
        }
        return weights.lastIndex { $0 > 0 } ?? 0
    }

    /// The character a class name stands for (the inverse of `TrainCommand.PreparedData.className`).
    static func character(named name: String) -> Unicode.Scalar? {
        switch name {
        case "space": return " "
        case "\\n": return "\n"
        case "\\t": return "\t"
        case "\\r": return "\r"
        default:
            if name.hasPrefix("U+"), let value = UInt32(name.dropFirst(2), radix: 16) { return Unicode.Scalar(value) }
            let scalars = Array(name.unicodeScalars)
            return scalars.count == 1 ? scalars[0] : nil
        }
    }
}
