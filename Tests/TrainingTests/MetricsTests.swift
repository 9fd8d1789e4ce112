import Foundation
import Testing
import Training

/// `a` and `b` agree to rounding.
private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool { abs(a - b) <= tolerance }

@Suite struct MetricsTests {
    /// Five rows over four classes: "c" is predicted once but has no samples, "d" has no samples
    /// and is never predicted. Row 4 ties between "a" and "b" (the first, "a", wins).
    ///
    ///     row  actual  probabilities            predicted  p(actual)
    ///     0    a       0.7 0.1 0.1 0.1          a          0.7
    ///     1    a       0.4 0.5 0.1 0.0          b          0.4
    ///     2    b       0.2 0.6 0.2 0.0          b          0.6
    ///     3    b       0.1 0.3 0.6 0.0          c          0.3
    ///     4    a       0.5 0.5 0.0 0.0          a          0.5
    static func fourClasses() throws -> ClassificationMetrics {
        try ClassificationMetrics(classNames: ["a", "b", "c", "d"], actual: [0, 0, 1, 1, 0],
                                  probabilities: [0.7, 0.1, 0.1, 0.1,
                                                  0.4, 0.5, 0.1, 0.0,
                                                  0.2, 0.6, 0.2, 0.0,
                                                  0.1, 0.3, 0.6, 0.0,
                                                  0.5, 0.5, 0.0, 0.0])
    }

    @Test func perClassAndMacroScoresWithEmptyClasses() throws {
        let m = try Self.fourClasses()
        // confusion (actual x predicted): a: 2 a, 1 b; b: 1 b, 1 c.
        #expect(m.confusion[0, 0] == 2 && m.confusion[0, 1] == 1 && m.confusion[1, 1] == 1 && m.confusion[1, 2] == 1)
        #expect(m.confusion.total == 5)
        #expect(m.accuracy == 0.6)                           // 3 of 5
        let s = m.perClass
        #expect(s.map(\.name) == ["a", "b", "c", "d"])
        #expect(s.map(\.support) == [3, 2, 0, 0])
        // a: tp 2, predicted 2, support 3 -> P 1, R 2/3, F1 2*2/(2+3) = 0.8
        #expect(s[0].precision == 1 && s[0].recall == 2.0 / 3 && close(s[0].f1, 0.8))
        // b: tp 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 2/4
        #expect(s[1].precision == 0.5 && s[1].recall == 0.5 && s[1].f1 == 0.5)
        // c: tp 0, predicted 1, no support -> P 0, R 0 (zero division), F1 0
        #expect(s[2].precision == 0 && s[2].recall == 0 && s[2].f1 == 0)
        // d: nothing at all -> all 0, and left out of the macro averages
        #expect(s[3].precision == 0 && s[3].recall == 0 && s[3].f1 == 0)
        // macro over {a, b, c}: P (1 + 0.5 + 0)/3, R (2/3 + 1/2 + 0)/3 = 7/18, F1 (0.8 + 0.5 + 0)/3
        #expect(close(m.macroPrecision, 0.5))
        #expect(close(m.macroRecall, 7.0 / 18))
        #expect(close(m.macroF1, 1.3 / 3))
        // log loss: mean of -ln p(actual) = -(ln 0.7 + ln 0.4 + ln 0.6 + ln 0.3 + ln 0.5)/5
        //   = (0.356675 + 0.916291 + 0.510826 + 1.203973 + 0.693147)/5 = 3.680912/5 = 0.7361823
        #expect(close(m.logLoss, 0.7361823, 1e-6))
        #expect(m.rocAUC == nil)                             // four classes: no AUC
    }

    @Test func classWithSamplesNeverPredictedHasPrecisionZero() throws {
        // actual [0, 1, 1], predicted [0, 0, 0]: class 1 is never predicted.
        let m = try ClassificationMetrics(classNames: ["x", "y"], actual: [0, 1, 1],
                                          probabilities: [0.9, 0.1, 0.6, 0.4, 0.7, 0.3])
        // x: tp 1, predicted 3, support 1 -> P 1/3, R 1, F1 2/4; y: P 0 (never predicted), R 0, F1 0
        #expect(m.perClass[0].precision == 1.0 / 3 && m.perClass[0].recall == 1 && m.perClass[0].f1 == 0.5)
        #expect(m.perClass[1].precision == 0 && m.perClass[1].recall == 0 && m.perClass[1].f1 == 0)
        #expect(close(m.macroPrecision, 1.0 / 6) && m.macroRecall == 0.5 && m.macroF1 == 0.25)
        // AUC of p(y) = [0.1, 0.4, 0.3] for y-rows {0.4, 0.3} against x-rows {0.1}: both above -> 1
        #expect(m.rocAUC == 1)
    }

