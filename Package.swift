// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

// No linker flags of our own: every build links with the platform's settings (PIE) and whichever linker it is
// given, and the package has no unsafe flags, so it can be used as a dependency. The code layout of the release
// binary (a section per function, gold's --section-ordering-file with link/shop.order) is applied only by
// scripts/build-release, the build the README names for running the store: docs/BENCHMARKS.md, "Memory".

let package = Package(
    name: "ServerlessShop",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shop", targets: ["shop"]),
        .executable(name: "ShopLambda", targets: ["ShopLambda"]),
    ],
    dependencies: [
        // No default traits: FullFoundation would link Foundation with ICU into every binary, and
        // ConfigurationSupport (swift-configuration) is not used.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.0.0"),
        // Already in the graph through async-http-client; named for ShopMail's SMTP client (STARTTLS).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.0.0"),
        // Metrics through one API (ShopTelemetry's table); Prometheus's text format for `shop serve` only.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .target(
            name: "ShopDomain",
            dependencies: ["ShopSupport"],
            swiftSettings: swiftSettings
        ),
        // Text routines FoundationEssentials lacks (trimming, hex, base64url, percent-encoding).
        .target(
            name: "ShopSupport",
            swiftSettings: swiftSettings
        ),
        // Metrics and traces: the table of every metric (name, type, labels, help), the CloudWatch EMF backend the
        // functions flush once per invocation, W3C/X-Ray trace contexts and the X-Ray daemon's UDP emitter.
        // FoundationEssentials only: the Lambda links it. The Prometheus backend lives in ShopLocal.
        .target(
            name: "ShopTelemetry",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShopStorage",
            dependencies: ["ShopDomain", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StorageTestKit",
            dependencies: ["ShopDomain", "ShopStorage"],
            swiftSettings: swiftSettings
        ),
        // The services ./scripts/test starts for the tests (moto, localstripe), found by their environment variables.
        .target(
            name: "TestServices",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SQLiteStore",
            dependencies: [
                "ShopDomain", "ShopStorage", "ShopSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AWSWire",
            dependencies: [
                "ShopSupport", "ShopTelemetry",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "S3ImageStore",
            dependencies: [
                "ShopDomain", "ShopStorage", "AWSWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DynamoDBStore",
            dependencies: [
                "ShopDomain", "ShopSupport", "ShopStorage", "ShopTelemetry", "AWSWire",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Identity",
            dependencies: [
                "ShopDomain", "ShopSupport", "ShopStorage", "AWSWire",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // PaymentGateway (Stripe; the simulator lives in ShopLocal), webhook signatures, test cards.
        .target(
            name: "Payments",
            dependencies: [
                "ShopDomain", "ShopSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShopAPI",
            dependencies: [
                "ShopDomain", "ShopSupport", "ShopStorage", "ShopTelemetry", "Identity", "Payments",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LambdaHost",
            dependencies: [
                "ShopSupport", "ShopTelemetry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Customer emails (issue 19): Mustache templates compiled in, RFC 5322 messages, and the senders (.eml files,
        // SMTP on SwiftNIO with STARTTLS, SES v2 through AWSWire). FoundationEssentials only: the Lambda links it.
        .target(
            name: "ShopMail",
            dependencies: [
                "ShopDomain", "ShopSupport", "AWSWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The composition root: configuration + what a host opened -> ShopServices. No SQLite.
        .target(
            name: "ShopAssembly",
            dependencies: [
                "ShopAPI", "ShopDomain", "ShopStorage", "ShopSupport", "Identity", "DynamoDBStore", "S3ImageStore", "AWSWire", "Payments",
                "ShopMail",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What only `shop serve` has: the SQLite file, key files, image files, the sweep timer, the demo catalog.
        .target(
            name: "ShopLocal",
            dependencies: [
                "ShopAssembly", "ShopAPI", "ShopDomain", "ShopSupport", "ShopStorage", "SQLiteStore", "Identity", "Payments",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The Prometheus backend and the metrics listener of `shop serve`.
                "ShopTelemetry",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Lambda functions' `bootstrap`: no SQLiteStore/GRDB, no local-only code.
        .executableTarget(
            name: "ShopLambda",
            dependencies: [
                "LambdaHost", "ShopAssembly", "ShopAPI", "ShopStorage", "ShopDomain", "ShopTelemetry",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzz targets (the inputs that come from outside), replayed by FuzzTargetsTests and driven by
        // libFuzzer through ShopFuzz (scripts/fuzz builds it with -sanitize=fuzzer in .build-fuzz).
        .target(
            name: "FuzzTargets",
            dependencies: [
                "LambdaHost", "ShopAPI", "ShopDomain", "ShopSupport", "Payments",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ShopFuzz",
            dependencies: ["FuzzTargets"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "shop",
            dependencies: [
                "ShopDomain", "ShopStorage", "ShopAssembly", "ShopLocal", "DynamoDBStore", "Identity", "ShopAPI", "ShopTelemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PaymentsTests",
            dependencies: [
                "Payments", "ShopDomain", "ShopSupport", "TestServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShopTelemetryTests",
            dependencies: [
                "ShopTelemetry", "ShopLocal",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuzzTargetsTests",
            dependencies: ["FuzzTargets"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShopSupportTests",
            dependencies: ["ShopSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LambdaHostTests",
            dependencies: [
                "LambdaHost",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShopDomainTests",
            dependencies: ["ShopDomain", "ShopSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQLiteStoreTests",
            dependencies: ["SQLiteStore", "StorageTestKit", "ShopStorage", "ShopDomain"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "S3ImageStoreTests",
            dependencies: [
                "S3ImageStore", "ShopAPI", "ShopStorage", "ShopDomain", "SQLiteStore", "AWSWire", "TestServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DynamoDBStoreTests",
            dependencies: [
                "DynamoDBStore", "StorageTestKit", "TestServices", "ShopStorage", "ShopDomain", "AWSWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShopMailTests",
            dependencies: [
                "ShopMail", "ShopDomain", "ShopSupport", "AWSWire", "TestServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AWSWireTests",
            dependencies: [
                "AWSWire", "ShopSupport", "ShopTelemetry", "TestServices",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IdentityTests",
            dependencies: [
                "Identity", "SQLiteStore", "ShopStorage", "ShopDomain", "ShopSupport",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShopAPITests",
            dependencies: [
                "ShopAPI", "ShopAssembly", "ShopLocal", "SQLiteStore", "DynamoDBStore", "Identity", "ShopStorage", "ShopDomain",
                "ShopSupport", "AWSWire", "Payments", "TestServices",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
