// swift-tools-version:6.0
// The dqc package: a model-conversion compiler for diffusion language models.

import PackageDescription

let package = Package(
  name: "dqc",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "dqc", targets: ["dqc"]),
    .library(name: "DQCIR", targets: ["DQCIR"]),
    .library(name: "DQCFrontend", targets: ["DQCFrontend"]),
    .library(name: "DQCInterp", targets: ["DQCInterp"]),
    .library(name: "DQCPasses", targets: ["DQCPasses"]),
    .library(name: "DQCBackend", targets: ["DQCBackend"]),
    .library(name: "DQCDriver", targets: ["DQCDriver"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
  ],
  targets: [
    .target(
      name: "DQCIR",
      dependencies: [.product(name: "OrderedCollections", package: "swift-collections")]
    ),
    .systemLibrary(
      name: "CProtobufC",
      path: "Sources/CProtobufC",
      pkgConfig: "libprotobuf-c",
      providers: [.apt(["libprotobuf-c-dev"]), .brew(["protobuf-c"])]
    ),
    .target(
      name: "CONNXProto",
      dependencies: ["CProtobufC"],
      path: "Sources/CONNXProto",
      exclude: ["onnx.proto", "README.md"],
      sources: ["onnx.pb-c.c"],
      publicHeadersPath: "include"
    ),
    // ICU's regex C API for the tokenizer's Split patterns, from the ICU Foundation already
    // loads: the toolchain's lib_FoundationICU on Linux, libicucore on Apple platforms.
    .target(
      name: "CICURegex", path: "Sources/CICURegex", publicHeadersPath: "include",
      linkerSettings: [
        .linkedLibrary("_FoundationICU", .when(platforms: [.linux])),
        .linkedLibrary("icucore", .when(platforms: [.macOS])),
      ]
    ),
    .target(name: "DQCFrontend", dependencies: ["DQCIR", "CONNXProto", "CICURegex"]),
    .systemLibrary(
      name: "CBLAS",
      path: "Sources/CBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
    ),
    // dqc's own numeric kernels, the same bits on every instruction set and thread count: the
    // matrix product of the quantization passes (float32 or float64 inputs, float64 results),
    // and the interpreter's float32 fused multiply-add chains.
    .target(
      name: "DQCKernels", path: "Sources/DQCKernels", sources: ["src"], publicHeadersPath: "include"
    ),
    .target(name: "DQCInterp", dependencies: ["DQCIR", "CBLAS", "DQCKernels"]),
    .target(name: "DQCPasses", dependencies: ["DQCIR", "DQCInterp", "CBLAS", "DQCKernels"]),
    // The runtime: C++17 behind the plain C header `dqc_runtime.h` (bundle reader, plan,
    // CPU kernels, sampler), and `dqc_bundle_format.h` shared with the compiler. It depends on
    // nothing but the C++ standard library.
    .target(
      name: "DQCRuntime", path: "Sources/DQCRuntime", sources: ["src"],
      publicHeadersPath: "include",
      linkerSettings: [.linkedLibrary("stdc++"), .linkedLibrary("pthread")]
    ),
    .target(name: "DQCBackend", dependencies: ["DQCIR", "DQCRuntime"]),
    .target(
      name: "DQCDriver",
      dependencies: ["DQCIR", "DQCPasses", "DQCFrontend", "DQCInterp", "DQCBackend"]),
    .executableTarget(
      name: "dqc",
      dependencies: [
        "DQCDriver",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(name: "DQCTestSupport", dependencies: ["DQCBackend"], path: "Tests/DQCTestSupport"),
    .testTarget(name: "DQCIRTests", dependencies: ["DQCIR", "DQCTestSupport"]),
    .testTarget(
      name: "DQCFrontendTests", dependencies: ["DQCFrontend", "DQCTestSupport", "dqc"]),
    .testTarget(
      name: "DQCInterpTests",
      dependencies: ["DQCInterp", "DQCFrontend", "DQCPasses", "DQCTestSupport"]),
    .testTarget(
      name: "DQCPassesTests",
      dependencies: ["DQCPasses", "DQCFrontend", "DQCInterp", "DQCKernels", "DQCTestSupport"]),
    .testTarget(
      name: "DQCDriverTests", dependencies: ["DQCDriver", "DQCInterp", "DQCTestSupport", "dqc"]),
    .testTarget(
      name: "DQCBackendTests",
      dependencies: ["DQCBackend", "DQCIR", "DQCRuntime", "DQCTestSupport"]),
    .testTarget(
      name: "DQCRuntimeTests",
      dependencies: [
        "DQCBackend", "DQCIR", "DQCInterp", "DQCPasses", "DQCDriver", "DQCTestSupport", "dqc",
      ]),
    .testTarget(
      name: "DQCGoldenTests",
      dependencies: ["DQCIR", "DQCFrontend", "DQCPasses", "DQCDriver", "DQCTestSupport"]
    ),
  ],
  cxxLanguageStandard: .cxx17
)
