import HTTPTypes
import Hummingbird
import Payments
import ShopDomain
import ShopSupport

/// `/payment`: start paying an order, the gateway's webhook, the gateway's public config, and (with the
/// simulator) the confirm and 3-D Secure steps that Stripe.js would perform against Stripe.
struct PaymentsController<Context: ShopRequestContext>: Sendable {
    let payments: PaymentService
    let simulator: (any PaymentSimulator)?

    struct StartBody: Decodable { var orderId: String }
    struct ConfirmBody: Decodable {
        var paymentId: String
        var card: CardDetails
    }
    struct AuthenticateBody: Decodable {
        var paymentId: String
        var outcome: String
    }

    /// `POST /payment`'s answer.
    struct Started: ResponseEncodable {
        var paymentId: String
        var orderId: String
        var clientSecret: String
        var provider: PaymentProvider
        var status: PaymentStatus
        var amount: Int
        var currency: String
    }

    struct Config: ResponseEncodable {
        var provider: PaymentProvider
        var publishableKey: String?
    }

    func addRoutes(to router: Router<Context>) {
        let group = router.group("payment")
        group.post(use: start)
        group.get("config", use: config)
        group.post("webhook", use: webhook)
        if simulator != nil {
            group.post("simulator/confirm", use: confirm)
            group.post("simulator/authenticate", use: authenticate)
            group.get("simulator/payments/{id}", use: inspect)
        }
    }

    @Sendable func config(_ request: Request, context: Context) async throws -> Config {
        Config(provider: payments.gateway.provider, publishableKey: payments.gateway.publishableKey)
    }

    @Sendable func start(_ request: Request, context: Context) async throws -> EditedResponse<Started> {
        let caller = try context.requireCaller()
        let body = try await request.decode(as: StartBody.self, context: context)
        try Self.checkId(body.orderId, field: "orderId")
        let payment = try await payments.start(orderId: body.orderId, caller: caller)
        context.logger.info("payment started", metadata: ["order_id": "\(payment.orderId)", "payment_id": "\(payment.id)"])
        return EditedResponse(
            status: .created, headers: [.cacheControl: "no-store"],
            response: Started(
                paymentId: payment.id, orderId: payment.orderId, clientSecret: payment.clientSecret, provider: payment.provider,
                status: payment.status, amount: payment.amount, currency: payment.currency))
    }

    /// Public: the signature is the authentication. The raw bytes are verified before anything parses them.
    @Sendable func webhook(_ request: Request, context: Context) async throws -> [String: Bool] {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Limits.requestBodyMax)
        } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "The request body is larger than 1 MiB.")
        }
        try await payments.receiveWebhook(
            payload: Array(body.readableBytesView), signature: request.headers[HTTPField.Name("Stripe-Signature")!])
        return ["received": true]
    }

    @Sendable func confirm(_ request: Request, context: Context) async throws -> GatewayPayment {
        let caller = try context.requireCaller()
        let body = try await request.decode(as: ConfirmBody.self, context: context)
        try Self.checkId(body.paymentId, field: "paymentId")
        let problems = TestCards.problems(body.card, now: payments.clock.now())
        guard problems.isEmpty else { throw APIError.invalid(problems) }
        _ = try await payments.ownPayment(id: body.paymentId, caller: caller)
        do {
            return try await simulator!.confirm(paymentId: body.paymentId, card: body.card)
        } catch {
            throw PaymentService.apiError(error)
        }
    }

    @Sendable func authenticate(_ request: Request, context: Context) async throws -> GatewayPayment {
        let caller = try context.requireCaller()
        let body = try await request.decode(as: AuthenticateBody.self, context: context)
        try Self.checkId(body.paymentId, field: "paymentId")
        guard ["approve", "fail"].contains(body.outcome) else {
            throw APIError.invalid([FieldProblem(field: "outcome", problem: "must be approve or fail")])
        }
        _ = try await payments.ownPayment(id: body.paymentId, caller: caller)
        do {
            return try await simulator!.authenticate(paymentId: body.paymentId, approve: body.outcome == "approve")
        } catch {
            throw PaymentService.apiError(error)
        }
    }

    @Sendable func inspect(_ request: Request, context: Context) async throws -> SimulatedPayment {
        let caller = try context.requireCaller()
        let id = try context.pathId()
        _ = try await payments.payment(id: id, caller: caller)
        do {
            return try await simulator!.inspect(paymentId: id)
        } catch {
            throw PaymentService.apiError(error)
        }
    }
}

extension PaymentsController {
    static func checkId(_ id: String, field: String) throws(APIError) {
        guard !id.isEmpty, id.utf8.count <= Limits.idMaxBytes else {
            throw APIError.invalid([FieldProblem(field: field, problem: "must be 1 to \(Limits.idMaxBytes) bytes")])
        }
    }
}

extension GatewayPayment: ResponseGenerator, ResponseEncodable {}
extension SimulatedPayment: ResponseGenerator, ResponseEncodable {}
extension OrderView: ResponseGenerator, ResponseEncodable {}
