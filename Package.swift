// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "breakerd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "breakerd", targets: ["breakerd"]),
        .executable(name: "breakerctl", targets: ["breakerctl"]),
        .executable(name: "breaker-bench", targets: ["breaker-bench"]),
        .library(name: "BreakerCore", targets: ["BreakerCore"]),
        .library(name: "BreakerWire", targets: ["BreakerWire"]),
        .library(name: "BreakerClient", targets: ["BreakerClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // Linux's epoll and eventfd headers, for BreakerServer's own event loops.
        .systemLibrary(name: "CEpoll"),
        // Synchronization.Mutex, or under -DBREAKERD_TSAN the same API over pthreads (see its file).
        .target(name: "BreakerSync"),
        // The pure state machine: no I/O, no clock of its own.
        .target(name: "BreakerCore", dependencies: ["BreakerSync"], exclude: ["DESIGN.md"]),
        // Messages, the line codec and error codes shared by server, client and CLI.
        .target(name: "BreakerWire", dependencies: ["BreakerCore"]),
        // SQLite persistence: one connection, one writer thread, group commit.
        .target(
            name: "BreakerStore",
            dependencies: [
                "BreakerSync", "BreakerCore", "CSQLite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["DESIGN.md"]
        ),
        // PostgreSQL persistence: the same BreakerStorage contract over one postgres-nio
        // connection, which also holds the cluster's leader lease (an advisory lock).
        .target(
            name: "BreakerPostgres",
            dependencies: [
                "BreakerCore", "BreakerStore", "BreakerSync",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["DESIGN.md"]
        ),
        // TLS from PEM files for listeners (reloadable) and clients; only module that sees NIOSSL's setup.
        .target(
            name: "BreakerTLS",
            dependencies: [
                "BreakerSync",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The one way clients talk to breakerd: a connection (plain or TLS), line framing, and a
        // blocking request/reply connection; used by BreakerClient, breakerctl and the tests.
        .target(name: "BreakerLine", dependencies: [
            "BreakerSync", "BreakerTLS", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The protocol server: shards of breakers, watchers, deadlines; plain TCP on epoll loops
        // of its own, TLS on SwiftNIO.
        .target(
            name: "BreakerServer",
            dependencies: [
                "BreakerSync", "BreakerCore", "BreakerWire", "BreakerStore", "BreakerTLS",
                .target(name: "CEpoll", condition: .when(platforms: [.linux])),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["DESIGN.md"]
        ),
        // The HTTP listener: /metrics, /health/circuit-breakers, /healthz, /readyz, and the status page.
        .target(
            name: "BreakerHTTP",
            dependencies: [
                "BreakerSync", "BreakerCore", "BreakerWire", "BreakerStore", "BreakerServer", "BreakerTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The status page (GET /), compiled into the binary: nothing to ship beside it.
            resources: [
                .embedInCode("StatusPage/status.html"),
                .embedInCode("StatusPage/status.css"),
                .embedInCode("StatusPage/status.js"),
                .embedInCode("StatusPage/tiles.js"),
                .embedInCode("StatusPage/detail.js"),
            ]
        ),
        .executableTarget(
            name: "breakerd",
            dependencies: [
                "BreakerServer", "BreakerStore", "BreakerPostgres", "BreakerHTTP", "BreakerCore", "BreakerWire", "BreakerTLS",
                "BreakerSync",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                // Only the executable picks a metrics backend; libraries speak swift-metrics.
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "breakerctl",
            dependencies: [
                "BreakerLine", "BreakerWire", "BreakerCore", "BreakerTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The library services link: cached decisions, pushed invalidation, local fallback.
        .target(
            name: "BreakerClient",
            dependencies: [
                "BreakerSync", "BreakerCore", "BreakerWire", "BreakerTLS", "BreakerLine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // Hot-path benchmark of the client (release mode; see BENCHMARKS.md).
        .executableTarget(
            name: "BreakerClientBench",
            dependencies: ["BreakerClient", "BreakerServer", "BreakerStore", "BreakerCore",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOPosix", package: "swift-nio")],
            path: "Benchmarks/BreakerClientBench"
        ),
        // A fleet of BreakerClient replicas against one breakerd: what a healthy fleet costs the
        // daemon per guarded call (bench/fleet.sh; see BENCHMARKS.md, "Fleet scale").
        .executableTarget(
            name: "breaker-fleet",
            dependencies: ["BreakerClient", "BreakerCore",
                           .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/BreakerFleetBench"
        ),
        // A small service guarding SQLite queries with the client.
        .executableTarget(
            name: "ExampleService",
            dependencies: ["BreakerClient", "CSQLite", .product(name: "Logging", package: "swift-log")],
            path: "Examples/ExampleService"
        ),
        // Load generator for breakerd and Redis over real TCP (plain sockets, poll, one thread per worker).
        .executableTarget(
            name: "breaker-bench",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // glibc's posix_spawn_file_actions_addclosefrom_np, for the tests' ChildProcess.
        .systemLibrary(name: "CSpawn", path: "Tests/CSpawn"),
        // A plain blocking socket client the server and daemon tests share.
        .target(
            name: "BreakerTestSupport",
            dependencies: [
                "BreakerWire", "BreakerTLS", "BreakerLine", "BreakerSync", "CSpawn",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/BreakerTestSupport"
        ),
        // The BreakerStorage contract and its fixtures, run by every implementation's tests.
        .target(
            name: "BreakerStorageContract",
            dependencies: ["BreakerStore", "BreakerCore"],
            path: "Tests/BreakerStorageContract"
        ),
        .testTarget(name: "BreakerCoreTests", dependencies: ["BreakerCore"]),
        .testTarget(name: "BreakerWireTests", dependencies: ["BreakerWire", "BreakerCore", "BreakerTestSupport"]),
        .testTarget(
            name: "BreakerStoreTests",
            dependencies: [
                "BreakerSync", "BreakerStore", "BreakerCore", "CSQLite", "BreakerStorageContract", "BreakerTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Against a real PostgreSQL cluster the tests start (Debian's postgresql package).
        .testTarget(
            name: "BreakerPostgresTests",
            dependencies: [
                "BreakerPostgres", "BreakerStore", "BreakerCore", "BreakerStorageContract", "BreakerTestSupport", "BreakerSync",
                "BreakerWire", "BreakerClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BreakerServerTests",
            dependencies: [
                "BreakerServer", "BreakerWire", "BreakerStore", "BreakerCore", "BreakerTestSupport", "BreakerTLS",
                "BreakerPostgres",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "BreakerHTTPTests",
            dependencies: [
                "BreakerHTTP", "BreakerServer", "BreakerStore", "BreakerCore", "BreakerWire", "BreakerTestSupport", "BreakerTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "BreakerClientTests",
            dependencies: [
                "BreakerSync", "BreakerClient", "BreakerServer", "BreakerStore", "BreakerWire", "BreakerCore", "BreakerTestSupport", "BreakerTLS",
                "BreakerLine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "BreakerdTests", dependencies: ["BreakerWire", "BreakerTestSupport", "CSQLite"]),
        .testTarget(name: "BreakerctlTests", dependencies: ["BreakerWire", "BreakerTestSupport"]),
        .testTarget(name: "BreakerTestSupportTests", dependencies: ["BreakerTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