    @Test func logLossOnThreeRowsClampsZero() throws {
        // p(actual) = 0.8, 0.5, 0 -> clamped to 1e-15:
        //   (-ln 0.8 - ln 0.5 - ln 1e-15)/3 = (0.2231436 + 0.6931472 + 34.5387764)/3 = 11.8183557
        let m = try ClassificationMetrics(classNames: ["neg", "pos"], actual: [1, 0, 1],
                                          probabilities: [0.2, 0.8, 0.5, 0.5, 1, 0])
        #expect(close(m.logLoss, 11.8183557, 1e-6))
        // p(pos) = [0.8, 0.5, 0]; positives score 0.8 and 0, the negative 0.5: 1 of 2 pairs -> 0.5
        #expect(m.rocAUC == 0.5)
        // a certain, right prediction costs -ln(1 - 1e-15), about 1e-15
        let sure = try ClassificationMetrics(classNames: ["neg", "pos"], actual: [1], probabilities: [0, 1])
        #expect(sure.logLoss > 0 && sure.logLoss < 2e-15)
    }

    @Test func aucCountsTiesAsOneHalf() throws {
        // scores [0.1, 0.4, 0.4, 0.8], labels [0, 0, 1, 1]. Pairs (positive, negative):
        //   (0.4, 0.1) 1, (0.4, 0.4) 1/2, (0.8, 0.1) 1, (0.8, 0.4) 1 -> 3.5 / 4 = 0.875.
        // By ranks: 0.1 -> 1, the two 0.4 -> 2.5, 0.8 -> 4; positive ranks 6.5 - 2*3/2 = 3.5.
        let scores = [0.1, 0.4, 0.4, 0.8]
        let m = try ClassificationMetrics(classNames: ["0", "1"], actual: [0, 0, 1, 1],
                                          probabilities: scores.flatMap { [1 - $0, $0] })
        #expect(m.rocAUC == 0.875)
        // unsorted, a three-way tie: scores [0.9, 0.3, 0.3, 0.3, 0.7, 0.1], labels [1, 0, 1, 1, 0, 0]
        //   positives 0.9, 0.3, 0.3; negatives 0.3, 0.7, 0.1
        //   0.9 beats all three: 3; each 0.3: tie 1/2 + loses 0 + beats 0.1 1 = 1.5 -> 3 + 1.5 + 1.5 = 6 of 9
        let more = [0.9, 0.3, 0.3, 0.3, 0.7, 0.1]
        let m2 = try ClassificationMetrics(classNames: ["0", "1"], actual: [1, 0, 1, 1, 0, 0],
                                           probabilities: more.flatMap { [1 - $0, $0] })
        #expect(close(m2.rocAUC!, 2.0 / 3))
    }

    @Test func aucIsNilWhenAClassIsAbsent() throws {
        let onlyNegatives = try ClassificationMetrics(classNames: ["0", "1"], actual: [0, 0],
                                                      probabilities: [0.9, 0.1, 0.2, 0.8])
        #expect(onlyNegatives.rocAUC == nil)
        let onlyPositives = try ClassificationMetrics(classNames: ["0", "1"], actual: [1, 1],
                                                      probabilities: [0.9, 0.1, 0.2, 0.8])
        #expect(onlyPositives.rocAUC == nil)
        #expect(!onlyPositives.jsonFields(prefix: "test_").contains { $0.key == "test_auc" })
        #expect(!onlyPositives.table().contains("AUC"))
    }

