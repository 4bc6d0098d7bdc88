import AWSWire
import Logging
import ShopDomain
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Accounts in an Amazon Cognito user pool, through the Cognito IDP JSON 1.1 API.
///
/// Cognito issues the tokens; `TokenVerifier` checks them against the pool's JWKS and issuer.
///
/// Pool and app client requirements:
/// - the app client has no client secret (no `SECRET_HASH` is sent) and allows
///   `ALLOW_USER_PASSWORD_AUTH` and `ALLOW_REFRESH_TOKEN_AUTH`;
/// - users sign in with their email: either `UsernameAttributes: ["email"]` (recommended) or plain
///   usernames, in which case the username is the lower-cased email this provider sends;
/// - a group named `admin` exists (`ensureAdminGroup()` creates it); `cognito:groups` in the
///   tokens decides who is an administrator;
/// - the password policy is the pool's: Cognito's `InvalidPasswordException` becomes `.weakPassword`.
///
/// `profile(of:)` answers from the verified claims when they carry both `email` and `name`
/// (an id token from a client that may read those attributes); an access token carries neither,
/// so it then asks `AdminGetUser` with the username the token carries (`username` in access tokens,
/// `cognito:username` in id tokens). That is the `sub` in pools with `UsernameAttributes: ["email"]`
/// but the sign-up name (here the email) in pools without, where asking with the `sub` finds no user.
/// A user that is not found is `.userNotFound` (404), never a bad token. Groups always come from the token.
public struct CognitoIdentityProvider: IdentityProvider {
    public let client: AWSJSONClient
    public let userPoolId: String
    public let clientId: String
    let logger: Logger

    public init(client: AWSJSONClient, userPoolId: String, clientId: String, logger: Logger = Logger(label: "shop.cognito")) {
        self.client = client
        self.userPoolId = userPoolId
        self.clientId = clientId
        self.logger = logger
    }

    // MARK: IdentityProvider

    public func register(email: String, password: String, name: String) async throws(IdentityError) -> Registration {
        let email = try Credentials.normalizedEmail(email)
        let name = try Credentials.normalizedName(name)
        let input = SignUpInput(
            ClientId: clientId, Username: email, Password: password,
            UserAttributes: [Attribute(Name: "email", Value: email), Attribute(Name: "name", Value: name)])
        let output = try await call("SignUp", input, as: SignUpOutput.self, during: .register)
        // A pre-sign-up trigger may confirm the account at once; then there is no code to wait for.
        if output.UserConfirmed == true, let sub = output.UserSub {
            return .registered(UserProfile(userId: sub, email: email, name: name, groups: []))
        }
        return .confirmationRequired
    }

    public func confirm(email: String, code: String) async throws(IdentityError) {
        let email = try Credentials.normalizedEmail(email)
        let code = code.trimmingWhitespace()
        guard !code.isEmpty else { throw .invalidCode }
        let input = ConfirmSignUpInput(ClientId: clientId, Username: email, ConfirmationCode: code)
        _ = try await call("ConfirmSignUp", input, as: Empty.self, during: .confirm)
    }

    public func login(email: String, password: String) async throws(IdentityError) -> AuthTokens {
        guard let email = try? Credentials.normalizedEmail(email), !password.isEmpty else { throw .invalidCredentials }
        let input = InitiateAuthInput(
            ClientId: clientId, AuthFlow: "USER_PASSWORD_AUTH", AuthParameters: ["USERNAME": email, "PASSWORD": password])
        let output = try await call("InitiateAuth", input, as: InitiateAuthOutput.self, during: .login)
        return try tokens(from: output, refreshToken: nil)
    }

    public func refresh(refreshToken: String) async throws(IdentityError) -> AuthTokens {
        let refreshToken = refreshToken.trimmingWhitespace()
        guard !refreshToken.isEmpty else { throw .invalidToken("empty refresh token") }
        let input = InitiateAuthInput(
            ClientId: clientId, AuthFlow: "REFRESH_TOKEN_AUTH", AuthParameters: ["REFRESH_TOKEN": refreshToken])
        let output = try await call("InitiateAuth", input, as: InitiateAuthOutput.self, during: .refresh)
        // Cognito answers a refresh without a new refresh token (unless the client rotates them): the old one stays valid.
        return try tokens(from: output, refreshToken: refreshToken)
    }

    /// `RevokeToken` (the app client has token revocation on): the refresh token stops working for `/auth/refresh`.
    /// Access and id tokens already issued stay valid until they expire: the API verifies JWTs itself and Cognito's
    /// revocation of them is seen only by Cognito's own endpoints. Cognito refresh tokens are opaque, so whose one
    /// this is cannot be checked without using it; revoking someone else's needs that token, which is itself the
    /// secret. Revoking twice is harmless, so the call may be repeated.
    public func logout(refreshToken: String, caller: VerifiedCaller) async throws(IdentityError) {
        let token = refreshToken.trimmingWhitespace()
        guard !token.isEmpty else { throw .invalidToken("empty refresh token") }
        _ = try await call("RevokeToken", RevokeTokenInput(Token: token, ClientId: clientId), as: Empty.self, during: .logout)
    }

