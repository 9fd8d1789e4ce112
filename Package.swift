// swift-tools-version:6.0
import PackageDescription

/// Hot loops need AVX2 + FMA code generation on x86-64: without it `SIMD8<Float>.addingProduct`
/// lowers to calls to `fmaf` (about 100x slower). Other architectures build with their defaults.
let vectorFlags: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-march=x86-64-v3"], .when(platforms: [.linux, .macOS])),
]

let package = Package(
    name: "GraphEngine",
    products: [
        // MARK: - Public API
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Tensor", targets: ["Tensor"]),
        .library(name: "Training", targets: ["Training"]),
        // Data-parallel training over MPI: needs Open MPI (libopenmpi-dev); the products above do not.
        .library(name: "Distributed", targets: ["Distributed"]),
        .executable(name: "bench", targets: ["bench"]),
    ],
    targets: [
        // MARK: - Implementation details
        .systemLibrary(
            name: "CHwloc",
            pkgConfig: "hwloc",
            providers: [.apt(["libhwloc-dev"])]
        ),
        // Open MPI's mpi.h, with accessors for the handles it defines as macros (see shim.h). Only
        // targets that depend on it (Distributed, bench) need MPI installed to build.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi",
            providers: [.apt(["libopenmpi-dev"])]
        ),

        // MARK: - Libraries
        .target(name: "Scheduler", dependencies: ["CHwloc"], swiftSettings: vectorFlags),
        .target(name: "Kernels", swiftSettings: vectorFlags),
        .target(name: "Tensor", dependencies: ["Scheduler", "Kernels"], swiftSettings: vectorFlags),
        .target(name: "Training", dependencies: ["Tensor", "Scheduler", "Kernels"], swiftSettings: vectorFlags),
        .target(name: "Distributed", dependencies: ["CMPI", "Training", "Tensor", "Scheduler", "Kernels"], swiftSettings: vectorFlags),
        .executableTarget(name: "bench", dependencies: ["Scheduler", "Kernels", "Tensor", "Training", "Distributed"],
                          swiftSettings: vectorFlags),

        // MARK: - Tests
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler"]),
        // KernelsTests' AllocationTests count heap allocations with their own `malloc` and aligned
        // allocators, which must be in the dynamic symbol table to take the C library's place.
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Scheduler"], swiftSettings: vectorFlags,
                    linkerSettings: [.unsafeFlags([
                        "-Xlinker", "--export-dynamic-symbol=malloc",
                        "-Xlinker", "--export-dynamic-symbol=posix_memalign",
                        "-Xlinker", "--export-dynamic-symbol=aligned_alloc",
                    ], .when(platforms: [.linux], configuration: .release))]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "Scheduler", "Kernels"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Tensor", "Scheduler", "Kernels"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Training", "Tensor", "Scheduler"]),
    ],
    swiftLanguageModes: [.v6]
)
