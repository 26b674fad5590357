// swift-tools-version: 6.1
//
// CoopLedger: a shared, verifiable ledger of the Chengdu–Chongqing joint cooperation items.
//
// Dependency direction (each line may only import what is above it):
//
//   CZeroMQ, CProtobufC,       system libraries (libzmq3-dev, libprotobuf-c-dev, libsodium-dev: Ed25519 verify,
//   CSodium                    also libzmq's own CurveZMQ library)
//   CCoopProto                 protoc-c output for proto/coop/v1 (generated, committed)
//   CCoopProcess               C shim: glibc's posix_spawn extensions, declared only under _GNU_SOURCE
//   CCoopCRC32C                C: CRC-32C with the processor's instruction (SSE 4.2; AArch64's CRC when targeted)
//   CCoopPrefetch              C: a cache prefetch hint, for CoopLedger's entry id table
//   CCoopSHA256                C: one-shot SHA-256 with the processor's SHA extensions (x86-64 SHA-NI)
//   CoopProcess                child processes on posix_spawn (not Foundation's Process, whose Linux run() crashed
//                              once in a test run with ~1,350 descriptors open); for CoopCLI's demo, the benchmarks
//                              and CoopTestKit
//   CoopWire                   Swift messages <-> protobuf-c, JSON mapping; no I/O
//   CoopZMQ                    safe libzmq wrapper: sockets owned by one thread, the reactor, monitor events
//   CoopRPC                    gRPC-style calls over ZeroMQ frames: status, metadata, frames, server, client
//   CoopServices               typed service stubs generated from proto/ (server protocols, clients), health, reflection
//   CoopLedger                 catalog, roster, item life cycle, the view (no ZeroMQ)
//   CoopSegments               generic segmented log: framing, CRC-32C, recovery, group commit (no ledger)
//   CoopLog                    store of signed entries on CoopSegments, checkpoint, audit (no ZeroMQ)
//   CoopSync                   reconciliation between peers as state machines without I/O: sessions, own-head guard
//   CoopNode                   the daemon: config, the ledger and sync services on CoopLog, peer links, roles, drain
//   CoopDevTools               demo data generators for development, benchmarks and training; the local mesh; the
//                              scale simulation (real stores and sessions over a simulated network)
//   CoopWeb                    the optional HTTP listener: the wall chart page, server-sent events, /metrics,
//                              /healthz, /readyz (Hummingbird, swift-metrics, swift-prometheus; HTTP stays out
//                              of CoopNode)
//   CoopCLI                    the `coop` commands;  coop: its executable
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "CoopLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "coop", targets: ["coop"]),
        .library(name: "CoopWire", targets: ["CoopWire"]),
        .library(name: "CoopRPC", targets: ["CoopRPC"]),
        .library(name: "CoopServices", targets: ["CoopServices"]),
        .library(name: "CoopLedger", targets: ["CoopLedger"]),
        .library(name: "CoopSegments", targets: ["CoopSegments"]),
        .library(name: "CoopLog", targets: ["CoopLog"]),
        .library(name: "CoopSync", targets: ["CoopSync"]),
        .library(name: "CoopNode", targets: ["CoopNode"]),
        .library(name: "CoopDevTools", targets: ["CoopDevTools"]),
        .library(name: "CoopWeb", targets: ["CoopWeb"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries.
        // No pkgConfig: libzmq's .pc pulls in krb5's -isystem flags, which SwiftPM warns about on every build;
        // zmq.h is in the default include path once libzmq3-dev is installed (scripts/setup.sh does that).
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(
            name: "CCoopProto",
            dependencies: ["CProtobufC"],
            cSettings: [.headerSearchPath("include")]
        ),

        // Child processes: posix_spawn with every other descriptor closed in the child (see SpawnedProcess).
        .target(name: "CCoopProcess"),
        .target(
            name: "CoopProcess",
            dependencies: ["CCoopProcess"],
            swiftSettings: strictSwift
        ),

        // Wire plane: messages and codecs, no I/O.
        .target(
            name: "CoopWire",
            dependencies: ["CCoopProto", "CProtobufC"],
            swiftSettings: strictSwift
        ),

        // ZeroMQ.
        .target(
            name: "CoopZMQ",
            dependencies: ["CZeroMQ"],
            swiftSettings: strictSwift
        ),

        // RPC plane: gRPC semantics over ZeroMQ frames.
        .target(
            name: "CoopRPC",
            dependencies: ["CoopWire", "CoopZMQ"],
            swiftSettings: strictSwift
        ),

        // Typed services from proto/: generated stubs, health and reflection.
        .target(
            name: "CoopServices",
            dependencies: ["CoopWire", "CoopRPC"],
            swiftSettings: strictSwift
        ),

        // Ledger plane.
        .target(
            name: "CoopLedger",
            dependencies: [
                "CoopWire",
                "CSodium",
                "CCoopPrefetch",
                "CCoopSHA256",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        .target(name: "CCoopCRC32C"),
        .target(name: "CCoopPrefetch"),
        .target(name: "CCoopSHA256"),
        .target(
            name: "CoopSegments",
            dependencies: ["CCoopCRC32C"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "CoopLog",
            dependencies: [
                "CoopWire",
                "CoopLedger",
                "CoopSegments",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "CoopSync",
            dependencies: ["CoopWire"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "CoopNode",
            dependencies: [
                "CoopWire", "CoopZMQ", "CoopRPC", "CoopServices", "CoopLedger", "CoopSegments", "CoopLog", "CoopSync",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "CoopDevTools",
            dependencies: [
                "CoopWire", "CoopZMQ", "CoopRPC", "CoopLedger", "CoopLog", "CoopSegments", "CoopSync", "CoopNode",
            ],
            swiftSettings: strictSwift
        ),

        // The optional HTTP listener: wall chart, live updates, metrics and health probes.
        .target(
            name: "CoopWeb",
            dependencies: [
                "CoopWire", "CoopLedger", "CoopLog", "CoopNode", "CoopSegments", "CoopServices",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),

        // The command-line tool.
        .target(
            name: "CoopCLI",
            dependencies: [
                "CoopWire",
                "CoopZMQ",
                "CoopRPC",
                "CoopServices",
                "CoopLedger",
                "CoopSegments",
                "CoopLog",
                "CoopDevTools",
                "CoopNode",
                "CoopWeb",
                "CoopProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "coop",
            dependencies: ["CoopCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSwift
        ),

        // Benchmarks: `swift run -c release coop-bench` (prints figures and ratios; not a test).
        .executableTarget(
            name: "coop-bench",
            dependencies: [
                "CoopSegments", "CoopLog", "CoopDevTools", "CoopLedger", "CoopWire", "CoopRPC", "CoopZMQ",
                "CoopServices", "CoopNode", "CoopWeb", "CoopProcess",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/CoopBench",
            swiftSettings: strictSwift
        ),

        // A child process for crash tests: appends under load and is killed with SIGKILL.
        .executableTarget(
            name: "coop-crash-child",
            dependencies: ["CoopSegments", "CoopLog", "CoopLedger", "CoopWire"],
            path: "Tests/CrashChild",
            swiftSettings: strictSwift
        ),

        // A child process for RPC liveness tests: an RPC server that is killed with SIGKILL or stopped with SIGSTOP,
        // and the clean-shutdown check in a process of its own.
        .executableTarget(
            name: "coop-rpc-child",
            dependencies: ["CoopRPC", "CoopZMQ"],
            path: "Tests/RPCChild",
            swiftSettings: strictSwift
        ),

        // Tests.
        .target(
            name: "CoopTestKit",
            dependencies: ["CoopWire", "CoopLedger", "CoopSegments", "CoopProcess"],
            path: "Tests/CoopTestKit",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopWireTests",
            dependencies: ["CoopWire", "CoopTestKit"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopLedgerTests",
            dependencies: [
                "CoopLedger", "CoopWire", "CoopTestKit", "CSodium",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopRPCTests",
            dependencies: ["CoopRPC", "CoopZMQ", "CoopWire", "CoopTestKit", "CoopProcess", "coop-rpc-child"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopServicesTests",
            dependencies: ["CoopServices", "CoopRPC", "CoopZMQ", "CoopWire"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopSyncTests",
            dependencies: ["CoopSync", "CoopWire"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopNodeTests",
            dependencies: [
                "CoopNode", "CoopSync", "CoopDevTools", "CoopServices", "CoopRPC", "CoopZMQ", "CoopWire", "CoopLedger",
                "CoopLog",
                "CoopSegments", "CoopTestKit", "CoopProcess", "coop",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopWebTests",
            dependencies: [
                "CoopWeb", "CoopNode", "CoopDevTools", "CoopServices", "CoopRPC", "CoopZMQ", "CoopWire", "CoopLedger",
                "CoopLog",
                "CoopTestKit", "coop",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopZMQTests",
            dependencies: ["CoopZMQ", "CoopTestKit"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopProcessTests",
            dependencies: ["CoopProcess"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopSegmentsTests",
            dependencies: ["CoopSegments", "CoopTestKit", "CoopProcess", "coop-crash-child"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopLogTests",
            dependencies: [
                "CoopSegments", "CoopLog", "CoopDevTools", "CoopWire", "CoopLedger", "CoopTestKit", "CoopProcess",
                "coop-crash-child", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "CoopCLITests",
            dependencies: [
                "CoopCLI", "CoopSegments", "CoopLog", "CoopLedger", "CoopWire", "CoopRPC", "CoopServices", "CoopZMQ",
                "CoopTestKit", "CoopProcess", "coop",
            ],
            exclude: ["Golden"],
            swiftSettings: strictSwift
        ),
    ]
)
