import Foundation
import Testing
import Tensor
import Training

/// A table parsed from CSV text named `name`.
private func table(_ text: String, name: String = "t.csv") throws -> DataTable {
    try DataTable(csvText: Array(text.utf8), name: name)
}

/// The message of the error `body` throws (nil when it throws none).
private func message(_ body: () throws -> Void) -> String? {
    do { try body() } catch { return "\(error)" }
    return nil
}

private let raw = Preprocessor.Options(standardizeFeatures: false)

@Suite struct PreprocessorTests {
    // MARK: - Task inference

    @Test func taskIsInferredFromTheLabelColumns() throws {
        func fit(_ text: String, labels: [Int] = [1]) throws -> Preprocessor {
            let t = try table(text)
            return try Preprocessor(fitting: t, rows: Array(0..<t.rowCount), labelColumns: labels)
        }
        // Text: two values make a binary task, more a multiclass one.
        let yesNo = try fit("x,label\n1,yes\n2,no\n3,yes\n")
        #expect(yesNo.task == .binary && yesNo.classCount == 2 && yesNo.taskReason.contains("text"))
        #expect(try fit("x,label\n1,a\n2,b\n3,c\n").task == .multiclass)
        // At most 20 distinct integers: classes.
        #expect(try fit("x,label\n1,0\n2,1\n3,2\n4,1\n").task == .multiclass)
        let twoIntegers = try fit("x,label\n1,7\n2,3\n3,7\n")
        #expect(twoIntegers.task == .binary && twoIntegers.target.classNames == ["3", "7"])
        let twenty = (0..<20).map { "\($0),\($0 * 5)" }.joined(separator: "\n")
        #expect(try fit("x,label\n" + twenty + "\n").task == .multiclass)
        let twentyOne = (0..<21).map { "\($0),\($0 * 5)" }.joined(separator: "\n")
        let many = try fit("x,label\n" + twentyOne + "\n")
        #expect(many.task == .regression && many.classCount == 0)
        // Non-integers: regression.
        let floats = try fit("x,label\n1,0.5\n2,1.5\n3,0.5\n")
        #expect(floats.task == .regression && floats.taskReason.contains("non-integer"))
        // Several label columns: regression, even of integers.
        let two = try fit("x,y1,y2\n1,0,1\n2,1,0\n3,0,0\n", labels: [1, 2])
        #expect(two.task == .regression && two.target.names == ["y1", "y2"] && two.taskReason.contains("2 label columns"))
        // A given task wins over the inference.
        let given = try Preprocessor(fitting: try table("x,label\n1,0\n2,1\n3,2\n"), rows: [0, 1, 2], labelColumns: [1],
                                     options: .init(task: .regression))
        #expect(given.task == .regression && given.taskReason == "given")
    }

