// swift-tools-version:6.0
// libFuzzer targets for GraphEngine's file readers: graph files (JSON and sidecar), inputs files,
// CSV tables (DataTable and the legacy Dataset reader) and checkpoints. A separate package, so that
// no product of GraphEngine carries the fuzzer's unsafe flags: scripts/fuzz builds this package with
// `-sanitize=fuzzer,address` given on the command line and runs each target on Fuzz/Corpus/<target>.
// See Fuzz/README.md.
import PackageDescription

let package = Package(
    name: "GraphEngineFuzz",
    dependencies: [
        .package(name: "GraphEngine", path: ".."),
    ],
    targets: [
        .executableTarget(name: "FuzzGraphFile", dependencies: [.product(name: "Tensor", package: "GraphEngine")]),
        .executableTarget(name: "FuzzInputs", dependencies: [.product(name: "Tensor", package: "GraphEngine")]),
        .executableTarget(name: "FuzzCSV", dependencies: [.product(name: "Training", package: "GraphEngine")]),
        .executableTarget(name: "FuzzCheckpoint", dependencies: [.product(name: "Training", package: "GraphEngine")]),
    ],
    swiftLanguageModes: [.v6]
)
