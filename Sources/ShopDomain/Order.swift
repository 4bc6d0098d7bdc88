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

/// One line of an order, with the price (and the variant's name, SKU and options) frozen at the moment the order was placed.
public struct OrderLine: Sendable, Codable, Equatable, Hashable {
    public var productId: String
    /// The variant the units were taken from; for lines placed before variants existed, the product's default (its id).
    public var variantId: String
    /// The variant's SKU then; nil for lines placed before variants existed.
    public var sku: String?
    /// The variant's option values then (`{}` for a default variant).
    public var options: [String: String]
    /// The product's name with the option values: "Field Jacket — M / Navy".
    public var name: String
    public var unitPrice: Int
    public var quantity: Int
    public var lineTotal: Int
    /// The tax on this line (added to it, or included in it with tax-inclusive prices); 0 for orders placed
    /// before taxes existed.
    public var tax: Int

    public init(
        productId: String, variantId: String? = nil, sku: String? = nil, options: [String: String] = [:], name: String,
        unitPrice: Int, quantity: Int, tax: Int = 0
    ) {
        self.productId = productId
        self.variantId = variantId ?? productId
        self.sku = sku
        self.options = options
        self.name = name
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.lineTotal = unitPrice * quantity
        self.tax = tax
    }

    enum CodingKeys: String, CodingKey { case productId, variantId, sku, options, name, unitPrice, quantity, lineTotal, tax }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        productId = try c.decode(String.self, forKey: .productId)
        variantId = try c.decodeIfPresent(String.self, forKey: .variantId) ?? productId
        sku = try c.decodeIfPresent(String.self, forKey: .sku)
        options = try c.decodeIfPresent([String: String].self, forKey: .options) ?? [:]
        name = try c.decode(String.self, forKey: .name)
        unitPrice = try c.decode(Int.self, forKey: .unitPrice)
        quantity = try c.decode(Int.self, forKey: .quantity)
        lineTotal = try c.decodeIfPresent(Int.self, forKey: .lineTotal) ?? unitPrice * quantity
        tax = try c.decodeIfPresent(Int.self, forKey: .tax) ?? 0
    }

    /// Every field, `sku` as `null` for a line placed before variants existed.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(productId, forKey: .productId)
        try c.encode(variantId, forKey: .variantId)
        try c.encode(sku, forKey: .sku)
        try c.encode(options, forKey: .options)
        try c.encode(name, forKey: .name)
        try c.encode(unitPrice, forKey: .unitPrice)
        try c.encode(quantity, forKey: .quantity)
        try c.encode(lineTotal, forKey: .lineTotal)
        try c.encode(tax, forKey: .tax)
    }
}

/// The shipping method an order was placed with, as it was then: `price` is the effective price charged
/// (0 where the method's free-shipping threshold applied).
public struct OrderShippingMethod: Sendable, Codable, Equatable, Hashable {
    public var id: String
    public var name: String
    public var price: Int
    public var minDays: Int
    public var maxDays: Int

    public init(id: String, name: String, price: Int, minDays: Int, maxDays: Int) {
        self.id = id
        self.name = name
        self.price = price
        self.minDays = minDays
        self.maxDays = maxDays
    }
}

/// Where and how a fulfilled order was sent. Every field but `shippedAt` is optional: an admin may ship without tracking.
public struct Shipment: Sendable, Codable, Equatable, Hashable {
    public var carrier: String?
    public var trackingNumber: String?
    public var trackingUrl: String?
    public var shippedAt: Date

    public init(carrier: String?, trackingNumber: String?, trackingUrl: String?, shippedAt: Date) {
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.trackingUrl = trackingUrl
        self.shippedAt = shippedAt
    }

    enum CodingKeys: String, CodingKey { case carrier, trackingNumber, trackingUrl, shippedAt }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(carrier, forKey: .carrier)
        try c.encode(trackingNumber, forKey: .trackingNumber)
        try c.encode(trackingUrl, forKey: .trackingUrl)
        try c.encode(shippedAt, forKey: .shippedAt)
    }
}

