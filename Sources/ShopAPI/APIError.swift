import Hummingbird
import Identity
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An error as the client sees it: a status and the `{"error": {...}}` envelope.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: JSONValue?
    public var headers: HTTPFields
    /// What really went wrong, for the log line of a 5xx; never sent to the client.
    public var cause: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: JSONValue? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "not_found", "\(what) was not found.") }
    static func badRequest(_ code: String, _ message: String, details: JSONValue? = nil) -> APIError {
        APIError(.badRequest, code, message, details: details)
    }
    static let unauthorized = APIError(
        .unauthorized, "unauthorized", "Sign in and send your token as 'Authorization: Bearer <token>'.",
        headers: [.wwwAuthenticate: "Bearer"])
    static let invalidToken = APIError(
        .unauthorized, "invalid_token", "The bearer token is invalid or expired.",
        headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
    static let forbidden = APIError(.forbidden, "forbidden", "Only store administrators may do this.")
    /// Contention on a hot item outlasted the store's retries; nothing was changed.
    static let busy = APIError(
        .serviceUnavailable, "busy", "The store is busy with the same items right now; nothing was changed. Try again in a moment.",
        headers: [.retryAfter: "1"])
    static let internalError = APIError(
        .internalServerError, "internal_error", "Something went wrong on our side. Quote the request id if you report it.")

    /// Field problems as a 400.
    static func invalid(_ problems: [FieldProblem]) -> APIError {
        let summary = problems.map { "\($0.field) \($0.problem)" }.joined(separator: "; ")
        return APIError(
            .badRequest, "validation_failed", "The request is not valid: \(summary).",
            details: .array(problems.map { .object(["field": .string($0.field), "problem": .string($0.problem)]) }))
    }

    /// The envelope body.
    var body: JSONValue {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let details { error["details"] = details }
        return .object(["error": .object(error)])
    }
}

extension APIError {
    /// Translates a domain error.
    init(_ error: DomainError) {
        switch error {
        case .invalid(let problems):
            self = .invalid(problems)
        case .invalidTransition(let from, let to):
            self = APIError(
                .conflict, "invalid_transition", "An order that is \(from.rawValue) cannot become \(to.rawValue).",
                details: .object(["status": .string(from.rawValue)]))
        }
    }

    /// Translates an identity error.
    init(_ error: IdentityError) {
        switch error {
        case .invalid(let problems): self = .invalid(problems)
        case .weakPassword(let why): self = APIError(.badRequest, "weak_password", why)
        case .emailTaken: self = APIError(.conflict, "email_taken", "An account with this email already exists.")
        case .invalidCredentials: self = APIError(.unauthorized, "invalid_credentials", "The email or password is wrong.")
        case .userNotConfirmed: self = APIError(.forbidden, "user_not_confirmed", "Confirm your account with the code you were sent first.")
        case .invalidCode: self = APIError(.badRequest, "invalid_code", "The confirmation code is wrong or has expired.")
        case .invalidToken: self = .invalidToken
        case .userNotFound: self = APIError(.notFound, "user_not_found", "The account this token was issued for no longer exists.")
        case .unavailable(let why):
            self = APIError(
                .serviceUnavailable, "identity_unavailable",
                "Sign-in is unavailable for a moment; try again. If you were registering, try signing in first.",
                headers: [.retryAfter: "2"])
            cause = "identity: \(why)"
        case .backend(let why):
            self = .internalError
            cause = "identity: \(why)"
        }
    }

    /// Translates a storage error that a service did not handle itself: a bug or an outage.
    init(unexpected error: StorageError) {
        switch error {
        case .badPageKey: self = .badRequest("invalid_cursor", "The cursor is not valid for this listing.")
        case .busy:
            self = .busy
            cause = "storage: transaction conflicts outlasted the retries"
        default:
            self = .internalError
            cause = "storage: \(error)"
        }
    }
}
