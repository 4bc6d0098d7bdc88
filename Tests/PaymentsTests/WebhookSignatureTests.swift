import Foundation
import Payments
import ShopDomain
import Testing

@Suite("Webhook signatures")
struct WebhookSignatureTests {
    static let secret = "whsec_unit_test"
    static let payload = Array(
        #"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1780000000,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":500,"currency":"usd","status":"succeeded","metadata":{"orderId":"o1"}}}}"#
            .utf8)
    static let now = Date(timeIntervalSince1970: 1_780_000_000)

    @Test func signedPayloadVerifies() throws {
        let signature = WebhookSignature(secret: Self.secret)
        let header = signature.header(for: Self.payload, timestamp: 1_780_000_000)
        #expect(header.hasPrefix("t=1780000000,v1="))
        try signature.verify(Self.payload, header: header, now: Self.now)
    }

    @Test func forgedTamperedOrMissingSignaturesAreRefused() {
        let signature = WebhookSignature(secret: Self.secret)
        let header = signature.header(for: Self.payload, timestamp: 1_780_000_000)
        #expect(throws: WebhookError.signatureMismatch) {
            try WebhookSignature(secret: "whsec_other").verify(Self.payload, header: header, now: Self.now)
        }
        #expect(throws: WebhookError.signatureMismatch) {
            try signature.verify(Self.payload + [0x0a], header: header, now: Self.now)
        }
        #expect(throws: WebhookError.missingSignature) { try signature.verify(Self.payload, header: nil, now: Self.now) }
        #expect(throws: WebhookError.malformedSignature) { try signature.verify(Self.payload, header: "garbage", now: Self.now) }
        #expect(throws: WebhookError.malformedSignature) {
            try signature.verify(Self.payload, header: "t=1780000000,v0=abc", now: Self.now)
        }
    }

    @Test func timestampsOutsideFiveMinutesEitherWayAreRefused() throws {
        let signature = WebhookSignature(secret: Self.secret)
        for offset: Int64 in [-300, -1, 0, 1, 300] {
            try signature.verify(
                Self.payload, header: signature.header(for: Self.payload, timestamp: 1_780_000_000 + offset), now: Self.now)
        }
        #expect(throws: WebhookError.timestampOutsideTolerance(skewSeconds: 301)) {
            try signature.verify(Self.payload, header: signature.header(for: Self.payload, timestamp: 1_780_000_000 - 301), now: Self.now)
        }
        // Stricter than Stripe's library: a signature from the future is refused too.
        #expect(throws: WebhookError.timestampOutsideTolerance(skewSeconds: -301)) {
            try signature.verify(Self.payload, header: signature.header(for: Self.payload, timestamp: 1_780_000_000 + 301), now: Self.now)
        }
    }

    @Test func anyMatchingV1EntryIsEnoughForSecretRotation() throws {
        let old = WebhookSignature(secret: "whsec_old")
        let current = WebhookSignature(secret: Self.secret)
        let oldV1 = old.header(for: Self.payload, timestamp: 1_780_000_000).split(separator: ",")[1]
        let currentV1 = current.header(for: Self.payload, timestamp: 1_780_000_000).split(separator: ",")[1]
        let header = "t=1780000000,\(oldV1),\(currentV1)"
        try current.verify(Self.payload, header: header, now: Self.now)
        try old.verify(Self.payload, header: header, now: Self.now)
        #expect(throws: WebhookError.signatureMismatch) {
            try WebhookSignature(secret: "whsec_third").verify(Self.payload, header: header, now: Self.now)
        }
    }

    @Test func eventsDecodeFromStripeJSON() throws {
        let event = try WebhookEvent.decode(Self.payload)
        #expect(event.id == "evt_1")
        #expect(event.kind == .paymentSucceeded)
        #expect(event.paymentId == "pi_1")
        #expect(event.orderId == "o1")
        #expect(event.amount == 500)
        #expect(event.currency == "USD", "Stripe writes currencies in lower case; ours are upper case")
        #expect(event.status == .succeeded)
        let refunded = try WebhookEvent.decode(
            Array(
                #"{"id":"evt_2","object":"event","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_1","amount":500,"amount_refunded":500,"currency":"usd"}}}"#
                    .utf8))
        #expect(refunded.kind == .chargeRefunded)
        #expect(refunded.paymentId == "pi_1")
        #expect(refunded.amountRefunded == 500)
        let failed = try WebhookEvent.decode(
            Array(
                #"{"id":"evt_3","type":"payment_intent.payment_failed","created":1,"data":{"object":{"id":"pi_2","object":"payment_intent","amount":5,"currency":"usd","status":"requires_payment_method","last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds","message":"No money."}}}}"#
                    .utf8))
        #expect(failed.failureCode == "insufficient_funds")
        #expect(failed.failureMessage == "No money.")
        #expect(
            try WebhookEvent.decode(
                Array(#"{"id":"evt_4","type":"customer.created","created":1,"data":{"object":{"id":"cus_1","object":"customer"}}}"#.utf8)
            ).kind == nil)
        #expect(throws: WebhookError.self) { try WebhookEvent.decode(Array("not json".utf8)) }
    }
}