    public func profile(of caller: VerifiedCaller) async throws(IdentityError) -> UserProfile {
        if let email = caller.email, let name = caller.name {
            return UserProfile(userId: caller.userId, email: email, name: name, groups: caller.groups)
        }
        // The username the token carries: in a pool without `UsernameAttributes` the `sub` is not a username.
        let output = try await call(
            "AdminGetUser", AdminGetUserInput(UserPoolId: userPoolId, Username: caller.username ?? caller.userId),
            as: AdminGetUserOutput.self, during: .profile)
        let attributes = Attribute.dictionary(output.UserAttributes ?? [])
        return UserProfile(
            userId: caller.userId, email: attributes["email"] ?? caller.email ?? "", name: attributes["name"] ?? caller.name ?? "",
            groups: caller.groups)
    }

    /// `AdminCreateUser` (no invitation message, email already verified), `AdminSetUserPassword` (permanent, so no
    /// `NEW_PASSWORD_REQUIRED` challenge at the first login) and `AdminAddUserToGroup` on `admin`. The group must exist
    /// (`ensureAdminGroup()`). If a later step fails, the half-made user is deleted again.
    public func createAdmin(email: String, password: String, name: String) async throws(IdentityError) -> UserProfile {
        let email = try Credentials.normalizedEmail(email)
        let name = try Credentials.normalizedName(name)
        let create = AdminCreateUserInput(
            UserPoolId: userPoolId, Username: email, MessageAction: "SUPPRESS",
            UserAttributes: [
                Attribute(Name: "email", Value: email), Attribute(Name: "name", Value: name),
                Attribute(Name: "email_verified", Value: "true"),
            ])
        let created = try await call("AdminCreateUser", create, as: AdminCreateUserOutput.self, during: .admin)
        let username = created.User?.Username ?? email
        let sub = Attribute.dictionary(created.User?.Attributes ?? [])["sub"] ?? username
        do {
            _ = try await call(
                "AdminSetUserPassword",
                AdminSetUserPasswordInput(UserPoolId: userPoolId, Username: username, Password: password, Permanent: true),
                as: Empty.self, during: .admin)
            _ = try await call(
                "AdminAddUserToGroup", AdminAddUserToGroupInput(UserPoolId: userPoolId, Username: username, GroupName: adminGroup),
                as: Empty.self, during: .admin)
        } catch {
            do {
                _ = try await call(
                    "AdminDeleteUser", AdminGetUserInput(UserPoolId: userPoolId, Username: username), as: Empty.self, during: .admin)
            } catch let cleanup {
                logger.error("could not delete a half-created admin", metadata: ["username": "\(username)", "error": "\(cleanup)"])
            }
            throw error
        }
        return UserProfile(userId: sub, email: email, name: name, groups: [adminGroup])
    }

    /// Creates the `admin` group in the pool unless it exists already.
    public func ensureAdminGroup() async throws(IdentityError) {
        let input = CreateGroupInput(GroupName: adminGroup, UserPoolId: userPoolId, Description: "Store administrators")
        do {
            _ = try await client.call("CreateGroup", input, as: Empty.self)
        } catch let error as AWSError where error.code == .groupExists {
            return
        } catch {
            throw .backend("CreateGroup: \(error)")
        }
    }

    // MARK: Calls and errors

    /// What the caller was doing, which decides how some Cognito errors read.
    enum Step: String {
        case register, confirm, login, refresh, profile, admin, logout

        /// SignUp, ConfirmSignUp and the admin writes carry no idempotency token: repeated after a lost
        /// answer, a SignUp that succeeded reads as "email taken" and a confirm as "wrong code". They are
        /// sent again only when Cognito certainly did not act (throttling, no connection).
        var safety: RetrySafety {
            switch self {
            case .register, .confirm, .admin: .notAfterSend
            case .login, .refresh, .profile, .logout: .idempotent
            }
        }
    }

