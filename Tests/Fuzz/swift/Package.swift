// swift-tools-version:5.4
// libFuzzer targets for dqc's Swift parsers (issue 9). A separate package so the main package's
// `swift build` / `swift test` are untouched; see the Makefile for the build and run commands.
//
// Tools version 5.4 on purpose: from 5.5 on, SwiftPM compiles an executable target's entry point
// as `<Target>_main` and links with `--defsym main=<Target>_main` (testable executables). A fuzz
// target has no entry point of its own (libFuzzer's `main` drives `LLVMFuzzerTestOneInput`), so
// that link fails with "undefined symbol 'FuzzDQIR_main'". Under 5.4 the rename is not done.

import Foundation
import PackageDescription

// A path dependency's identity is its folder's name (lowercased), whatever the checkout is called.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("../../..").standardizedFileURL
let rootIdentity = root.lastPathComponent.lowercased()

let package = Package(
  name: "dqc-fuzz",
  platforms: [.macOS("14.0")],
  dependencies: [.package(path: "../../..")],
  targets: [
    .target(name: "FuzzSupport"),
    .executableTarget(
      name: "FuzzDQIR",
      dependencies: ["FuzzSupport", .product(name: "DQCIR", package: rootIdentity)]),
    .executableTarget(
      name: "FuzzSafetensors",
      dependencies: [
        .product(name: "DQCIR", package: rootIdentity),
        .product(name: "DQCFrontend", package: rootIdentity),
      ]),
    .executableTarget(
      name: "FuzzONNX",
      dependencies: [
        "FuzzSupport", .product(name: "DQCIR", package: rootIdentity),
        .product(name: "DQCFrontend", package: rootIdentity),
      ]),
    .executableTarget(
      name: "FuzzTokenizer",
      dependencies: ["FuzzSupport", .product(name: "DQCFrontend", package: rootIdentity)]),
  ]
)
