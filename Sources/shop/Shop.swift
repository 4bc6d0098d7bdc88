import ArgumentParser
import Foundation
import Identity
import Logging
import ShopAPI
import ShopDomain

@main
struct Shop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shop",
        abstract: "ServerlessShop: an online store in Swift, on one machine or on AWS.",
        subcommands: [Serve.self, Admin.self, Sweep.self, Seed.self, AWS.self],
        defaultSubcommand: Serve.self)
}

/// Flags shared by every command; each overrides its environment variable.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (SHOP_DATA_DIR, default ./data).")
    var dataDir: String?

    func configuration() throws -> ShopConfiguration {
        var configuration: ShopConfiguration
        do {
            configuration = try ShopConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        return configuration
    }
}

func makeLogger(_ configuration: ShopConfiguration) -> Logger {
    var logger = Logger(label: "shop")
    logger.logLevel = Logger.Level(rawValue: configuration.logLevel.lowercased()) ?? .info
    return logger
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the store: API on HOST:PORT, SQLite under the data directory.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Address to listen on (SHOP_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (SHOP_PORT, default 8080).") var port: Int?
    @Option(name: .customLong("order-ttl"), help: "Seconds an unpaid order holds its stock (SHOP_ORDER_TTL_SECONDS, default 900).")
    var orderTTL: Int?
    @Flag(name: .customLong("no-seed"), help: "Do not add the demo catalog to an empty store (SHOP_SEED=false).")
    var noSeed = false

    func run() async throws {
        var configuration = try store.configuration()
        if let host { configuration.host = host }
        if let port {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
            configuration.port = port
        }
        if let orderTTL {
            guard orderTTL > 0 else { throw ValidationError("--order-ttl must be a positive number of seconds") }
            configuration.orderTTLSeconds = orderTTL
        }
        if noSeed { configuration.seedDemoCatalog = false }
        let logger = makeLogger(configuration)
        let stack = try await LocalStack.open(configuration, logger: logger)
        if configuration.seedDemoCatalog {
            let added = try await stack.services.catalog.seedIfEmpty(DemoCatalog.products)
            if added > 0 { logger.info("seeded the demo catalog", metadata: ["products": "\(added)"]) }
        }
        let sweeper = ExpirySweeper(
            orders: stack.services.orders, interval: .seconds(configuration.sweepIntervalSeconds), logger: logger)
        let dataDir = configuration.dataDirectory
        let host = configuration.host
        let app = buildApplication(
            configuration: configuration, services: stack.services, backgroundServices: [sweeper], logger: logger,
            onServerRunning: { port in
                logger.notice("ServerlessShop is listening on http://\(host):\(port) (data in \(dataDir))")
                logger.notice("Create an admin with: swift run shop admin create --email you@example.com --password '<password>' --data-dir \(dataDir)")
            })
        try await app.runService()
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage administrators.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an admin account (local identity store, or the Cognito pool with SHOP_IDENTITY=cognito); the server may be running.")

        @OptionGroup var store: StoreOptions
        @Option(help: "The admin's email.") var email: String
        @Option(help: "The admin's password: at least 8 characters, two kinds of character.") var password: String
        @Option(help: "The admin's display name.") var name: String = "Administrator"

        func run() async throws {
            let configuration = try store.configuration()
            let stack = try await LocalStack.open(configuration, logger: makeLogger(configuration))
            do {
                if let cognito = stack.identity as? CognitoIdentityProvider { try await cognito.ensureAdminGroup() }
                let profile = try await stack.identity.createAdmin(email: email, password: password, name: name)
                let place = configuration.identity == .cognito
                    ? "the Cognito user pool \(configuration.cognitoUserPoolId ?? "")" : configuration.dataDirectory
                print("Created admin \(profile.email) (user id \(profile.userId)) in \(place).")
            } catch .emailTaken {
                throw ValidationError("An account with the email \(email) already exists.")
            } catch .weakPassword(let why) {
                throw ValidationError(why)
            } catch .invalid(let problems) {
                throw ValidationError(problems.map { "\($0.field) \($0.problem)" }.joined(separator: "; "))
            } catch {
                throw ValidationError("Could not create the admin: \(error)")
            }
        }
    }
}

struct Sweep: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel unpaid orders past their expiry and return their stock.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let configuration = try store.configuration()
        let stack = try await LocalStack.open(configuration, logger: makeLogger(configuration))
        let expired = try await stack.services.orders.expireDue()
        print("Expired \(expired) order(s).")
    }
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add the demo catalog if the catalog is empty.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let configuration = try store.configuration()
        let stack = try await LocalStack.open(configuration, logger: makeLogger(configuration))
        let added = try await stack.services.catalog.seedIfEmpty(DemoCatalog.products)
        print(added > 0 ? "Added \(added) demo products." : "The catalog is not empty; nothing added.")
    }
}

struct AWS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "aws", abstract: "Work with the AWS backends.", subcommands: [CreateTables.self])

    struct CreateTables: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-tables",
            abstract: "Create the DynamoDB tables (for moto or DynamoDB Local; production tables come from the SAM template).")

        @Option(help: "DynamoDB endpoint (SHOP_DYNAMODB_ENDPOINT, default the region's).") var endpoint: String?

        func run() async throws {
            var configuration: ShopConfiguration
            do {
                configuration = try ShopConfiguration(environment: ProcessInfo.processInfo.environment)
            } catch {
                throw ValidationError("\(error)")
            }
            if let endpoint { configuration.dynamoDBEndpoint = endpoint }
            let store = try Stores.dynamoDB(configuration)
            try await store.createTables()
            print("DynamoDB tables ready at \(configuration.dynamoDBEndpoint ?? "the \(configuration.awsRegion) endpoint").")
        }
    }
}
