import ShopDomain
import Testing

/// A request with `count` distinct products, each with `quantity`.
private func request(lines count: Int, quantity: Int = 1) -> OrderRequest {
    OrderRequest(lines: (0..<count).map { OrderRequest.Line(productId: "p\($0)", quantity: quantity) })
}

@Suite("OrderRequest.validate()")
struct OrderRequestTests {
    // MARK: line count

    @Test("1 to 50 lines are accepted", arguments: [1, 2, 49, 50])
    func lineCountAccepted(_ count: Int) throws {
        try request(lines: count).validate()
    }

    @Test("0 or more than 50 lines are refused", arguments: [0, 51, 100])
    func lineCountRefused(_ count: Int) {
        #expect(invalidFields { try request(lines: count).validate() } == ["lines"])
    }

    @Test("the line-count message states the limits")
    func lineCountMessage() {
        let error = #expect(throws: DomainError.self) { try request(lines: 0).validate() }
        #expect(fieldProblems(error) == [FieldProblem(field: "lines", problem: "must have 1 to 50 lines")])
    }

    // MARK: quantity

    @Test("quantity 1 to 1000 is accepted", arguments: [1, 2, 999, 1_000])
    func quantityAccepted(_ quantity: Int) throws {
        try request(lines: 1, quantity: quantity).validate()
    }

    @Test("quantity outside 1...1000 is refused", arguments: [Int.min, -1, 0, 1_001, Int.max])
    func quantityRefused(_ quantity: Int) {
        #expect(invalidFields { try request(lines: 1, quantity: quantity).validate() } == ["lines[0].quantity"])
    }

    @Test("each bad quantity is reported with its line index")
    func quantityIndexed() {
        let request = OrderRequest(lines: [
            .init(productId: "a", quantity: 1),
            .init(productId: "b", quantity: 0),
            .init(productId: "c", quantity: 1_000),
            .init(productId: "d", quantity: 1_001),
        ])
        #expect(invalidFields { try request.validate() } == ["lines[1].quantity", "lines[3].quantity"])
    }

    @Test("the largest legal request: 50 lines of 1000 each")
    func largestRequest() throws {
        try request(lines: 50, quantity: 1_000).validate()
    }

    // MARK: duplicates

    @Test("a product appearing twice is refused at its second line")
    func duplicateRefused() {
        let request = OrderRequest(lines: [
            .init(productId: "a", quantity: 1),
            .init(productId: "b", quantity: 2),
            .init(productId: "a", quantity: 3),
        ])
        let error = #expect(throws: DomainError.self) { try request.validate() }
        let problems = fieldProblems(error) ?? []
        #expect(problems.map(\.field) == ["lines[2].productId"])
        #expect(problems.first?.problem.contains("more than once") == true)
    }

    @Test("every repeat is reported")
    func everyRepeatReported() {
        let request = OrderRequest(lines: [
            .init(productId: "a", quantity: 1),
            .init(productId: "a", quantity: 1),
            .init(productId: "b", quantity: 1),
            .init(productId: "a", quantity: 1),
            .init(productId: "b", quantity: 1),
        ])
        #expect(invalidFields { try request.validate() } == ["lines[1].productId", "lines[3].productId", "lines[4].productId"])
    }

    @Test("product ids are compared exactly (case-sensitive)")
    func idsCaseSensitive() throws {
        try OrderRequest(lines: [.init(productId: "abc", quantity: 1), .init(productId: "ABC", quantity: 1)]).validate()
    }

    // MARK: product id

    @Test("product ids of 1 to 100 characters are accepted", arguments: [1, 100])
    func productIdAccepted(_ length: Int) throws {
        try OrderRequest(lines: [.init(productId: repeated("x", length), quantity: 1)]).validate()
    }

    @Test("empty or over-long product ids are refused", arguments: [0, 101])
    func productIdRefused(_ length: Int) {
        let request = OrderRequest(lines: [.init(productId: repeated("x", length), quantity: 1)])
        #expect(invalidFields { try request.validate() } == ["lines[0].productId"])
    }

    // MARK: several problems

    @Test("all problems are reported together")
    func allProblemsTogether() {
        var lines = (0..<51).map { OrderRequest.Line(productId: "p\($0)", quantity: 1) }
        lines[3].quantity = 0
        lines[7].productId = "p0"
        lines[9].productId = ""
        lines[9].quantity = 5_000
        let fieldsReported = invalidFields { try OrderRequest(lines: lines).validate() }
        #expect(
            fieldsReported == [
                "lines", "lines[3].quantity", "lines[7].productId", "lines[9].productId", "lines[9].quantity",
            ])
    }
}
