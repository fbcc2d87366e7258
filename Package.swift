// swift-tools-version:6.1
import PackageDescription

/// Upcoming features every target builds with: existentials spelled `any`.
/// (MemberImportVisibility is left off: with C modules such as NIO's CNIOLinux it attributes `sockaddr_in`'s
/// members to whichever module the importer met first, so a clean build failed where an incremental one passed.)
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "mirrord",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mirrord", targets: ["mirrord"]),
        .executable(name: "mirrorctl", targets: ["mirrorctl"]),
        .library(name: "ProxyConfig", targets: ["ProxyConfig"]),
        .library(name: "ProxyCore", targets: ["ProxyCore"]),
        .library(name: "RegistryMirror", targets: ["RegistryMirror"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Pure configuration: Envoy v3 model, YAML decoding with positions, validation, diff, route matching.
        .target(
            name: "ProxyConfig",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        // Runtime core: snapshots of validated configuration and the data plane (listeners, routing, upstreams).
        .target(
            name: "ProxyCore",
            dependencies: [
                "ProxyConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The registry mirror: OCI grammar, the verified blob store (the registry filter follows); the proxy never
        // depends on it. swift-crypto for SHA-256 (a second BoringSSL copy; hand-rolled hashing is not an option).
        .target(
            name: "RegistryMirror",
            dependencies: [
                "ProxyConfig", "ProxyCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // `mirrorctl` as a library so tests run its commands in process.
        .target(
            name: "MirrorCLI",
            dependencies: [
                "ProxyConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // `mirrord` as a library: flags, embedded default configuration, start-up.
        .target(
            name: "MirrorDaemon",
            dependencies: [
                "ProxyConfig", "ProxyCore", "RegistryMirror",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(name: "mirrord", dependencies: ["MirrorDaemon"], swiftSettings: strictSettings),
        .executableTarget(name: "mirrorctl", dependencies: ["MirrorCLI"], swiftSettings: strictSettings),
        // Benchmark driver for scripts/bench.sh: generates large configurations and times route matching.
        .executableTarget(
            name: "mirrord-bench",
            dependencies: ["ProxyConfig", "ProxyCore", .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        // Helpers the test targets share: ports for servers that must name theirs up front, LDS templates.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProxyConfigTests",
            dependencies: ["ProxyConfig", "TestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProxyCoreTests",
            dependencies: [
                "ProxyCore", "ProxyConfig", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "RegistryMirrorTests",
            dependencies: [
                "RegistryMirror", "ProxyCore", "ProxyConfig", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MirrorCLITests",
            dependencies: [
                "MirrorCLI", "MirrorDaemon", "ProxyConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
