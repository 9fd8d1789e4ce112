import Foundation
import Testing
import Tensor
import Training

@Suite struct TrainingDataTests {
    @Test func readsTheBundledDigits() throws {
        let digits = try Dataset(csvFile: TrainingFixtures.digits)
        #expect(digits.count == 1797)
        #expect(digits.featureCount == 64)
        #expect(digits.classCount == 10)
        #expect(digits.features.allSatisfy { $0 >= 0 && $0 <= 16 })
        #expect(digits.classCounts.allSatisfy { $0 > 150 })
        // first row of the file: 0,0,5,13,9,1,... label 0
        #expect(Array(digits.features.prefix(6)) == [0, 0, 5, 13, 9, 1])
        #expect(digits.labels[0] == 0)
    }

    @Test func readsIrisWithItsHeaderDetected() throws {
        let iris = try Dataset(csvFile: TrainingFixtures.iris)
        #expect(iris.count == 150)
        #expect(iris.featureCount == 4)
        #expect(iris.classCount == 3)
        #expect(iris.classCounts == [50, 50, 50])
        #expect(Array(iris.features.prefix(4)) == [5.1, 3.5, 1.4, 0.2])
    }

    @Test func headerAndLabelColumnOptions() throws {
        let text = "1,2,3\n4,5,6\n\n  7 , 8 ,9\r\n"
        let plain = try TrainingFixtures.csv(text)
        #expect(plain.count == 3 && plain.labels == [3, 6, 9] && plain.features == [1, 2, 4, 5, 7, 8])
        let headed = try TrainingFixtures.csv(text, options: CSVOptions(header: .present))
        #expect(headed.labels == [6, 9])
        let first = try TrainingFixtures.csv(text, options: CSVOptions(labelColumn: 0, classCount: 8))
        #expect(first.labels == [1, 4, 7] && first.features == [2, 3, 5, 6, 8, 9] && first.classCount == 8)
        let named = try TrainingFixtures.csv("a,b,label\n0.5,1e2,1\n")
        #expect(named.count == 1 && named.features == [0.5, 100])
        let semicolons = try TrainingFixtures.csv("1;2\n3;0\n", options: CSVOptions(separator: ";"))
        #expect(semicolons.labels == [2, 0] && semicolons.classCount == 3)
    }

    @Test func emptyFiles() {
        #expect(throws: DatasetError.empty(file: "t.csv")) { try TrainingFixtures.csv("") }
        #expect(throws: DatasetError.empty(file: "t.csv")) { try TrainingFixtures.csv("\n  \n\n") }
        #expect(throws: DatasetError.empty(file: "t.csv")) { try TrainingFixtures.csv("x,y,label\n") }
    }

