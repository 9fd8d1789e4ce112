// swift-tools-version:6.0
import PackageDescription

// No unsafe flags in any product, so that other packages can depend on this one by version. The
// inner loops that need AVX2/AVX-512 code generation live in the C target CKernels, compiled per
// CPU level with per-function target attributes and chosen at run time (Kernels' `KernelLevel`).

let package = Package(
    name: "GraphEngine",
    products: [
        // MARK: - Public API
        .library(name: "Scheduler", targets: ["Scheduler"]),
        // Profiles of traced runs: tables, critical path, Chrome trace, DOT, HTML report (Foundation).
        .library(name: "Profiling", targets: ["Profiling"]),
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
        // The kernels' innermost loops, once per CPU level (baseline, AVX2, AVX-512).
        .target(name: "CKernels"),
        // Open MPI's mpi.h, with accessors for the handles it defines as macros (see shim.h). Only
        // targets that depend on it (Distributed, bench) need MPI installed to build.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi",
            providers: [.apt(["libopenmpi-dev"])]
        ),

        // MARK: - Libraries
        .target(name: "Scheduler", dependencies: ["CHwloc"]),
        .target(name: "Profiling", dependencies: ["Scheduler"]),
        .target(name: "Kernels", dependencies: ["CKernels"]),
        .target(name: "Tensor", dependencies: ["Scheduler", "Kernels"]),
        .target(name: "Training", dependencies: ["Tensor", "Scheduler", "Profiling", "Kernels"]),
        .target(name: "Distributed", dependencies: ["CMPI", "Training", "Tensor", "Scheduler", "Kernels"]),
        .executableTarget(name: "bench", dependencies: ["Scheduler", "Profiling", "Kernels", "Tensor", "Training", "Distributed",
                                                       "DispatchLoop"]),
        // A `ParallelLoop` over Dispatch's concurrentPerform, shared by bench (`gemm --loop dispatch`)
        // and the kernels' tests: a library target of its own, no product (package access only),
        // so neither keeps a copy and bench does not depend on test code.
        .target(name: "DispatchLoop", dependencies: ["Kernels"]),

        // MARK: - Tests
        // What several test targets share (a seeded generator); no product, used by tests only.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "TestSupport"]),
        .testTarget(name: "ProfilingTests", dependencies: ["Profiling", "Scheduler", "TestSupport"]),
        // KernelsTests' AllocationTests count heap allocations with their own `malloc` and aligned
        // allocators, which must be in the dynamic symbol table to take the C library's place.
        // (A test target is no product: its unsafe flags do not stop anyone depending on us.)
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Scheduler", "TestSupport", "DispatchLoop"],
                    linkerSettings: [.unsafeFlags([
                        "-Xlinker", "--export-dynamic-symbol=malloc",
                        "-Xlinker", "--export-dynamic-symbol=posix_memalign",
                        "-Xlinker", "--export-dynamic-symbol=aligned_alloc",
                    ], .when(platforms: [.linux], configuration: .release))]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "Scheduler", "Kernels", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Tensor", "Scheduler", "Kernels"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "Training", "Tensor", "Scheduler"]),
    ],
    swiftLanguageModes: [.v6]
)
