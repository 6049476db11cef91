// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Pyre",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pyre", targets: ["pyre"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .target(name: "PyreCore"),
        // Process spawning and the POSIX file and symbol helpers the stores and providers share.
        .target(name: "PyrePOSIX", dependencies: ["PyreCore"]),
        // pyre.yml: its YAML, validation, and errors that name the file, line and field.
        .target(name: "PyreManifest", dependencies: [
            "PyreCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "PyreImages", dependencies: [
            "PyreCore", "PyrePOSIX",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PyreLocal", dependencies: [
            "PyreCore", "PyrePOSIX", "PyreImages", "PyreLogs",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PyreDeploy", dependencies: [
            "PyreCore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Health checks over the network (HTTP, TCP), kept out of the engine, which needs Core only.
        .target(name: "PyreHealth", dependencies: [
            "PyreCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .target(name: "PyreEvents", dependencies: [
            "PyreCore", "PyrePOSIX",
            .product(name: "GRDB", package: "GRDB.swift"),
            // The SQLite C API, which replays read columns with directly.
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        .target(name: "PyreEventsPostgres", dependencies: [
            "PyreEvents", "PyreCore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // What the agent's APIs say and how to reach them: routes, Codable types, typed progress
        // and its text, the one HTTP client. The CLI needs this, not the agent.
        .target(name: "PyreAPI", dependencies: [
            "PyreCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The engine's progress (bakes, rollouts) as the API's typed events, for the agent and `pyre bake`.
        .target(name: "PyreProgress", dependencies: ["PyreAPI", "PyreImages", "PyreDeploy"]),
        .target(name: "PyreAgent", dependencies: [
            "PyreAPI", "PyreProgress", "PyreCore", "PyreManifest", "PyreImages", "PyreLocal", "PyreDeploy", "PyreHealth", "PyreEvents", "PyreEventsPostgres",
            "PyreDNS", "PyreEntrypoints", "PyreAWS",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // recvmmsg and sendmmsg, which Swift's Glibc module does not import.
        .target(name: "CPyreDatagram"),
        .target(name: "PyreDNS", dependencies: [
            "CPyreDatagram", "PyreCore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // epoll, eventfd and accept4, which Swift's Glibc module does not import.
        .target(name: "CPyreEpoll"),
        .target(name: "PyreEntrypoints", dependencies: [
            "CPyreEpoll",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "PyreLogs", dependencies: [
            "PyreCore", "PyrePOSIX",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // SigV4 signing, credentials, errors and retries, EC2 and Route 53 clients.
        .target(name: "PyreAWS", dependencies: [
            "PyreCore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PyreTesting", dependencies: [
            "PyreCore", "PyrePOSIX", "PyreAWS", .product(name: "Logging", package: "swift-log"),
        ]),
        // Starts a namespace-mode server in one process; next to `pyre` so the provider finds it.
        .executableTarget(name: "pyre-sandbox"),
        // The CLI's commands but `up`: clients of the agent's APIs, linked without the agent. The
        // events store only for `pyre image gc` without an agent, which reads the agent's journal.
        .target(name: "PyreCLI", dependencies: [
            "PyreAPI", "PyreProgress", "PyreCore", "PyreManifest", "PyreImages", "PyreEvents", "PyreAWS",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // `pyre`: the commands, and `up`, which runs the agent.
        .executableTarget(name: "pyre", dependencies: [
            "PyreCLI", "PyreAgent", "PyreLocal", "pyre-sandbox",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "PyreBench", dependencies: [
            "PyreDeploy", "PyreHealth", "PyreLocal", "PyreImages", "PyreTesting", "PyreDNS", "PyreEntrypoints", "PyreEvents",
            "PyreEventsPostgres", "PyreLogs", "PyreAWS", "PyreAgent", "pyre-sandbox", "pyre",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "benchmarks/PyreBench"),
        // The fuzzers and the generators they feed on, shared by the fuzz executables and the tests.
        .target(name: "PyreFuzzing", dependencies: ["PyreCore", "PyreDNS", "PyreLogs"]),
        // Feeds the DNS decoder and responder random and mutated packets (fuzz/README.md).
        .executableTarget(name: "PyreDNSFuzz", dependencies: ["PyreDNS", "PyreFuzzing"], path: "fuzz/PyreDNSFuzz"),
        // Feeds the syslog parser and framer random and mutated messages (fuzz/README.md).
        .executableTarget(name: "PyreLogsFuzz", dependencies: ["PyreLogs", "PyreFuzzing"], path: "fuzz/PyreLogsFuzz"),
        .testTarget(name: "PyreCoreTests", dependencies: ["PyreCore", "PyreManifest", "PyrePOSIX", "PyreTesting"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PyreImagesTests", dependencies: ["PyreImages", "PyreTesting", "pyre-sandbox"]),
        .testTarget(name: "PyreLocalTests", dependencies: [
            "PyreLocal", "PyrePOSIX", "PyreTesting", "pyre-sandbox", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "PyreHealthTests", dependencies: [
            "PyreHealth", "PyreCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "PyreDeployTests", dependencies: [
            "PyreDeploy", "PyreTesting",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "PyreEventsTests", dependencies: [
            "PyreEvents", "PyreEventsPostgres", "PyreTesting",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "PyreDNSTests", dependencies: [
            "PyreDNS", "PyreFuzzing", "PyreTesting",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "PyreEntrypointsTests", dependencies: [
            "PyreEntrypoints",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "PyreLogsTests", dependencies: [
            "PyreLogs", "PyreFuzzing", "PyreTesting",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "PyreAWSTests", dependencies: [
            "PyreAWS", "PyreCore", "PyreTesting", "PyreDeploy",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "PyreAPITests", dependencies: ["PyreAPI", "PyreCore"]),
        .testTarget(name: "PyreAgentTests", dependencies: [
            "PyreAgent", "PyreAPI", "PyreTesting", "PyreDeploy", "PyreHealth", "PyreEvents", "PyreLogs",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "X509", package: "swift-certificates"),
        ]),
        // Scripts/ holds the Python clients the tests run by path.
        .testTarget(name: "IntegrationTests", dependencies: ["PyreAgent", "PyreAPI", "PyreTesting", "PyreAWS", "PyreImages", "PyreLocal", "pyre"],
                    exclude: ["Scripts"]),
    ],
    swiftLanguageModes: [.v6]
)
