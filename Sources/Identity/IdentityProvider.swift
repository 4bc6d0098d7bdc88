import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Tokens handed to a client after login or refresh, in Cognito's shape.
public struct AuthTokens: Sendable, Codable, Equatable {
    public var idToken: String
    public var accessToken: String
    public var refreshToken: String
    public var expiresIn: Int
    public var tokenType: String
    public init(idToken: String, accessToken: String, refreshToken: String, expiresIn: Int, tokenType: String = "Bearer") {
        self.idToken = idToken
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresIn = expiresIn
        self.tokenType = tokenType
    }
}

/// Who a user is, as `/auth/me` shows it.
public struct UserProfile: Sendable, Codable, Equatable {
    public var userId: String
    public var email: String
    public var name: String
    public var groups: [String]
    public init(userId: String, email: String, name: String, groups: [String]) {
        self.userId = userId
        self.email = email
        self.name = name
        self.groups = groups
    }
}

/// What registering did.
public enum Registration: Sendable, Equatable {
    /// The account exists and can log in.
    case registered(UserProfile)
    /// The provider sent a code that `confirm` must be given first.
    case confirmationRequired
}

/// The group whose members may change the catalog and see every order.
public let adminGroup = "admin"

/// Identity failures, in terms the API maps to statuses.
public enum IdentityError: Error, Sendable, Equatable {
    case invalid([FieldProblem])
    case weakPassword(String)
    case emailTaken
    /// Unknown user and wrong password alike: never say which.
    case invalidCredentials
    case userNotConfirmed
    case invalidCode
    /// A bearer or refresh token that failed verification; the reason is for logs only.
    case invalidToken(String)
    /// A valid token whose account no longer exists (deleted since the token was issued). Never
    /// reported as a bad token: the token is fine, the account is gone.
    case userNotFound
    /// The identity service did not answer in a way that tells whether a write happened (a lost answer
    /// or a 5xx on a call that cannot be repeated safely), or it is overloaded: the client may try again.
    case unavailable(String)
    case backend(String)
}

/// Registers, confirms and signs in users. Local (SQLite + bcrypt) or Cognito.
public protocol IdentityProvider: Sendable {
    func register(email: String, password: String, name: String) async throws(IdentityError) -> Registration
    func confirm(email: String, code: String) async throws(IdentityError)
    func login(email: String, password: String) async throws(IdentityError) -> AuthTokens
    func refresh(refreshToken: String) async throws(IdentityError) -> AuthTokens
    /// Revokes the caller's refresh token (signing out): `.invalidToken` if it is unknown or another user's.
    func logout(refreshToken: String, caller: VerifiedCaller) async throws(IdentityError)
    /// The caller's profile, given the verified claims of their token.
    func profile(of caller: VerifiedCaller) async throws(IdentityError) -> UserProfile
    /// Creates an account in the admin group (used by `shop admin create`).
    func createAdmin(email: String, password: String, name: String) async throws(IdentityError) -> UserProfile
}

/// Input rules shared by every identity provider.
public enum Credentials {
    /// Lower-cased, trimmed email, or a field problem.
    public static func normalizedEmail(_ raw: String) throws(IdentityError) -> String {
        let email = raw.trimmingWhitespace().lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= Limits.emailMax, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !email.contains(where: { $0.isWhitespace || $0.isNewline })
        else {
            throw .invalid([FieldProblem(field: "email", problem: "must be an email address such as ada@example.com")])
        }
        return email
    }

    /// Checks the password policy: 8 to 72 bytes, at least two kinds of character.
    public static func checkPassword(_ password: String) throws(IdentityError) {
        if password.count < Limits.passwordMin {
            throw .weakPassword("Password must be at least \(Limits.passwordMin) characters long.")
        }
        // bcrypt stops at a NUL byte: a password starting with one would hash as the empty password.
        // Other control characters cannot be typed and are refused with it.
        if password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .weakPassword("Password must not contain control characters.")
        }
        // bcrypt ignores everything after 72 bytes; refuse rather than silently truncate.
        if password.utf8.count > 72 {
            throw .weakPassword("Password must be at most 72 bytes long.")
        }
        var kinds = 0
        if password.contains(where: \.isLowercase) { kinds += 1 }
        if password.contains(where: \.isUppercase) { kinds += 1 }
        if password.contains(where: \.isNumber) { kinds += 1 }
        if password.contains(where: { !$0.isLetter && !$0.isNumber }) { kinds += 1 }
        if kinds < 2 {
            throw .weakPassword("Password must mix at least two kinds of character: lower case, upper case, digits or symbols.")
        }
    }

    /// A trimmed display name of 1 to 200 characters.
    public static func normalizedName(_ raw: String) throws(IdentityError) -> String {
        let name = raw.trimmingWhitespace()
        guard !name.isEmpty, Limits.fits(name, Limits.userNameMax) else {
            throw .invalid([FieldProblem(field: "name", problem: "must be 1 to \(Limits.userNameMax) characters")])
        }
        return name
    }
}