    @Test func missingFile() {
        #expect(throws: DatasetError.unreadable(file: "/no/such/file.csv", reason: "no such file")) {
            try Dataset(csvFile: "/no/such/file.csv")
        }
    }

    @Test func raggedRowNamesTheLine() {
        #expect(throws: DatasetError.raggedRow(file: "t.csv", line: 4, expected: 3, found: 2)) {
            try TrainingFixtures.csv("1,2,0\n3,4,1\n\n5,6\n")
        }
        let error = DatasetError.raggedRow(file: "t.csv", line: 4, expected: 3, found: 2)
        #expect(error.description == "t.csv:4: ragged row: 2 fields, expected 3 like the first data row")
    }

    @Test func nonNumericFieldNamesLineAndColumn() {
        #expect(throws: DatasetError.notANumber(file: "t.csv", line: 2, column: 2, text: "abc")) {
            try TrainingFixtures.csv("1,2,0\n3,abc,1\n")
        }
        #expect(throws: DatasetError.notANumber(file: "t.csv", line: 1, column: 1, text: "")) {
            try TrainingFixtures.csv(",2,0\n", options: CSVOptions(header: .absent))
        }
        #expect(throws: DatasetError.notANumber(file: "t.csv", line: 3, column: 1, text: "nan")) {
            try TrainingFixtures.csv("h,h,h\n1,2,0\nnan,1,1\n")
        }
    }

    @Test func badLabels() {
        #expect(throws: DatasetError.labelNotAnInteger(file: "t.csv", line: 2, column: 3, text: "1.5")) {
            try TrainingFixtures.csv("1,2,0\n3,4,1.5\n")
        }
        #expect(throws: DatasetError.labelNotAnInteger(file: "t.csv", line: 1, column: 1, text: "cat")) {
            try TrainingFixtures.csv("cat,1,2\n", options: CSVOptions(header: .absent, labelColumn: 0))
        }
        #expect(throws: DatasetError.labelOutOfRange(file: "t.csv", line: 2, column: 3, label: 3, classCount: 3)) {
            try TrainingFixtures.csv("1,2,0\n3,4,3\n", options: CSVOptions(classCount: 3))
        }
        #expect(throws: DatasetError.labelOutOfRange(file: "t.csv", line: 1, column: 3, label: -1, classCount: nil)) {
            try TrainingFixtures.csv("1,2,-1\n")
        }
        #expect(throws: DatasetError.labelColumnOutOfRange(file: "t.csv", labelColumn: 5, columns: 3)) {
            try TrainingFixtures.csv("1,2,0\n", options: CSVOptions(labelColumn: 5))
        }
        let message = DatasetError.labelOutOfRange(file: "d.csv", line: 7, column: 65, label: 12, classCount: 10).description
        #expect(message == "d.csv:7: column 65: label 12 is outside 0..<10")
    }

    @Test func arraysAreChecked() {
        #expect(throws: DatasetError.self) { try Dataset(features: [1, 2, 3], labels: [0, 1], featureCount: 2, classCount: 2) }
        #expect(throws: DatasetError.self) { try Dataset(features: [1, 2], labels: [2], featureCount: 2, classCount: 2) }
    }

    @Test func splitIsSeededDisjointAndComplete() throws {
        let iris = try Dataset(csvFile: TrainingFixtures.iris)
        let (train, test) = iris.split(testFraction: 0.2, seed: 7)
        #expect(train.count == 120 && test.count == 30)
        let again = iris.split(testFraction: 0.2, seed: 7)
        #expect(again.train == train && again.test == test)
        let other = iris.split(testFraction: 0.2, seed: 8)
        #expect(other.test != test)
        // every row lands on exactly one side (rows of iris are distinct up to a few duplicates,
        // so compare the multisets of (features, label))
        func rows(_ d: Dataset) -> [[Double]] {
            (0..<d.count).map { (r: Int) -> [Double] in Array(d.features[(r * 4)..<(r * 4 + 4)]) + [d.targets[r]] }
        }
        let together = (rows(train) + rows(test)).sorted { $0.lexicographicallyPrecedes($1) }
        #expect(together == rows(iris).sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func standardizingUsesTrainingStatistics() throws {
        let train = try Dataset(features: [1, 5, 3, 5, 5, 5], labels: [0, 1, 0], featureCount: 2, classCount: 2)
        let scaler = FeatureScaler(standardizing: train)
        #expect(scaler.mean == [3, 5])
        // population std of (1, 3, 5) is sqrt(8/3); the constant column keeps scale 1
        #expect(abs(scaler.scale[0] - (3.0 / 8).squareRoot()) < 1e-12 && scaler.scale[1] == 1)
        let scaled = scaler.apply(to: train)
        #expect(abs(scaled.features[0] + 1.2247449) < 1e-5 && scaled.features[1] == 0 && scaled.features[2] == 0)
        let test = try Dataset(features: [7, 6], labels: [1], featureCount: 2, classCount: 2)
        let t = scaler.apply(to: test)
        #expect(abs(t.features[0] - 2.4494898) < 1e-5 && t.features[1] == 1)
    }

    @Test func minibatchesKeepThePartialBatch() {
        let batches = Minibatches(rows: 10, batchSize: 4, seed: 3, epoch: 0)
        #expect(batches.count == 3)
        #expect(batches[0].count == 4 && batches[1].count == 4 && batches[2].count == 2)
        #expect((0..<3).flatMap { Array(batches[$0]) }.sorted() == Array(0..<10))
        #expect(Minibatches(rows: 10, batchSize: 4, seed: 3, epoch: 0) == batches)
        #expect(Minibatches(rows: 10, batchSize: 4, seed: 3, epoch: 1).order != batches.order)
        let exact = Minibatches(order: Array(0..<8), batchSize: 4)
        #expect(exact.count == 2 && Array(exact[1]) == [4, 5, 6, 7])
    }

    @Test func gatherCopiesRowsAndLabels() throws {
        let data = try Dataset(features: [0, 1, 10, 11, 20, 21], labels: [0, 1, 2], featureCount: 2, classCount: 3)
        var x = [Float](repeating: -1, count: 4)
        var y = [Float](repeating: -1, count: 2)
        var picked = [Double](repeating: -1, count: 2)
        x.withUnsafeMutableBufferPointer { data.gather(rows: [2, 0], features: $0) }
        y.withUnsafeMutableBufferPointer { data.gatherTargets(rows: [2, 0], into: $0) }
        picked.withUnsafeMutableBufferPointer { data.gather(rows: [1, 2], features: $0, columns: [1]) }
        #expect(x == [20, 21, 0, 1] && y == [2, 0] && picked == [11, 21])
    }

    /// Float batches come from the dataset's Float copy (Note [Single-precision features]): the
    /// same values as converting each Double, for whole rows and for chosen columns, in Double
    /// too; a dataset whose features change gets a new copy, and copies of the dataset agree.
    /// Rows of 13 values take the inline copy, rows of 300 `RowGather` (with the next rows
    /// prefetched; a batch longer than the prefetch distance, with a repeated row).
    @Test(arguments: [13, 300]) func floatGatherMatchesConvertingEachValue(width: Int) throws {
        var rng = SeededGenerator(seed: 5)
        let rows = 37
        let values = (0..<(rows * width)).map { _ in Double(rng.nextIndex(below: 1 << 20)) / 3.0 - 1e5 }
        let data = try Dataset(features: values, targets: (0..<rows).map { Double($0 % 4) }, featureCount: width,
                               targetCount: 1, task: .multiclass, classCount: 4)
        let picks = [36, 0, 5, 5, 17, 2, 30, 1]
        var floats = [Float](repeating: .nan, count: picks.count * width)
        floats.withUnsafeMutableBufferPointer { data.gather(rows: picks, features: $0) }
        #expect(floats == picks.flatMap { r in (0..<width).map { Float(values[r * width + $0]) } })
        var some = [Float](repeating: .nan, count: picks.count * 2)
        some.withUnsafeMutableBufferPointer { data.gather(rows: picks, features: $0, columns: [12, 3]) }
        #expect(some == picks.flatMap { r in [Float(values[r * width + 12]), Float(values[r * width + 3])] })
        var doubles = [Double](repeating: .nan, count: picks.count * width)
        doubles.withUnsafeMutableBufferPointer { data.gather(rows: picks, features: $0) }
        #expect(doubles == picks.flatMap { r in (0..<width).map { values[r * width + $0] } })
        // A scaled copy (new features) gathers its own values, not the first copy's.
        let scaled = FeatureScaler(standardizing: data).apply(to: data)
        var scaledFloats = [Float](repeating: .nan, count: picks.count * width)
        scaledFloats.withUnsafeMutableBufferPointer { scaled.gather(rows: picks, features: $0) }
        #expect(scaledFloats == picks.flatMap { r in (0..<width).map { Float(scaled.features[r * width + $0]) } })
        #expect(scaledFloats != floats)
        let copy = data
        #expect(copy == data)
        // Rows of 256 values and more are copied whole by another route.
        let wide = (0..<(3 * 300)).map { Double($0) / 7 }
        let wideData = try Dataset(features: wide, targets: [0, 1, 0], featureCount: 300, targetCount: 1,
                                   task: .binary, classCount: 2)
        var wideRows = [Float](repeating: .nan, count: 2 * 300)
        wideRows.withUnsafeMutableBufferPointer { wideData.gather(rows: [2, 0], features: $0) }
        #expect(wideRows == [2, 0].flatMap { r in (0..<300).map { Float(wide[r * 300 + $0]) } })
    }

    @Test func seededShuffleIsAPermutationAndRepeatable() {
        var a = SeededGenerator(seed: 99), b = SeededGenerator(seed: 99)
        let p = a.permutation(1000)
        #expect(p == b.permutation(1000))
        #expect(p.sorted() == Array(0..<1000) && p != Array(0..<1000))
        var c = SeededGenerator(seed: 1)
        var histogram = [Int](repeating: 0, count: 3)
        for _ in 0..<3000 { histogram[c.nextIndex(below: 3)] += 1 }
        #expect(histogram.allSatisfy { $0 > 900 && $0 < 1100 })
    }

    @Test func syntheticDataIsSeededAndBalanced() throws {
        let a = try Dataset.synthetic(count: 100, featureCount: 7, classCount: 4, seed: 5)
        #expect(a.count == 100 && a.featureCount == 7 && a.classCount == 4)
        #expect(a.classCounts == [25, 25, 25, 25])
        #expect(try Dataset.synthetic(count: 100, featureCount: 7, classCount: 4, seed: 5) == a)
        #expect(try Dataset.synthetic(count: 100, featureCount: 7, classCount: 4, seed: 6) != a)
        #expect(throws: DatasetError.self) { try Dataset.synthetic(count: 0, featureCount: 7, classCount: 4, seed: 5) }
    }

    @Test func confusionMatrixCountsArgmax() {
        var cm = ConfusionMatrix(classCount: 3)
        let logits: [Float] = [0.1, 0.9, 0.0,   2, 1, 0,   0, 0, 5,   1, 1, 0]
        logits.withUnsafeBufferPointer { cm.add(logits: $0, labels: [1, 0, 1, 1] as [Int32]) }
        #expect(cm[1, 1] == 1 && cm[0, 0] == 1 && cm[1, 2] == 1 && cm[1, 0] == 1)  // tie goes to class 0
        #expect(cm.total == 4 && cm.accuracy == 0.5)
        #expect(cm.description.split(separator: "\n").count == 4)
    }
}
