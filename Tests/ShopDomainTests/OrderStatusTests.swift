import ShopDomain
import Testing

/// One of the 16 (from, to) pairs of the order state machine, with the expected verdict.
struct TransitionCase: Sendable, CustomTestStringConvertible {
    let from: OrderStatus
    let to: OrderStatus
    let allowed: Bool

    var testDescription: String { "\(from.rawValue) → \(to.rawValue): \(allowed ? "allowed" : "forbidden")" }

    /// The full table, written out by hand so the test does not reuse the code under test.
    static let all: [TransitionCase] = [
        .init(from: .pendingPayment, to: .pendingPayment, allowed: false),
        .init(from: .pendingPayment, to: .paid, allowed: true),
        .init(from: .pendingPayment, to: .fulfilled, allowed: false),
        .init(from: .pendingPayment, to: .cancelled, allowed: true),

        .init(from: .paid, to: .pendingPayment, allowed: false),
        .init(from: .paid, to: .paid, allowed: false),
        .init(from: .paid, to: .fulfilled, allowed: true),
        .init(from: .paid, to: .cancelled, allowed: true),

        .init(from: .fulfilled, to: .pendingPayment, allowed: false),
        .init(from: .fulfilled, to: .paid, allowed: false),
        .init(from: .fulfilled, to: .fulfilled, allowed: false),
        .init(from: .fulfilled, to: .cancelled, allowed: false),

        .init(from: .cancelled, to: .pendingPayment, allowed: false),
        .init(from: .cancelled, to: .paid, allowed: false),
        .init(from: .cancelled, to: .fulfilled, allowed: false),
        .init(from: .cancelled, to: .cancelled, allowed: false),
    ]
}

@Suite("OrderStatus state machine")
struct OrderStatusTests {
    @Test("the transition table covers all 16 pairs exactly once")
    func tableIsComplete() {
        #expect(TransitionCase.all.count == 16)
        let pairs = Set(TransitionCase.all.map { OrderStatus.Transition(from: $0.from, to: $0.to) })
        #expect(pairs.count == 16)
        for from in OrderStatus.allCases {
            for to in OrderStatus.allCases {
                #expect(pairs.contains(.init(from: from, to: to)))
            }
        }
    }

    @Test("canTransition(to:) for every pair", arguments: TransitionCase.all)
    func transition(_ testCase: TransitionCase) {
        #expect(testCase.from.canTransition(to: testCase.to) == testCase.allowed)
        let transition = OrderStatus.Transition(from: testCase.from, to: testCase.to)
        #expect(OrderStatus.allowedTransitions.contains(transition) == testCase.allowed)
    }

    @Test("allowedTransitions holds exactly the four legal moves")
    func allowedTransitionsExactly() {
        let expected: Set<OrderStatus.Transition> = [
            .init(from: .pendingPayment, to: .paid),
            .init(from: .pendingPayment, to: .cancelled),
            .init(from: .paid, to: .fulfilled),
            .init(from: .paid, to: .cancelled),
        ]
        #expect(OrderStatus.allowedTransitions == expected)
    }

    @Test("no state may transition to itself", arguments: OrderStatus.allCases)
    func noSelfTransition(_ status: OrderStatus) {
        #expect(!status.canTransition(to: status))
    }

    @Test("terminal states have no way out", arguments: [OrderStatus.fulfilled, .cancelled])
    func terminalStates(_ status: OrderStatus) {
        for next in OrderStatus.allCases {
            #expect(!status.canTransition(to: next))
        }
    }

    @Test("nothing leads back to PENDING_PAYMENT", arguments: OrderStatus.allCases)
    func pendingPaymentIsOnlyInitial(_ status: OrderStatus) {
        #expect(!status.canTransition(to: .pendingPayment))
    }

    @Test(
        "sources(of:) lists the states a target is reachable from",
        arguments: [
            (OrderStatus.pendingPayment, Set<OrderStatus>()),
            (.paid, [.pendingPayment]),
            (.fulfilled, [.paid]),
            (.cancelled, [.pendingPayment, .paid]),
        ] as [(OrderStatus, Set<OrderStatus>)])
    func sources(_ target: OrderStatus, _ expected: Set<OrderStatus>) {
        #expect(OrderStatus.sources(of: target) == expected)
    }

    @Test("sources(of:) agrees with canTransition(to:)", arguments: OrderStatus.allCases)
    func sourcesAgreeWithCanTransition(_ target: OrderStatus) {
        let fromTable = Set(OrderStatus.allCases.filter { $0.canTransition(to: target) })
        #expect(OrderStatus.sources(of: target) == fromTable)
    }

    @Test(
        "only entering CANCELLED gives stock back",
        arguments: [
            (OrderStatus.pendingPayment, false),
            (.paid, false),
            (.fulfilled, false),
            (.cancelled, true),
        ])
    func returnsStock(_ status: OrderStatus, _ expected: Bool) {
        #expect(status.returnsStock == expected)
    }

    @Test("raw values are the API's wire names")
    func rawValues() {
        #expect(OrderStatus.allCases.count == 4)
        #expect(OrderStatus.pendingPayment.rawValue == "PENDING_PAYMENT")
        #expect(OrderStatus.paid.rawValue == "PAID")
        #expect(OrderStatus.fulfilled.rawValue == "FULFILLED")
        #expect(OrderStatus.cancelled.rawValue == "CANCELLED")
        #expect(OrderStatus(rawValue: "paid") == nil)
    }

    @Test("invalidTransition errors compare by their states")
    func invalidTransitionError() {
        let error = DomainError.invalidTransition(from: .fulfilled, to: .cancelled)
        #expect(error == .invalidTransition(from: .fulfilled, to: .cancelled))
        #expect(error != .invalidTransition(from: .cancelled, to: .fulfilled))
        #expect(error != .invalid([]))
    }
}
