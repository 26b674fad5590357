// swift-tools-version: 6.1
//
// libFuzzer targets for CoopLedger (docs/FUZZING.md). A package of its own, so that the root package's
// `swift build` and `swift build --build-tests` neither build these nor need libFuzzer. It depends on the root
// package by path; `scripts/fuzz.sh` builds it with its own scratch path (.build-fuzz) and the sanitizers:
//
//   swift build --package-path Fuzz --scratch-path .build-fuzz \
//       --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
//
// Each `fuzz-*` executable defines `LLVMFuzzerTestOneInput` (libFuzzer's `main` drives it); FuzzKit holds what
// they share (property checks, the demo data directory, seed writing, the data-directory image format).
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let coop: [Target.Dependency] = [
    .product(name: "CoopWire", package: "CoopLedger"),
    .product(name: "CoopLedger", package: "CoopLedger"),
    .product(name: "CoopSegments", package: "CoopLedger"),
    .product(name: "CoopLog", package: "CoopLedger"),
    .product(name: "CoopDevTools", package: "CoopLedger"),
]

/// The fuzz targets; scripts/fuzz.sh runs them in this order.
let fuzzTargets = ["fuzz-wire", "fuzz-json", "fuzz-record", "fuzz-frames", "fuzz-checkpoint", "fuzz-open"]

let package = Package(
    name: "CoopLedgerFuzz",
    platforms: [.macOS(.v15)],
    // `name:` keeps the product references independent of the checkout's folder name.
    dependencies: [.package(name: "CoopLedger", path: "..")],
    targets: [
        .target(name: "FuzzKit", dependencies: coop, swiftSettings: strictSwift)
    ]
        + fuzzTargets.map { name in
            .executableTarget(name: name, dependencies: coop + ["FuzzKit"], swiftSettings: strictSwift)
        }
)