/// An order placed by one user. The money is frozen when it is placed: `total` is `subtotal + shippingTotal +
/// taxTotal` (or, with tax-inclusive prices, `subtotal + shippingTotal`). Orders placed before shipping existed read
/// with `subtotal` = `total`, no shipping and no tax, and a `nil` address and method.
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
    public var shippingAddress: Address?
    public var shippingMethod: OrderShippingMethod?
    public var subtotal: Int
    public var shippingTotal: Int
    public var shippingTax: Int
    public var taxTotal: Int
    /// Set when the order is fulfilled.
    public var shipment: Shipment?
    /// Where the shop writes to the shopper about this order, taken at placement (the token's `email` claim, else the
    /// identity provider's profile); nil for orders placed before emails existed.
    public var email: String?

    public init(
        id: String, userId: String, lines: [OrderLine], total: Int, currency: String,
        status: OrderStatus, createdAt: Date, updatedAt: Date, expiresAt: Date,
        shippingAddress: Address? = nil, shippingMethod: OrderShippingMethod? = nil, subtotal: Int? = nil, shippingTotal: Int = 0,
        shippingTax: Int = 0, taxTotal: Int = 0, shipment: Shipment? = nil, email: String? = nil
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
        self.shippingAddress = shippingAddress
        self.shippingMethod = shippingMethod
        self.subtotal = subtotal ?? total
        self.shippingTotal = shippingTotal
        self.shippingTax = shippingTax
        self.taxTotal = taxTotal
        self.shipment = shipment
        self.email = email
    }

    enum CodingKeys: String, CodingKey {
        case id, userId, lines, total, currency, status, createdAt, updatedAt, expiresAt
        case shippingAddress, shippingMethod, subtotal, shippingTotal, shippingTax, taxTotal, shipment, email
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let total = try c.decode(Int.self, forKey: .total)
        self.init(
            id: try c.decode(String.self, forKey: .id), userId: try c.decode(String.self, forKey: .userId),
            lines: try c.decode([OrderLine].self, forKey: .lines), total: total, currency: try c.decode(String.self, forKey: .currency),
            status: try c.decode(OrderStatus.self, forKey: .status), createdAt: try c.decode(Date.self, forKey: .createdAt),
            updatedAt: try c.decode(Date.self, forKey: .updatedAt), expiresAt: try c.decode(Date.self, forKey: .expiresAt),
            shippingAddress: try c.decodeIfPresent(Address.self, forKey: .shippingAddress),
            shippingMethod: try c.decodeIfPresent(OrderShippingMethod.self, forKey: .shippingMethod),
            subtotal: try c.decodeIfPresent(Int.self, forKey: .subtotal) ?? total,
            shippingTotal: try c.decodeIfPresent(Int.self, forKey: .shippingTotal) ?? 0,
            shippingTax: try c.decodeIfPresent(Int.self, forKey: .shippingTax) ?? 0,
            taxTotal: try c.decodeIfPresent(Int.self, forKey: .taxTotal) ?? 0,
            shipment: try c.decodeIfPresent(Shipment.self, forKey: .shipment),
            email: try c.decodeIfPresent(String.self, forKey: .email))
    }

    /// Every field, `null` where there is none (an order placed before shipping existed, one not shipped yet).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(userId, forKey: .userId)
        try c.encode(lines, forKey: .lines)
        try c.encode(subtotal, forKey: .subtotal)
        try c.encode(shippingTotal, forKey: .shippingTotal)
        try c.encode(shippingTax, forKey: .shippingTax)
        try c.encode(taxTotal, forKey: .taxTotal)
        try c.encode(total, forKey: .total)
        try c.encode(currency, forKey: .currency)
        try c.encode(status, forKey: .status)
        try c.encode(shippingAddress, forKey: .shippingAddress)
        try c.encode(shippingMethod, forKey: .shippingMethod)
        try c.encode(shipment, forKey: .shipment)
        try c.encode(email, forKey: .email)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(expiresAt, forKey: .expiresAt)
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

/// What a shopper asks for: product ids and quantities, where to ship (an address, or one of their saved ones by
/// `addressId`) and how (`shippingMethodId`); never a price.
public struct OrderRequest: Sendable, Codable, Equatable, Hashable {
    public struct Line: Sendable, Codable, Equatable, Hashable {
        public var productId: String
        /// Required when the product has more than one variant; without it, the product's one variant.
        public var variantId: String?
        public var quantity: Int
        public init(productId: String, variantId: String? = nil, quantity: Int) {
            self.productId = productId
            self.variantId = variantId
            self.quantity = quantity
        }
    }

    public var lines: [Line]
    public var shippingAddress: Address?
    public var addressId: String?
    public var shippingMethodId: String?

    public init(lines: [Line], shippingAddress: Address? = nil, addressId: String? = nil, shippingMethodId: String? = nil) {
        self.lines = lines
        self.shippingAddress = shippingAddress
        self.addressId = addressId
        self.shippingMethodId = shippingMethodId
    }

    /// What `POST /orders` needs besides the lines: an address (or a saved one's id, not both) and a method.
    public func shippingProblems() -> [FieldProblem] {
        var problems: [FieldProblem] = []
        switch (shippingAddress, addressId) {
        case (nil, nil):
            problems.append(.init(field: "shippingAddress", problem: "is required (or addressId, one of your saved addresses)"))
        case (.some, .some):
            problems.append(.init(field: "addressId", problem: "give either addressId or shippingAddress, not both"))
        case (nil, .some(let id)) where id.isEmpty || id.utf8.count > Limits.idMaxBytes:
            problems.append(.init(field: "addressId", problem: "must be the id of one of your saved addresses"))
        default:
            break
        }
        if shippingMethodId == nil {
            problems.append(
                .init(field: "shippingMethodId", problem: "is required: one of the methods POST /orders/quote lists for the address"))
        } else if let id = shippingMethodId, id.isEmpty || id.utf8.count > Limits.idMaxBytes {
            problems.append(.init(field: "shippingMethodId", problem: "must be a shipping method id"))
        }
        return problems
    }