    @Test func jsonFieldsAndTable() throws {
        let m = try ClassificationMetrics(classNames: ["no", "yes"], actual: [0, 1, 1],
                                          probabilities: [0.9, 0.1, 0.2, 0.8, 0.6, 0.4])
        let fields = m.jsonFields(prefix: "test_")
        #expect(fields.map(\.key) == ["test_accuracy", "test_precision_macro", "test_recall_macro", "test_f1_macro",
                                      "test_log_loss", "test_auc"])
        // predicted [no, yes, no]: accuracy 2/3; AUC of p(yes) [0.1, 0.8, 0.4]: 0.8 and 0.4 beat 0.1 -> 1
        #expect(fields[0].value == 2.0 / 3 && fields[5].value == 1)
        #expect(fields[1].value == m.macroPrecision && fields[4].value == m.logLoss)

        let table = try Self.fourClasses().table()
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "class      precision  recall      f1  support")
        #expect(lines[1] == "a             1.0000  0.6667  0.8000        3")
        #expect(lines[3] == "c             0.0000  0.0000  0.0000        0")
        #expect(lines[5] == "macro avg     0.5000  0.3889  0.4333        5")
        #expect(table.contains("left out, neither present nor predicted: d"))
        #expect(table.contains("accuracy:  0.6000 (3 of 5 rows)"))
        #expect(table.contains("log loss:  0.7362"))
        #expect(!table.contains("AUC"))
        #expect(table.hasSuffix(try Self.fourClasses().confusion.description(classNames: ["a", "b", "c", "d"])))
    }

    @Test func confusionMatrixWithClassNames() {
        var cm = ConfusionMatrix(classCount: 2)
        for (a, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (1, 1), (1, 1)] { cm.add(actual: a, predicted: p) }
        // a label column as wide as "true\\pred" (9), then counts right-aligned in 4 (3 digits and a space)
        #expect(cm.description == "true\\pred" + "   0" + "   1\n" +
                                  "0        " + "   2" + "   1\n" +
                                  "1        " + "   0" + "   3\n")
        #expect(cm.description(classNames: ["cat", "dog"]) == "true\\pred" + " cat" + " dog\n" +
                                                              "cat      " + "   2" + "   1\n" +
                                                              "dog      " + "   0" + "   3\n")
        // names longer than the corner widen both the label column and the count columns
        #expect(cm.description(classNames: ["elephant-seal", "x"]) ==
                "true\\pred     " + " elephant-seal" + "             x\n" +
                "elephant-seal " + "             2" + "             1\n" +
                "x             " + "             0" + "             3\n")
        // missing names fall back to the index
        #expect(cm.description(classNames: ["cat"]) == "true\\pred" + " cat" + "   1\n" +
                                                       "cat      " + "   2" + "   1\n" +
                                                       "1        " + "   0" + "   3\n")
    }

    @Test func classificationErrorsNameTheProblem() {
        #expect(throws: MetricsError.shapeMismatch("5 probabilities for 2 rows of 3 classes (expected 6)")) {
            try ClassificationMetrics(classNames: ["a", "b", "c"], actual: [0, 1], probabilities: [0, 0, 0, 0, 0])
        }
        #expect(throws: MetricsError.labelOutOfRange(row: 1, label: 2, classCount: 2)) {
            try ClassificationMetrics(classNames: ["a", "b"], actual: [0, 2], probabilities: [1, 0, 0, 1])
        }
        #expect(throws: MetricsError.labelOutOfRange(row: 0, label: -1, classCount: 2)) {
            try ClassificationMetrics(classNames: ["a", "b"], actual: [-1], probabilities: [1, 0])
        }
        #expect(throws: MetricsError.notFinite(what: "probabilities", row: 1, column: 0, value: .infinity)) {
            try ClassificationMetrics(classNames: ["a", "b"], actual: [0, 0], probabilities: [1, 0, .infinity, 0])
        }
        #expect(throws: MetricsError.shapeMismatch("no rows to score")) {
            try ClassificationMetrics(classNames: ["a"], actual: [], probabilities: [])
        }
        #expect(MetricsError.labelOutOfRange(row: 1, label: 2, classCount: 2).description
                == "metrics: row 1 (from 0): actual label 2 is outside 0..<2")
    }

    /// Two targets, four rows:
    ///
    ///     y (actual 1 2 3 4,     predicted 1 2 3 2):    residuals 0 0 0 -2
    ///     z (actual 10 10 10 10, predicted 10 11 9 10): residuals 0 1 -1 0 (a constant target)
    @Test func regressionScoresOnTwoTargets() throws {
        let m = try RegressionMetrics(targetNames: ["y", "z"],
                                      actual: [1, 10, 2, 10, 3, 10, 4, 10],
                                      predicted: [1, 10, 2, 11, 3, 9, 2, 10])
        let y = m.perTarget[0], z = m.perTarget[1]
        #expect(y.name == "y" && z.name == "z")
        // y: MAE 2/4, RMSE sqrt(4/4) = 1; mean 2.5, SS_tot 2.25+0.25+0.25+2.25 = 5, R² 1 - 4/5 = 0.2
        #expect(y.mae == 0.5 && y.rmse == 1 && close(y.r2, 0.2))
        // z: MAE 2/4, RMSE sqrt(2/4); constant and not exact -> R² 0
        #expect(z.mae == 0.5 && z.rmse == 0.5.squareRoot() && z.r2 == 0)
        // overall: MAE 4/8, RMSE sqrt(6/8), R² (0.2 + 0)/2
        #expect(m.mae == 0.5 && m.rmse == 0.75.squareRoot() && close(m.r2, 0.1))
        // y's residuals sorted -2 0 0 0: mean -0.5, variance (0.25*3 + 2.25)/4 = 0.75,
        // q25 at position 0.75: -2 + 2*0.75 = -0.5; median at 1.5: 0; q75 at 2.25: 0
        let r = y.residuals
        #expect(r.mean == -0.5 && r.standardDeviation == 0.75.squareRoot())
        #expect(r.minimum == -2 && r.q25 == -0.5 && r.median == 0 && r.q75 == 0 && r.maximum == 0)
        let fields = m.jsonFields(prefix: "test_")
        #expect(fields.map(\.key) == ["test_mae", "test_rmse", "test_r2"])
        #expect(fields[0].value == 0.5 && fields[1].value == m.rmse && fields[2].value == m.r2)
        let table = m.table()
        #expect(table.split(separator: "\n").count == 5)     // header, y, z, all, note
        #expect(table.contains("\ny       0.5000  1.0000  0.2000"))
        #expect(table.contains("\nall     0.5000  0.8660  0.1000\n"))
    }

    @Test func residualQuantilesInterpolateLinearly() throws {
        // residuals 3 1 4 10, sorted 1 3 4 10 (n = 4, positions q * 3):
        //   q25 at 0.75: 1 + (3-1)*0.75 = 2.5; median at 1.5: 3.5; q75 at 2.25: 4 + 6*0.25 = 5.5
        //   mean 18/4 = 4.5; deviations -3.5 -1.5 -0.5 5.5, squares 12.25+2.25+0.25+30.25 = 45, /4 = 11.25
        let m = try RegressionMetrics(targetNames: ["t"], actual: [0, 0, 0, 0], predicted: [3, 1, 4, 10])
        let r = m.perTarget[0].residuals
        #expect(r.q25 == 2.5 && r.median == 3.5 && r.q75 == 5.5)
        #expect(r.minimum == 1 && r.maximum == 10 && r.mean == 4.5 && r.standardDeviation == 11.25.squareRoot())
        #expect(m.r2 == 0)                                   // constant target, inexact predictions
        // residual = predicted - actual: predicting 1 under an actual 3 gives -2
        let sign = try RegressionMetrics(targetNames: ["t"], actual: [3], predicted: [1])
        #expect(sign.perTarget[0].residuals.median == -2 && sign.mae == 2)
    }

    @Test func constantTargetPredictedExactlyHasR2One() throws {
        let m = try RegressionMetrics(targetNames: ["c"], actual: [7, 7, 7], predicted: [7, 7, 7])
        #expect(m.r2 == 1 && m.mae == 0 && m.rmse == 0)
        // a varying target predicted exactly: SS_res 0 -> 1
        let exact = try RegressionMetrics(targetNames: ["v"], actual: [1, 2], predicted: [1, 2])
        #expect(exact.r2 == 1)
        // predicting the mean 2 of 1 2 3 gives R² 0; a worse model goes negative: predicting 3 2 1
        // leaves SS_res 4+0+4 = 8 against SS_tot 2 -> 1 - 4 = -3
        let mean = try RegressionMetrics(targetNames: ["v"], actual: [1, 2, 3], predicted: [2, 2, 2])
        let reversed = try RegressionMetrics(targetNames: ["v"], actual: [1, 2, 3], predicted: [3, 2, 1])
        #expect(mean.r2 == 0 && reversed.r2 == -3)
    }

    @Test func regressionErrorsNameTheProblem() {
        #expect(throws: MetricsError.shapeMismatch("3 predicted values for 4 actual values (2 rows of 2 targets)")) {
            try RegressionMetrics(targetNames: ["a", "b"], actual: [1, 2, 3, 4], predicted: [1, 2, 3])
        }
        #expect(throws: MetricsError.shapeMismatch("3 actual values are not whole rows of 2 targets")) {
            try RegressionMetrics(targetNames: ["a", "b"], actual: [1, 2, 3], predicted: [1, 2, 3])
        }
        #expect(throws: MetricsError.notFinite(what: "predicted", row: 1, column: 0, value: -.infinity)) {
            try RegressionMetrics(targetNames: ["a", "b"], actual: [1, 2, 3, 4], predicted: [1, 2, -.infinity, 4])
        }
        #expect(throws: MetricsError.self) {
            try RegressionMetrics(targetNames: ["a"], actual: [1, .nan], predicted: [1, 2])
        }
        #expect(throws: MetricsError.shapeMismatch("no target names")) {
            try RegressionMetrics(targetNames: [], actual: [1], predicted: [1])
        }
    }
}
