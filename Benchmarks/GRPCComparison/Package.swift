// swift-tools-version: 6.1
//
// grpc-comparison: the unary round trip of grpc-swift-2 (HTTP/2 over the NIO transport, loopback) measured beside
// CoopRPC's, back to back in one run (issue 7 §6). A separate package so that the everyday build, the tests and CI
// never build grpc-swift and its dependencies: run it through scripts/run-grpc-comparison.sh (docs/BENCHMARKS.md).
//
// CoopRPC is not a product of the root package, so this package does not import it: the script passes the path of a
// release `coop-bench`, and this program runs `coop-bench rpc-unary` as a child for CoopRPC's figures, in rounds
// alternating with its own grpc-swift measurement.
import PackageDescription

let package = Package(
    name: "GRPCComparison",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    ],
    targets: [
        .executableTarget(
            name: "grpc-comparison",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ],
            path: "Sources/GRPCComparison",
            swiftSettings: [
                .swiftLanguageMode(.v6),
                .enableUpcomingFeature("InternalImportsByDefault"),
                .enableUpcomingFeature("ExistentialAny"),
            ]
        )
    ]
)
