// swift-tools-version:6.0
// The reference for bench/compare: the smallest Hummingbird 2 application that answers a product-shaped
// `GET /products/{id}`, built with the same Hummingbird version as the shop. Not part of the shop.
import PackageDescription

let package = Package(
    name: "reference",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1")
    ],
    targets: [
        .executableTarget(name: "reference", dependencies: [.product(name: "Hummingbird", package: "hummingbird")])
    ]
)
