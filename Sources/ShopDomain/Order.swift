#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The life of an order. Only the moves in `allowedTransitions` exist.
public enum OrderStatus: String, Sendable, Codable, CaseIterable, Hashable {
    case pendingPayment = "PENDING_PAYMENT"
    case paid = "PAID"
    case fulfilled = "FULFILLED"
    case cancelled = "CANCELLED"

    /// Every legal move of the state machine.
    public static let allowedTransitions: Set<Transition> = [
        Transition(from: .pendingPayment, to: .paid),
        Transition(from: .pendingPayment, to: .cancelled),
        Transition(from: .paid, to: .fulfilled),
        Transition(from: .paid, to: .cancelled),
    ]

    /// Whether the state machine allows moving from `self` to `next`.
    public func canTransition(to next: OrderStatus) -> Bool {
        Self.allowedTransitions.contains(Transition(from: self, to: next))
    }

    /// The states from which `target` can be reached.
    public static func sources(of target: OrderStatus) -> Set<OrderStatus> {
        Set(allowedTransitions.filter { $0.to == target }.map(\.from))
    }

    /// Whether entering this state gives the order's stock back to the catalog.
    public var returnsStock: Bool { self == .cancelled }

    /// A move between two states.
    public struct Transition: Sendable, Hashable {
        public var from: OrderStatus
        public var to: OrderStatus
        public init(from: OrderStatus, to: OrderStatus) {
            self.from = from
            self.to = to
        }
    }
}

/// One line of an order, with the price frozen at the moment the order was placed.
public struct OrderLine: Sendable, Codable, Equatable, Hashable {
    public var productId: String
    public var name: String
    public var unitPrice: Int
    public var quantity: Int
    public var lineTotal: Int

    public init(productId: String, name: String, unitPrice: Int, quantity: Int) {
        self.productId = productId
        self.name = name
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.lineTotal = unitPrice * quantity
    }
}

/// An order placed by one user.
public struct Order: Sendable, Codable, Equatable, Hashable {
    public var id: String
    public var userId: String
    public var lines: [OrderLine]
    public var total: Int
    public var currency: String
    public var status: OrderStatus
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date

    public init(
        id: String, userId: String, lines: [OrderLine], total: Int, currency: String,
        status: OrderStatus, createdAt: Date, updatedAt: Date, expiresAt: Date
    ) {
        self.id = id
        self.userId = userId
        self.lines = lines
        self.total = total
        self.currency = currency
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.expiresAt = expiresAt
    }

    /// Prices a validated request against the catalog's current products.
    ///
    /// The client's idea of a price is never used: every unit price comes from `catalog`.
    public static func price(
        id: String, userId: String, request: OrderRequest, catalog: [String: Product],
        at now: Date, ttl: Duration
    ) throws(OrderPricingError) -> Order {
        var lines: [OrderLine] = []
        var currency: String?
        for line in request.lines {
            guard let product = catalog[line.productId] else { throw .unknownProduct(line.productId) }
            if let currency, currency != product.currency { throw .mixedCurrencies }
            currency = product.currency
            lines.append(OrderLine(productId: product.id, name: product.name, unitPrice: product.price, quantity: line.quantity))
        }
        let total = lines.reduce(0) { $0 + $1.lineTotal }
        return Order(
            id: id, userId: userId, lines: lines, total: total, currency: currency ?? "USD",
            status: .pendingPayment, createdAt: now, updatedAt: now,
            expiresAt: now.addingTimeInterval(ttl.seconds))
    }
}

/// Why an order request could not be priced.
public enum OrderPricingError: Error, Sendable, Equatable {
    case unknownProduct(String)
    case mixedCurrencies
}

/// What a shopper asks for: product ids and quantities, nothing else.
public struct OrderRequest: Sendable, Codable, Equatable, Hashable {
    public struct Line: Sendable, Codable, Equatable, Hashable {
        public var productId: String
        public var quantity: Int
        public init(productId: String, quantity: Int) {
            self.productId = productId
            self.quantity = quantity
        }
    }

    public var lines: [Line]

    public init(lines: [Line]) { self.lines = lines }

    /// Checks line count, quantities and duplicate products against the contract's limits.
    public func validate() throws(DomainError) {
        var problems: [FieldProblem] = []
        if !(Limits.orderLinesRange ~= lines.count) {
            problems.append(.init(field: "lines", problem: "must have \(Limits.orderLinesRange.lowerBound) to \(Limits.orderLinesRange.upperBound) lines"))
        }
        var seen: Set<String> = []
        for (index, line) in lines.enumerated() {
            if line.productId.isEmpty || line.productId.utf8.count > Limits.idMaxBytes {
                problems.append(.init(field: "lines[\(index)].productId", problem: "must be a product id"))
            }
            if !(Limits.lineQuantityRange ~= line.quantity) {
                problems.append(.init(field: "lines[\(index)].quantity", problem: "must be \(Limits.lineQuantityRange.lowerBound) to \(Limits.lineQuantityRange.upperBound)"))
            }
            if !seen.insert(line.productId).inserted {
                problems.append(.init(field: "lines[\(index)].productId", problem: "appears more than once; use one line per product"))
            }
        }
        guard problems.isEmpty else { throw .invalid(problems) }
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