    private func call<Input: Encodable, Output: Decodable>(
        _ operation: String, _ input: Input, as type: Output.Type, during step: Step
    ) async throws(IdentityError) -> Output {
        do {
            return try await client.call(operation, input, as: type, safety: step.safety)
        } catch let error as AWSError {
            let mapped = Self.map(error, during: step)
            if case .backend = mapped {
                logger.error("Cognito call failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
            } else {
                logger.debug("Cognito refused", metadata: ["operation": "\(operation)", "error": "\(error.type)"])
            }
            throw mapped
        } catch {
            logger.error("Cognito call failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
            throw .backend("\(operation): \(error)")
        }
    }

    /// Cognito's error codes in the API's terms. Anything not listed is a backend failure (500, logged).
    static func map(_ error: AWSError, during step: Step) -> IdentityError {
        if error.outcomeUnknown || (error.isRetryable && step.safety == .idempotent) {
            return .unavailable("\(error)")
        }
        switch error.code {
        case .usernameExists, .aliasExists:
            return .emailTaken
        case .invalidPassword:
            return .weakPassword(error.message.isEmpty ? "The password does not meet the password policy." : error.message)
        case .invalidParameter:
            return .invalid([FieldProblem(field: field(mentionedIn: error.message), problem: error.message)])
        case .notAuthorized, .userNotFound:
            switch step {
            // Unknown user and wrong password alike: never say which.
            case .login: return .invalidCredentials
            case .refresh, .logout: return .invalidToken("refresh token refused: \(error.type)")
            // The token was verified: a user that is not found is gone, not a bad token.
            case .profile: return .userNotFound
            // Unknown user, or one that is already confirmed: the code cannot be right.
            case .confirm: return .invalidCode
            case .register, .admin: return .backend("\(error)")
            }
        case .userNotConfirmed:
            return .userNotConfirmed
        case .codeMismatch, .expiredCode, .tooManyFailedAttempts:
            return .invalidCode
        case .unsupportedTokenType:
            return .invalidToken("not a refresh token: \(error.type)")
        default:
            if error.isRetryable { return .unavailable("\(error)") }
            return .backend("\(error)")
        }
    }

    /// The request field an `InvalidParameterException` message is about, as far as it says.
    static func field(mentionedIn message: String) -> String {
        let lowered = message.lowercased()
        if lowered.contains("password") { return "password" }
        if lowered.contains("email") || lowered.contains("username") { return "email" }
        if lowered.contains("name") { return "name" }
        if lowered.contains("code") { return "code" }
        return "request"
    }

    private func tokens(from output: InitiateAuthOutput, refreshToken: String?) throws(IdentityError) -> AuthTokens {
        guard let result = output.AuthenticationResult else {
            // MFA or NEW_PASSWORD_REQUIRED: the pool asks for a step this API does not offer.
            throw .backend("Cognito answered with the unsupported challenge \(output.ChallengeName ?? "none")")
        }
        guard let idToken = result.IdToken, let accessToken = result.AccessToken,
            let refresh = result.RefreshToken ?? refreshToken
        else {
            throw .backend("Cognito's AuthenticationResult lacks a token")
        }
        return AuthTokens(idToken: idToken, accessToken: accessToken, refreshToken: refresh, expiresIn: result.ExpiresIn ?? 3600)
    }

    // MARK: Wire shapes (Cognito IDP API, PascalCase as sent)

    struct Attribute: Codable {
        var Name: String
        var Value: String?

        static func dictionary(_ attributes: [Attribute]) -> [String: String] {
            var result: [String: String] = [:]
            for attribute in attributes { result[attribute.Name] = attribute.Value }
            return result
        }
    }

    struct Empty: Decodable {}

    struct SignUpInput: Encodable {
        var ClientId: String
        var Username: String
        var Password: String
        var UserAttributes: [Attribute]
    }

    struct SignUpOutput: Decodable {
        var UserConfirmed: Bool?
        var UserSub: String?
    }

    struct ConfirmSignUpInput: Encodable {
        var ClientId: String
        var Username: String
        var ConfirmationCode: String
    }

    struct RevokeTokenInput: Encodable {
        var Token: String
        var ClientId: String
    }

    struct InitiateAuthInput: Encodable {
        var ClientId: String
        var AuthFlow: String
        var AuthParameters: [String: String]
    }

    struct InitiateAuthOutput: Decodable {
        struct Result: Decodable {
            var IdToken: String?
            var AccessToken: String?
            var RefreshToken: String?
            var ExpiresIn: Int?
        }
        var AuthenticationResult: Result?
        var ChallengeName: String?
    }

    struct AdminGetUserInput: Encodable {
        var UserPoolId: String
        var Username: String
    }

    struct AdminGetUserOutput: Decodable {
        var Username: String?
        var UserAttributes: [Attribute]?
    }

    struct AdminCreateUserInput: Encodable {
        var UserPoolId: String
        var Username: String
        var MessageAction: String
        var UserAttributes: [Attribute]
    }

    struct AdminCreateUserOutput: Decodable {
        struct User: Decodable {
            var Username: String?
            var Attributes: [Attribute]?
        }
        var User: User?
    }

    struct AdminSetUserPasswordInput: Encodable {
        var UserPoolId: String
        var Username: String
        var Password: String
        var Permanent: Bool
    }

    struct AdminAddUserToGroupInput: Encodable {
        var UserPoolId: String
        var Username: String
        var GroupName: String
    }

    struct CreateGroupInput: Encodable {
        var GroupName: String
        var UserPoolId: String
        var Description: String
    }
}
