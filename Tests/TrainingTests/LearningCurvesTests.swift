import Foundation
import Testing
import Training

/// Occurrences of `needle` in `haystack`.
private func count(_ needle: String, in haystack: String) -> Int {
    haystack.components(separatedBy: needle).count - 1
}

@Suite struct LearningCurvesTests {
    static func fiveEpochs() -> LearningCurves {
        var curves = LearningCurves(metricName: "accuracy", heldOutName: "validation")
        let held: [Double] = [1.0, 0.8, .nan, 0.6, 0.5]
        for i in 0..<5 {
            curves.append(.init(epoch: i + 1, trainLoss: 1.0 - 0.1 * Double(i), heldOutLoss: held[i],
                                trainMetric: 0.5 + 0.1 * Double(i), heldOutMetric: i == 2 ? nil : 0.45 + 0.1 * Double(i),
                                seconds: 0.25))
        }
        curves.bestEpoch = 4
        return curves
    }

    @Test func pageHasTwoChartsEscapedTextAndNoLinks() {
        let html = Self.fiveEpochs().html(title: "loss < 0.1 & \"quoted\"",
                                          facts: [("data set", "a<b>.csv"), ("optimizer", "adam 1e-3")])
        #expect(count("<svg", in: html) == 2 && count("</svg>", in: html) == 2)
        #expect(html.contains("<title>loss &lt; 0.1 &amp; &quot;quoted&quot;</title>"))
        #expect(html.contains("<h1>loss &lt; 0.1 &amp; &quot;quoted&quot;</h1>"))
        #expect(!html.contains("loss < 0.1"))
        #expect(html.contains("<tr><th>data set</th><td>a&lt;b&gt;.csv</td></tr>"))
        #expect(!html.lowercased().contains("http"))
        #expect(!html.lowercased().contains("<script"))
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>\n"))
        // both series in the legends, the best epoch marked in both charts and in the table
        #expect(count(">train</text>", in: html) == 2 && count(">validation</text>", in: html) == 2)
        #expect(count(">best epoch (4)</text>", in: html) == 2)
        #expect(html.contains("<tr class=\"best\"><td>4 (best)</td>"))
        #expect(html.contains("<tr><th>best epoch</th><td>4 (validation loss 0.6, validation accuracy 0.75)</td></tr>"))
        #expect(html.contains(">epoch</text>") && html.contains(">loss</text>") && html.contains(">accuracy</text>"))
    }

    @Test func missingAndNaNValuesBreakTheLines() {
        let html = Self.fiveEpochs().html(title: "t", facts: [])
        let orange = "stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-linejoin"
        let blue = "stroke=\"#1f77b4\" stroke-width=\"2\" stroke-linejoin"
        // validation loss 1, 0.8, NaN, 0.6, 0.5 and validation accuracy with epoch 3 missing: each
        // line is two pieces (epochs 1-2 and 4-5); the training lines are one piece each.
        #expect(count(orange, in: html) == 4)
        #expect(count(blue, in: html) == 2)
        // the epochs table shows the NaN, and a dash for the missing accuracy
        #expect(html.contains("<tr><td>3</td><td>0.8</td><td>NaN</td><td>0.7</td><td>&ndash;</td><td>0.25</td></tr>"))
        #expect(html.contains("<tr><th>epoch</th><th>train loss</th><th>validation loss</th><th>train accuracy</th>"
                              + "<th>validation accuracy</th><th>seconds</th></tr>"))
    }

    @Test func oneEpochIsDrawnAsDots() {
        var curves = LearningCurves(metricName: "R²", heldOutName: "test")
        curves.append(.init(epoch: 1, trainLoss: 0.5, heldOutLoss: 0.75, seconds: 2))
        let html = curves.html(title: "one", facts: [("model", "MLP")])
        #expect(count("<svg", in: html) == 2)
        #expect(!html.contains("<path"))
        #expect(count("<circle", in: html) == 2)             // train and test loss, one dot each
        #expect(html.contains(">no values recorded</text>"))  // the R² chart has nothing to draw
        #expect(html.contains("<h2>R² per epoch</h2>"))
        // a single epoch gets a single x tick, "1"
        #expect(count("class=\"tick\">1</text>", in: html) == 2)
        // columns without values are left out of the table
        #expect(html.contains("<tr><th>epoch</th><th>train loss</th><th>test loss</th><th>seconds</th></tr>"))
    }

    @Test func hundredsOfEpochsGetRoundTicksAndNoDots() {
        var curves = LearningCurves(metricName: "accuracy", heldOutName: "validation")
        for e in 1...300 {
            curves.append(.init(epoch: e, trainLoss: 1 / Double(e), heldOutLoss: 1.2 / Double(e),
                                trainMetric: 1 - 0.5 / Double(e), heldOutMetric: 1 - 0.6 / Double(e), seconds: 0.1))
        }
        curves.bestEpoch = 120
        let html = curves.html(title: "long", facts: [])
        #expect(count("<svg", in: html) == 2)
        #expect(count("<path", in: html) == 4)               // one line per series and chart
        #expect(!html.contains("r=\"3\""))                   // no dot per point...
        #expect(count("r=\"6\"", in: html) == 4)             // ...but the best epoch circled on every line
        // epochs 1...300 in about eight ticks: step 299/8 = 37.4 rounds up to 50 -> 50, 100, ..., 300
        for tick in stride(from: 50, through: 300, by: 50) {
            #expect(count("class=\"tick\">\(tick)</text>", in: html) == 2)
        }
        #expect(!html.contains("class=\"tick\">25</text>"))
        // losses 1/300 ... 1.2: (1.2 - 0.003)/6 = 0.1994 rounds up to 0.2 -> ticks 0.0, 0.2, ..., 1.2;
        // accuracies 0.4 ... 0.998: 0.598/6 = 0.0997 rounds up to 0.1 -> ticks 0.4, 0.5, ..., 1.0
        for tick in ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "1.2"] {
            #expect(count("class=\"tick\">\(tick)</text>", in: html) == (["0.4", "0.6", "0.8", "1.0"].contains(tick) ? 2 : 1))
        }
        #expect(count("class=\"tick\">0.3</text>", in: html) == 0 && count("class=\"tick\">0.9</text>", in: html) == 1)
        // 300 epoch rows and a header, and two facts: the epoch count and the best epoch
        #expect(count("<tr", in: html) == 300 + 1 + 2)
    }

    @Test func writesTheFileAtomicallyCreatingTheDirectory() throws {
        let root = try TrainingFixtures.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let curves = Self.fiveEpochs()
        let dir = root + "/runs/first"
        try curves.write(toDirectory: dir, title: "run", facts: [("loss", "cross-entropy")])
        let written = try String(contentsOfFile: dir + "/training.html", encoding: .utf8)
        #expect(written == curves.html(title: "run", facts: [("loss", "cross-entropy")]))
        // rewriting replaces the page and leaves no temporary file behind
        try curves.write(toDirectory: dir, title: "again", facts: [])
        #expect(try String(contentsOfFile: dir + "/training.html", encoding: .utf8).contains("<h1>again</h1>"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["training.html"])
        // a directory that cannot be created: a file is in the way
        #expect(FileManager.default.createFile(atPath: root + "/plain", contents: Data("x".utf8)))
        #expect(throws: ReportError.self) {
            try curves.write(toDirectory: root + "/plain/sub", title: "run", facts: [])
        }
    }
}
