import AsyncHTTPClient
import Logging
import ShopAPI

/// What one Lambda function does, chosen by `_HANDLER`: serve one area of the API, or run the sweep
/// (an EventBridge schedule).
public enum FunctionRole: Sendable, Equatable {
    case api(APIArea)
    case sweep
    /// The outbox's stream: order events from DynamoDB Streams to EventBridge, and their emails and webhook.
    case events

    /// `_HANDLER` may be a bare name or `something.name`, in any case.
    public init(handler: String?) throws {
        let raw = handler ?? ""
        let name = (raw.split(separator: ".").last.map(String.init) ?? raw).lowercased()
        if name == "sweep" {
            self = .sweep
        } else if name == "events" {
            self = .events
        } else if let area = APIArea(rawValue: name) {
            self = .api(area)
        } else {
            let names = APIArea.allCases.map(\.rawValue) + ["sweep", "events"]
            throw ShopConfiguration.Invalid(description: "_HANDLER=\(raw) must be one of \(names.joined(separator: ", "))")
        }
    }
}

/// A function's configuration and secrets source, from its environment: the one place that decides
/// where a function's secrets come from (`SHOP_SECRETS`).
/// - `secretsmanager` (the default): `SecretsManagerSecrets`, read here, once; the configuration is
///   parsed with the Stripe secret's values filled in from Secrets Manager.
/// - `environment`: plain variables (`EnvironmentSecrets`), for the emulator tests only; the SAM template never sets it.
public enum FunctionSetup {
    public static func load(
        environment: [String: String], httpClient: HTTPClient = .shared, logger: Logger
    ) async throws -> (configuration: ShopConfiguration, secrets: any SecretsSource) {
        switch try EnvironmentReader(environment: environment).choice("SHOP_SECRETS", ["secretsmanager", "environment"]) ?? "secretsmanager"
        {
        case "environment":
            return (try ShopConfiguration(environment: environment), EnvironmentSecrets(environment: environment))
        default:
            // Only the listing areas hand out cursors that later invocations read back.
            let role = try FunctionRole(handler: environment["_HANDLER"])
            let secrets = try await SecretsManagerSecrets.load(
                environment: environment, cursors: role == .api(.products) || role == .api(.orders), httpClient: httpClient, logger: logger)
            return (try ShopConfiguration(environment: secrets.configurationEnvironment(environment)), secrets)
        }
    }
}
