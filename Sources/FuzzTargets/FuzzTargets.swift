import LambdaHost
import NIOCore
import Payments
import ShopAPI
import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The inputs that come from outside the process, each driven with arbitrary bytes by libFuzzer
/// (`scripts/fuzz`, through the ShopFuzz executable) and replayed from `Tests/FuzzCorpus/<target>/`
/// by FuzzTargetsTests in every test run. A target may throw; it must never crash.
public enum FuzzTargets {
    public static let names = ["apigateway", "json", "cursor", "webhook"]

    public static func run(_ name: String, _ bytes: [UInt8]) {
        switch name {
        case "apigateway": apiGatewayEvent(bytes)
        case "json": requestBodies(bytes)
        case "cursor": cursor(bytes)
        case "webhook": webhook(bytes)
        default: fatalError("unknown fuzz target \(name); one of \(names)")
        }
    }

    /// API Gateway v2 and v1 events, as the Lambda functions receive them.
    public static func apiGatewayEvent(_ bytes: [UInt8]) {
        _ = try? APIGatewayEvents.decode(ByteBuffer(bytes: bytes))
    }

    /// The JSON request bodies, through the API's decoder and the domain's validation.
    public static func requestBodies(_ bytes: [UInt8]) {
        if let order = try? ShopRequestDecoder.decode(OrderRequest.self, from: bytes) { _ = try? order.validate() }
        if let fields = try? ShopRequestDecoder.decode(ProductFields.self, from: bytes) { _ = try? fields.validated() }
        if let card = try? ShopRequestDecoder.decode(CardDetails.self, from: bytes) {
            _ = TestCards.problems(card, now: Date(timeIntervalSince1970: 1_780_000_000))
            _ = TestCards.outcome(of: card.number)
        }
        _ = try? ShopRequestDecoder.decode(JSONValue.self, from: bytes)
    }

    static let codec = CursorCodec(secret: Array("fuzz-cursor-secret".utf8))

    /// Page cursors, as any client may send them.
    public static func cursor(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? codec.decode(text, scope: "products|")
        _ = try? codec.decode(text, scope: "orders|u1|")
    }

    static let signature = WebhookSignature(secret: "whsec_fuzz")

    /// Webhook deliveries: the first line is the Stripe-Signature header, the rest the body.
    public static func webhook(_ bytes: [UInt8]) {
        let split = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
        let header = String(decoding: bytes[..<split], as: UTF8.self)
        let body = Array(bytes[min(split + 1, bytes.endIndex)...])
        _ = try? signature.verify(body, header: header, now: Date(timeIntervalSince1970: 1_780_000_000))
        _ = try? WebhookEvent.decode(body)
    }
}
