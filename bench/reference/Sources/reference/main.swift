#if canImport(Glibc)
import Glibc
#endif
import Hummingbird

/// Three fields, encoded by Hummingbird's default JSON response encoder.
struct Item: ResponseEncodable {
    let id: String
    let name: String
    let price: Int
}

let router = Router()
router.get("products/{id}") { _, context -> Item in
    Item(id: try context.parameters.require("id"), name: "Espresso cup", price: 1999)
}
let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 8081
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "reference"),
    onServerRunning: { channel in
        // Straight to the file descriptor: stdout is block-buffered when redirected to a log.
        let line = "reference is listening on http://127.0.0.1:\(channel.localAddress?.port ?? port)\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
    }
)
try await app.runService()