    @Test func textInARegressionTargetNamesItsCell() throws {
        // Row 2 of the data (line 3 of the file), column 3.
        let t = try table("x,y1,y2\n1,2,\n2,3,lots\n3,4,5\n")
        let several = message { _ = try Preprocessor(fitting: t, rows: [0, 1, 2], labelColumns: [1, 2]) }
        // The empty cell of y2 on line 2 is missing: that is refused first, with its place.
        #expect(several?.contains("t.csv:2:3") == true && several?.contains("'y2'") == true, "\(several ?? "no error")")
        let u = try table("x,y1,y2\n1,2,4\n2,3,lots\n3,4,5\n")
        // The cell named is the one holding text ("lots", row 2), not the first cell of the column ("4").
        let text = message { _ = try Preprocessor(fitting: u, rows: [0, 1, 2], labelColumns: [1, 2]) }
        #expect(text?.contains("t.csv:3:3") == true && text?.contains("'y2'") == true && text?.contains("lots") == true,
                "\(text ?? "no error")")
        let v = try table("x,label\n1,cat\n2,dog\n", name: "v.csv")
        let givenRegression = message {
            _ = try Preprocessor(fitting: v, rows: [0, 1], labelColumns: [1], options: .init(task: .regression))
        }
        #expect(givenRegression?.contains("v.csv:2:2") == true && givenRegression?.contains("'label'") == true,
                "\(givenRegression ?? "no error")")
        // Applying a regression preprocessor to a table whose target holds text names that cell too.
        let numeric = try table("x,y\n1,2.5\n2,3.5\n3,4.5\n")
        let prep = try Preprocessor(fitting: numeric, rows: [0, 1, 2], labelColumns: [1])
        let later = try table("x,y\n1,2.5\n2,3.5\n3,n/a\n", name: "later.csv")
        let applied = message { _ = try prep.dataset(later) }
        #expect(applied?.contains("later.csv:4:2") == true && applied?.contains("n/a") == true, "\(applied ?? "no error")")
    }

    @Test func textLabelsMapToSortedClassNames() throws {
        let t = try table("x,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n")
        let prep = try Preprocessor(fitting: t, rows: [0, 1, 2, 3], labelColumns: [1])
        #expect(prep.task == .multiclass && prep.target.classNames == ["setosa", "versicolor", "virginica"])
        let data = try prep.dataset(t)
        #expect(data.targets == [2, 0, 1, 0] && data.classCount == 3)
        // A label outside the classes is refused with its place.
        let other = try table("x,species\n1,setosa\n2,tulip\n", name: "o.csv")
        let m = message { _ = try prep.dataset(other) }
        #expect(m?.contains("o.csv:3:2") == true && m?.contains("tulip") == true, "\(m ?? "no error")")
    }

    // MARK: - Features

    @Test func categoricalFeaturesAreOneHot() throws {
        let t = try table("x,color,label\n1,red,0\n2,green,1\n3,blue,0\n4,red,1\n")
        let prep = try Preprocessor(fitting: t, rows: [0, 1, 2, 3], labelColumns: [2], options: raw)
        #expect(prep.features.map(\.name) == ["x", "color"])
        #expect(prep.encodedFeatureNames == ["x", "color=blue", "color=green", "color=red"])
        #expect(prep.featureCount == 4)
        let data = try prep.dataset(t)
        #expect(data.features == [1, 0, 0, 1,
                                  2, 0, 1, 0,
                                  3, 1, 0, 0,
                                  4, 0, 0, 1])
        // A category the training rows never had encodes as all zeros.
        let unseen = try table("x,color,label\n5,purple,1\n")
        #expect(try prep.dataset(unseen).features == [5, 0, 0, 0])
        // Categories come from the training rows only: without row 2, blue is unseen.
        let partial = try Preprocessor(fitting: t, rows: [0, 1, 3], labelColumns: [2], options: raw)
        #expect(partial.encodedFeatureNames == ["x", "color=green", "color=red"])
        #expect(try partial.dataset(t, rows: [2]).features == [3, 0, 0])
    }

    @Test func missingCellsWithoutImputationNameTheirPlace() throws {
        let t = try table("x1,x2,label\n1,2,0\n3,,1\n5,6,0\n", name: "gaps.csv")
        let prep = try Preprocessor(fitting: t, rows: [0, 1, 2], labelColumns: [2])
        let m = message { _ = try prep.dataset(t) }
        #expect(m?.contains("gaps.csv:3:2") == true && m?.contains("'x2'") == true, "\(m ?? "no error")")
        // Rows without gaps encode fine.
        #expect(try prep.dataset(t, rows: [0, 2]).count == 2)
        // A missing text cell too.
        let u = try table("x,color,label\n1,red,0\n2,NA,1\n", name: "text.csv")
        let p2 = try Preprocessor(fitting: u, rows: [0, 1], labelColumns: [2])
        let m2 = message { _ = try p2.dataset(u) }
        #expect(m2?.contains("text.csv:3:2") == true && m2?.contains("'color'") == true, "\(m2 ?? "no error")")
        // A missing label is refused when fitting.
        let v = try table("x,label\n1,0\n2,1\n3,?\n", name: "label.csv")
        let m3 = message { _ = try Preprocessor(fitting: v, rows: [0, 1], labelColumns: [1]) }
        #expect(m3?.contains("label.csv:4:2") == true && m3?.contains("'label'") == true, "\(m3 ?? "no error")")
    }

    /// The test rows (4 and 5) would move the mean to 61.8, the median to 6 and the most frequent text to b.
    @Test(arguments: [Preprocessor.Imputation.mean, .median])
    func imputationUsesTheTrainingRowsOnly(imputation: Preprocessor.Imputation) throws {
        let t = try table("x,c,label\n1,a,0\n2,a,1\n?,b,0\n6,?,1\n100,b,0\n200,b,1\n")
        let train = [0, 1, 2, 3]
        let prep = try Preprocessor(fitting: t, rows: train, labelColumns: [2],
                                    options: .init(imputation: imputation, standardizeFeatures: false))
        // Present training values of x: 1, 2, 6 (mean 3, median 2); of c: a, a, b.
        let fill: Double = imputation == .mean ? 3 : 2
        #expect(prep.features[0].fillNumber == fill)
        #expect(prep.features[1].fillText == "a")
        #expect(prep.encodedFeatureNames == ["x", "c=a", "c=b"])
        let data = try prep.dataset(t)
        #expect(data.features == [1, 1, 0,
                                  2, 1, 0,
                                  fill, 0, 1,
                                  6, 1, 0,
                                  100, 0, 1,
                                  200, 0, 1])
        // Standardized: the fill value goes through the same scaling (training mean 3, std sqrt(14/3)).
        let scaled = try Preprocessor(fitting: t, rows: train, labelColumns: [2], options: .init(imputation: imputation))
        #expect(abs(scaled.features[0].mean - 3) < 1e-12)
        #expect(abs(scaled.features[0].scale - 1 / (14.0 / 3).squareRoot()) < 1e-12)
        let row2 = try scaled.dataset(t, rows: [2]).features[0]
        #expect(abs(row2 - (fill - 3) / (14.0 / 3).squareRoot()) < 1e-12)
    }

    @Test func standardizationUsesTheTrainingRowsOnly() throws {
        let t = try table("x,y,label\n1,10,0\n2,20,1\n3,30,0\n4,40,1\n1000,-5,0\n")
        let prep = try Preprocessor(fitting: t, rows: [0, 1, 2, 3], labelColumns: [2])
        // x: mean 2.5, population variance 1.25; y: mean 25, variance 125.
        #expect(prep.features[0].mean == 2.5 && abs(prep.features[0].scale - 1 / 1.25.squareRoot()) < 1e-12)
        #expect(prep.features[1].mean == 25 && abs(prep.features[1].scale - 1 / 125.0.squareRoot()) < 1e-12)
        let train = try prep.dataset(t, rows: [0, 1, 2, 3])
        for j in 0..<2 {
            let column = stride(from: j, to: train.features.count, by: 2).map { train.features[$0] }
            let mean = column.reduce(0, +) / 4
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 4
            #expect(abs(mean) < 1e-12 && abs(variance - 1) < 1e-12)
        }
        let test = try prep.dataset(t, rows: [4])
        #expect(abs(test.features[0] - 997.5 / 1.25.squareRoot()) < 1e-9)
        #expect(abs(test.features[1] - -30 / 125.0.squareRoot()) < 1e-12)
        // A constant column keeps scale 1 (no division by zero).
        let constant = try table("x,k,label\n1,7,0\n2,7,1\n")
        let p2 = try Preprocessor(fitting: constant, rows: [0, 1], labelColumns: [2])
        #expect(p2.features[1].scale == 1 && p2.features[1].mean == 7)
        #expect(try p2.dataset(constant).features == [-1, 0, 1, 0])
    }

    @Test func regressionTargetsStandardizedFromTheTrainingRows() throws {
        let t = try table("x,y\n1,10.5\n2,30.5\n3,20.5\n4,1000.5\n")
        let prep = try Preprocessor(fitting: t, rows: [0, 1, 2], labelColumns: [1])
        #expect(prep.task == .regression)
        // Mean 20.5, population variance 200/3.
        #expect(prep.target.mean == [20.5] && abs(prep.target.scale[0] - 1 / (200.0 / 3).squareRoot()) < 1e-12)
        let data = try prep.dataset(t)
        #expect(zip(prep.targetsInOriginalUnits(data.targets), [10.5, 30.5, 20.5, 1000.5]).allSatisfy { abs($0 - $1) < 1e-9 })
        let plain = try Preprocessor(fitting: t, rows: [0, 1, 2], labelColumns: [1], options: .init(standardizeTargets: false))
        #expect(try plain.dataset(t).targets == [10.5, 30.5, 20.5, 1000.5])
    }

    // MARK: - Saving and applying

    @Test func jsonRoundTripIsEqual() throws {
        let t = try table("x,color,w,label\n1.25,red,0.1,cat\n2,NA,0.3,dog\n3.5,blue,?,cat\n-4,red,1e-7,fox\n")
        let prep = try Preprocessor(fitting: t, rows: [0, 1, 2, 3], labelColumns: [3], options: .init(imputation: .median))
        #expect(prep.features[1].fillText == "red" && prep.features[2].fillNumber != nil)
        let text = try prep.json()
        #expect(!text.contains("\n"))
        let back = try Preprocessor(json: text)
        #expect(back == prep)
        #expect(try back.dataset(t) == prep.dataset(t))

        let r = try table("a,b,y1,y2\n0.1,3,1.5,-2\n0.7,4,2.25,7\n0.3,9,-1,0.125\n")
        let regression = try Preprocessor(fitting: r, rows: [0, 1, 2], labelColumns: [2, 3])
        #expect(try Preprocessor(json: regression.json()) == regression)

        let bad = message { _ = try Preprocessor(json: "{\"task\": \"regression\"}") }
        #expect(bad?.contains("preprocessing") == true)
    }

    @Test func encodesATableWithoutTheLabelColumn() throws {
        let t = try table("x,color,label\n1,red,yes\n2,green,no\n3,red,no\n")
        let prep = try Preprocessor(fitting: t, rows: [0, 1, 2], labelColumns: [2])
        let labelled = try prep.dataset(t)
        // The same rows, columns in another order, no label.
        let unlabelled = try table("color,x\nred,1\ngreen,2\nred,3\n", name: "new.csv")
        #expect(prep.hasTargets(t) && !prep.hasTargets(unlabelled))
        let data = try prep.dataset(unlabelled, targets: false)
        #expect(data.features == labelled.features && data.count == 3)
        #expect(data.targets == [0, 0, 0] && data.task == .binary && data.classCount == 2)
        let m = message { _ = try prep.dataset(unlabelled) }
        #expect(m?.contains("new.csv") == true && m?.contains("'label'") == true, "\(m ?? "no error")")
        // A feature column missing is named.
        let m2 = message { _ = try prep.dataset(try table("x\n1\n", name: "short.csv"), targets: false) }
        #expect(m2?.contains("short.csv") == true && m2?.contains("'color'") == true, "\(m2 ?? "no error")")
    }
}