    /// Checks line count, quantities and duplicate products against the contract's limits.
    public func validate() throws(DomainError) {
        var problems: [FieldProblem] = []
        if !(Limits.orderLinesRange ~= lines.count) {
            problems.append(
                .init(
                    field: "lines", problem: "must have \(Limits.orderLinesRange.lowerBound) to \(Limits.orderLinesRange.upperBound) lines")
            )
        }
        var seen: Set<String> = []
        for (index, line) in lines.enumerated() {
            if line.productId.isEmpty || line.productId.utf8.count > Limits.idMaxBytes {
                problems.append(.init(field: "lines[\(index)].productId", problem: "must be a product id"))
            }
            if !(Limits.lineQuantityRange ~= line.quantity) {
                problems.append(
                    .init(
                        field: "lines[\(index)].quantity",
                        problem: "must be \(Limits.lineQuantityRange.lowerBound) to \(Limits.lineQuantityRange.upperBound)"))
            }
            if let variantId = line.variantId, variantId.isEmpty || variantId.utf8.count > Limits.idMaxBytes {
                problems.append(.init(field: "lines[\(index)].variantId", problem: "must be a variant id"))
            }
            // A line without a variant is the product's one variant, whose id is the product's.
            if !seen.insert(line.productId + "\u{1f}" + (line.variantId ?? line.productId)).inserted {
                problems.append(
                    .init(
                        field: line.variantId == nil ? "lines[\(index)].productId" : "lines[\(index)].variantId",
                        problem: "appears more than once; use one line per product variant"))
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

/// What `POST /orders/quote` takes: the lines, where to, and optionally how (else the cheapest method).
public struct QuoteRequest: Sendable, Codable, Equatable {
    public var lines: [OrderRequest.Line]
    public var shippingAddress: Address?
    public var shippingMethodId: String?

    public init(lines: [OrderRequest.Line], shippingAddress: Address?, shippingMethodId: String? = nil) {
        self.lines = lines
        self.shippingAddress = shippingAddress
        self.shippingMethodId = shippingMethodId
    }
}

/// The optional body of `POST /orders/{id}/fulfil`: how the parcel went.
public struct ShipmentInput: Sendable, Codable, Equatable {
    public var carrier: String?
    public var trackingNumber: String?
    public var trackingUrl: String?

    public init(carrier: String? = nil, trackingNumber: String? = nil, trackingUrl: String? = nil) {
        self.carrier = carrier
        self.trackingNumber = trackingNumber
        self.trackingUrl = trackingUrl
    }

    public static let carrierMax = 50
    public static let trackingNumberMax = 100
    public static let trackingUrlMax = 500

    /// Trimmed (empty means absent) and checked: `carrier` up to 50 characters, `trackingNumber` up to 100 of letters,
    /// digits, space and `-`, `trackingUrl` an `https://` URL of up to 500 characters.
    public func validated(shippedAt: Date) throws(DomainError) -> Shipment {
        func clean(_ text: String?) -> String? {
            guard let trimmed = text?.trimmingWhitespace(), !trimmed.isEmpty else { return nil }
            return trimmed
        }
        let carrier = clean(carrier)
        let number = clean(trackingNumber)
        let url = clean(trackingUrl)
        var problems: [FieldProblem] = []
        if let carrier, !Limits.fits(carrier, Self.carrierMax) {
            problems.append(.init(field: "carrier", problem: "must be at most \(Self.carrierMax) characters"))
        }
        if let number,
            number.count > Self.trackingNumberMax
                || !number.unicodeScalars.allSatisfy({
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == " " || $0 == "-")
                })
        {
            problems.append(
                .init(field: "trackingNumber", problem: "must be up to \(Self.trackingNumberMax) letters, digits, spaces and hyphens"))
        }
        if let url {
            let scalars = url.unicodeScalars
            if !url.lowercased().hasPrefix("https://") || url.utf8.count <= "https://".count || url.utf8.count > Self.trackingUrlMax
                || scalars.contains(where: { !$0.isASCII || $0.value <= 0x20 || $0.value == 0x7f || $0 == "\"" || $0 == "<" || $0 == ">" })
            {
                problems.append(.init(field: "trackingUrl", problem: "must be an https:// URL of up to \(Self.trackingUrlMax) characters"))
            }
        }
        guard problems.isEmpty else { throw .invalid(problems) }
        return Shipment(carrier: carrier, trackingNumber: number, trackingUrl: url, shippedAt: shippedAt)
    }
}