/// Our signatures against Stripe's official Python library, both ways (`scripts/stripe_signatures.py`).
@Suite("Webhook signatures against Stripe's library")
struct StripeLibraryCompatibilityTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static var python: String { root.appendingPathComponent(".venv/bin/python").path }
    static var script: String { root.appendingPathComponent("scripts/stripe_signatures.py").path }

    /// Runs the script; under `./scripts/test` the venv holds `stripe`, and without it this fails, never skips.
    static func run(_ arguments: [String], stdin: [UInt8]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("\(python) is missing: run the suite through ./scripts/test, which makes .venv with Stripe's library")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(stdin))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static let secret = "whsec_compat_test"
    static let payload = WebhookSignatureTests.payload

    @Test func stripeAcceptsOurHeaders() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let ours = WebhookSignature(secret: Self.secret).header(for: Self.payload, timestamp: now)
        let verdict = try Self.run(["verify", "--secret", Self.secret, "--header", ours], stdin: Self.payload)
        #expect(verdict.status == 0, "\(verdict.output)")
        #expect(verdict.output == "ok")
        // And refuses ours made with another secret: the check is real.
        let wrong = WebhookSignature(secret: "whsec_wrong").header(for: Self.payload, timestamp: now)
        #expect(try Self.run(["verify", "--secret", Self.secret, "--header", wrong], stdin: Self.payload).status == 1)
    }

    @Test func weAcceptStripesHeaders() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let made = try Self.run(["sign", "--secret", Self.secret, "--timestamp", String(now)], stdin: Self.payload)
        #expect(made.status == 0, "\(made.output)")
        #expect(made.output.hasPrefix("t=\(now),v1="))
        try WebhookSignature(secret: Self.secret).verify(Self.payload, header: made.output, now: Date(timeIntervalSince1970: Double(now)))
        #expect(
            made.output == WebhookSignature(secret: Self.secret).header(for: Self.payload, timestamp: now), "byte for byte the same header")
    }

    @Test func severalV1EntriesFromStripeAreAccepted() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let old = try Self.run(["sign", "--secret", "whsec_old_secret", "--timestamp", String(now)], stdin: Self.payload).output
        let current = try Self.run(["sign", "--secret", Self.secret, "--timestamp", String(now)], stdin: Self.payload).output
        let rotated = old + "," + current.split(separator: ",")[1]
        #expect(try Self.run(["verify", "--secret", Self.secret, "--header", rotated], stdin: Self.payload).status == 0)
        try WebhookSignature(secret: Self.secret).verify(Self.payload, header: rotated, now: Date(timeIntervalSince1970: Double(now)))
    }

    @Test func futureTimestampsStripeAcceptsWeRefuse() throws {
        let future = Int64(Date().timeIntervalSince1970) + 600
        let header = try Self.run(["sign", "--secret", Self.secret, "--timestamp", String(future)], stdin: Self.payload).output
        #expect(
            try Self.run(["verify", "--secret", Self.secret, "--header", header], stdin: Self.payload).status == 0, "the library accepts it"
        )
        #expect(throws: WebhookError.self) {
            try WebhookSignature(secret: Self.secret).verify(Self.payload, header: header, now: Date())
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite("Webhook signature edges")
struct WebhookSignatureEdgeTests {
    @Test(arguments: [Int64.min, Int64.max, Int64.min + 1, -1])
    func extremeTimestampsAreRefusedNotTrapped(_ timestamp: Int64) {
        let signature = WebhookSignature(secret: "whsec_edges")
        let payload = Array("{}".utf8)
        #expect(throws: WebhookError.self) {
            try signature.verify(
                payload, header: signature.header(for: payload, timestamp: timestamp), now: Date(timeIntervalSince1970: 1_780_000_000))
        }
    }
}
