import Testing
import Distributed
import Training

/// The pure parts of data-parallel training: batch shares, settings differences, fingerprints.
@Suite struct DataParallelHelpersTests {
    @Test func ranksTakeContiguousSharesThatCoverTheBatch() {
        #expect(DataParallelTrainer<Float>.share(of: 256, rank: 0, size: 2) == 0..<128)
        #expect(DataParallelTrainer<Float>.share(of: 256, rank: 1, size: 2) == 128..<256)
        // 7 rows over 3 ranks: 7/3 = 2, 14/3 = 4.
        #expect((0..<3).map { DataParallelTrainer<Float>.share(of: 7, rank: $0, size: 3) } == [0..<2, 2..<4, 4..<7])
        #expect(DataParallelTrainer<Float>.share(of: 5, rank: 0, size: 1) == 0..<5)
    }

    @Test func differencesNameEverySettingThatDiffers() {
        let rank0 = ["batch": "256", "seed": "42", "epochs": "2"]
        let mine = ["batch": "128", "seed": "42", "extra": "x"]
        #expect(DataParallelTrainer<Float>.differences(mine, from: rank0) == [
            "batch: '256' on rank 0, '128' here",
            "epochs: '2' on rank 0, (not set) here",
            "extra: (not set) on rank 0, 'x' here",
        ])
        #expect(DataParallelTrainer<Float>.differences(rank0, from: rank0).isEmpty)
    }

    @Test func longSettingsAreShortenedWithAFingerprint() throws {
        let long = String(repeating: "a", count: 100)
        let d = DataParallelTrainer<Float>.differences(["model": long], from: ["model": "b"])
        let line = try #require(d.first)
        #expect(line.hasPrefix("model: 'b' on rank 0, '\(String(repeating: "a", count: 77))...' (fingerprint "))
    }

    /// FNV-1a over 64-bit words: offset basis 0xcbf29ce484222325, prime 0x100000001b3.
    @Test func fingerprintsFollowFNV1aOverWords() {
        var f = Fingerprint()
        f.add(word: 0)
        // (0xcbf29ce484222325 ^ 0) * 0x100000001b3 mod 2^64.
        #expect(f.value == 0xAF63_BD4C_8601_B7DF)
        var g = Fingerprint()
        g.add([1.0, 2.0] as [Double])   // the count (2), then 0x3ff0000000000000 and 0x4000000000000000
        #expect(g.value == 0x4B50_0818_75DF_2D0D)
        var h = Fingerprint()
        h.add([1.0, Double(bitPattern: (2.0).bitPattern ^ 1)] as [Double])
        #expect(h.value != g.value)
    }

    @Test func dataFingerprintsTellDatasetsApart() throws {
        let a = try Dataset.synthetic(count: 20, featureCount: 3, classCount: 2, seed: 1)
        let b = try Dataset.synthetic(count: 20, featureCount: 3, classCount: 2, seed: 2)
        #expect(a.fingerprint == (try Dataset.synthetic(count: 20, featureCount: 3, classCount: 2, seed: 1)).fingerprint)
        #expect(a.fingerprint != b.fingerprint)
        #expect(a.fingerprint != a.rows(0..<19).fingerprint)
    }
}
