/// One field that failed validation, and why.
public struct FieldProblem: Sendable, Codable, Equatable, Hashable {
    public var field: String
    public var problem: String
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }
}

/// Errors of the domain rules themselves, before any storage is touched.
public enum DomainError: Error, Sendable, Equatable {
    /// Input broke one or more validation rules.
    case invalid([FieldProblem])
    /// The order cannot move from `from` to `to`.
    case invalidTransition(from: OrderStatus, to: OrderStatus)
}
