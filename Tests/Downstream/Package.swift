// swift-tools-version:6.0
// A package that uses GraphEngine the way another project would: through a versioned git
// dependency, which SwiftPM refuses when a product of the dependency carries unsafe build flags.
// Tests/downstream-check.sh makes a tagged clone and points GRAPH_ENGINE_URL at it.
import Foundation
import PackageDescription

let url = ProcessInfo.processInfo.environment["GRAPH_ENGINE_URL"] ?? "file:///tmp/graph-engine-downstream/GraphEngine"

let package = Package(
    name: "Downstream",
    dependencies: [
        .package(url: url, from: "1.0.0"),
    ],
    targets: [
        .executableTarget(name: "Downstream", dependencies: [
            .product(name: "Scheduler", package: "GraphEngine"),
            .product(name: "Profiling", package: "GraphEngine"),
            .product(name: "Tensor", package: "GraphEngine"),
            .product(name: "Kernels", package: "GraphEngine"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
