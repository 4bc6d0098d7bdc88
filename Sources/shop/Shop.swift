import ArgumentParser
import DynamoDBStore
import Foundation
import Identity
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ShopAPI
import ShopAssembly
import ShopDomain
import ShopLocal
import ShopTelemetry

@main
struct Shop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shop",
        abstract: "ServerlessShop: an online store in Swift, on one machine or on AWS.",
        subcommands: [Serve.self, Admin.self, Sweep.self, Seed.self, Mail.self, Metrics.self, AWS.self],
        defaultSubcommand: Serve.self)
}

/// The configuration, parsed once from the process environment, where a flag overrides the
/// variable of the same meaning. This is the only place `shop` reads the environment.
func parseConfiguration(overrides: [String: String?]) throws -> ShopConfiguration {
    var environment = ProcessInfo.processInfo.environment
    for case (let name, let value?) in overrides { environment[name] = value }
    do {
        return try ShopConfiguration(environment: environment)
    } catch {
        throw ValidationError("\(error)")
    }
}

/// Flags shared by every command; each overrides its environment variable.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (SHOP_DATA_DIR, default ./data).")
    var dataDir: String?

    func configuration(_ more: [String: String?] = [:]) throws -> ShopConfiguration {
        try parseConfiguration(overrides: more.merging(["SHOP_DATA_DIR": dataDir]) { a, _ in a })
    }
}

func makeLogger(_ configuration: ShopConfiguration) -> Logger {
    var logger = Logger(label: "shop")
    logger.logLevel = configuration.logLevel
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
        // Swift concurrency's jobs run on the server's event loops (the singleton group Hummingbird serves on), not on
        // a pool of their own: a request's handler then runs on the thread that read it, without two thread hops per
        // request (10 to 30 % more reads a second, alternated: docs/BENCHMARKS.md, "Reads, faster still"). Nothing here
        // blocks a thread for long: bcrypt runs on NIO's thread pool, SQLite's writes on GRDB's queue; the reads (SQLite's,
        // local image files) are short.
        let onEventLoops = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        LoggingSystem.bootstrap(TextLogHandler.init(label:))
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
        if let orderTTL, orderTTL <= 0 { throw ValidationError("--order-ttl must be a positive number of seconds") }
        let configuration = try store.configuration([
            "SHOP_HOST": host, "SHOP_PORT": port.map(String.init), "SHOP_ORDER_TTL_SECONDS": orderTTL.map(String.init),
            "SHOP_SEED": noSeed ? "false" : nil,
        ])
        let logger = makeLogger(configuration)
        if !onEventLoops { logger.notice("Swift concurrency keeps its own thread pool (the event loops could not take it over)") }
        // Before anything records a metric: SHOP_METRICS_ADDRESS set, Prometheus on its own listener; off, no backend.
        let metricsListener = MetricsListener.bootstrap(configuration.metricsAddress, logger: logger)
        let stack = try await LocalHost.assemble(configuration, logger: logger)
        if configuration.seedDemoCatalog {
            let seeded = try await DemoCatalog.seed(stack.services)
            if seeded.products > 0 {
                logger.info("seeded the demo catalog", metadata: ["products": "\(seeded.products)", "pictures": "\(seeded.pictures)"])
            }
            if let why = seeded.withoutPictures { logger.warning("demo products without their pictures: \(why)") }
        }
        var background: [any Service] = [
            ExpirySweeper(services: stack.services, interval: .seconds(configuration.sweepIntervalSeconds), logger: logger),
            OutboxWorker(events: stack.services.events, logger: logger),
        ]
        if let simulator = stack.simulator { background.append(WebhookDelivery(gateway: simulator)) }
        if let metricsListener { background.append(metricsListener) }
        let dataDir = configuration.dataDirectory
        let host = configuration.host
        let simulator = stack.simulator
        let site = try LocalSite.load(configuration, logger: logger)
        let app = buildApplication(
            host: configuration.host, port: configuration.port, services: stack.services, site: site, backgroundServices: background,
            logger: logger,
            onServerRunning: { port in
                // The simulator delivers to this server unless SHOP_PAYMENTS_WEBHOOK_URL says otherwise.
                let reachable = ["0.0.0.0", "::", ""].contains(host) ? "127.0.0.1" : host
                simulator?.useDefaultWebhookURL("http://\(reachable):\(port)/payment/webhook")
                logger.notice("ServerlessShop is listening on http://\(host):\(port) (data in \(dataDir))")
                logger.notice(
                    "Create an admin with: swift run shop admin create --email you@example.com --password '<password>' --data-dir \(dataDir)"
                )
            })
        try await app.runService()
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage administrators.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Create an admin account (local identity store, or the Cognito pool with SHOP_IDENTITY=cognito); the server may be running."
        )

        @OptionGroup var store: StoreOptions
        @Option(help: "The admin's email.") var email: String
        @Option(help: "The admin's password: at least 8 characters, two kinds of character.") var password: String
        @Option(help: "The admin's display name.") var name: String = "Administrator"

        func run() async throws {
            let configuration = try store.configuration()
            let stack = try await LocalHost.assemble(configuration, logger: makeLogger(configuration))
            let identity = stack.services.identity
            do {
                if let cognito = identity as? CognitoIdentityProvider { try await cognito.ensureAdminGroup() }
                let profile = try await identity.createAdmin(email: email, password: password, name: name)
                let place: String
                switch configuration.identity {
                case .cognito(let cognito): place = "the Cognito user pool \(cognito.userPoolId)"
                case .local: place = configuration.dataDirectory
                }
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
        let stack = try await LocalHost.assemble(configuration, logger: makeLogger(configuration))
        do {
            let (expired, refunds) = try await stack.services.sweep()
            print("Expired \(expired) order(s); retried \(refunds) due refund(s).")
        } catch {
            // The API's message says "quote the request id"; a command has none: say what failed.
            throw ValidationError("The sweep failed: \(error.cause ?? error.message)")
        }
    }
}

struct Mail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Order emails.", subcommands: [Resend.self])

    struct Resend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an order event's emails again (the event's id: GET /orders/{id}/events, or the admin's order page).",
            discussion: "Sends with the mail settings of this environment (SHOP_MAIL and the rest), now; the server may be running.")

        @OptionGroup var store: StoreOptions
        @Option(help: "The event's id, evt_<order id>_<key>.") var event: String

        func run() async throws {
            let configuration = try store.configuration()
            if case .off = configuration.events.mail {
                throw ValidationError("SHOP_MAIL=off: set SHOP_MAIL (file, smtp or ses) to send emails.")
            }
            let stack = try await LocalHost.assemble(configuration, logger: makeLogger(configuration))
            let sent: Int
            do {
                sent = try await stack.services.events.resendEmails(eventId: event)
            } catch .notFound {
                throw ValidationError("No event \(event): event ids look like evt_<order id>_2 (GET /orders/{id}/events lists them).")
            } catch {
                throw ValidationError("Could not resend: \(error)")
            }
            guard sent > 0 else {
                print("Event \(event) sent no email (it sends none, or it failed again: see the log and GET /orders/{id}/events).")
                throw ExitCode(1)
            }
            print("Sent \(sent) email(s) of event \(event).")
        }
    }
}

struct Metrics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The metrics the store emits.", subcommands: [Table.self])

    struct Table: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the table of every metric (Prometheus name, type, labels, help, CloudWatch names) as JSON.",
            discussion: "deploy/metrics.json holds this output; the template's checks read it (scripts/template_checks.py).")

        func run() async throws {
            print(ShopMetricTable.document, terminator: "")
        }
    }
}

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add the demo catalog, with its pictures, if the catalog is empty.",
        discussion: "The pictures are stored only where images are files on this server (not with SHOP_IMAGES=s3).")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let configuration = try store.configuration()
        let stack = try await LocalHost.assemble(configuration, logger: makeLogger(configuration))
        let seeded = try await DemoCatalog.seed(stack.services)
        guard seeded.products > 0 else {
            print("The catalog is not empty; nothing added.")
            return
        }
        print("Added \(seeded.products) demo products, \(seeded.pictures) with their pictures.")
        if let why = seeded.withoutPictures { print("Without pictures: \(why).") }
    }
}

struct AWS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aws", abstract: "Work with the AWS backends.", subcommands: [CreateTables.self, Migrate.self])

    struct CreateTables: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-tables",
            abstract: "Create the DynamoDB tables (for moto or DynamoDB Local; production tables come from the SAM template).")

        @Option(help: "DynamoDB endpoint (SHOP_DYNAMODB_ENDPOINT, default the region's).") var endpoint: String?

        func run() async throws {
            let configuration = try parseConfiguration(overrides: ["SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": endpoint])
            guard case .dynamodb(let settings) = configuration.store else { return }
            let store = ShopAssembly.dynamoDB(settings, httpClient: .shared, logger: makeLogger(configuration))
            try await store.createTables()
            print("DynamoDB tables ready at \(settings.endpoint).")
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Upgrade existing DynamoDB tables in place: missing tables and indexes, then the data backfills (docs/DYNAMODB.md).",
            discussion: """
                Full mode (moto, DynamoDB Local, tables made by hand) creates missing tables, adds missing indexes one at a \
                time (each waited for until ACTIVE) and runs the pending backfills. On AWS the SAM template owns tables and \
                indexes: run it with --backfills-only (scripts/deploy does, after sam deploy). Each backfill is recorded once \
                applied, resumes where a stopped run left off, and writes only what is still missing.
                """)

        @Option(help: "DynamoDB endpoint (SHOP_DYNAMODB_ENDPOINT, default the region's).") var endpoint: String?
        @Flag(name: .customLong("dry-run"), help: "Print what would be done; change nothing.") var dryRun = false
        @Flag(
            name: .customLong("backfills-only"),
            help: "Only the backfills: no table or index changes (the deployed stack's tables belong to CloudFormation).")
        var backfillsOnly = false
        @Option(name: .customLong("write-rate"), help: "Item writes a second the backfills may make.") var writeRate: Double = 25

        func run() async throws {
            guard writeRate > 0, writeRate.isFinite else {
                throw ValidationError("--write-rate must be a positive number of writes a second")
            }
            let configuration = try parseConfiguration(overrides: ["SHOP_STORE": "dynamodb", "SHOP_DYNAMODB_ENDPOINT": endpoint])
            guard case .dynamodb(let settings) = configuration.store else { return }
            let store = ShopAssembly.dynamoDB(settings, httpClient: .shared, logger: makeLogger(configuration))
            let options = MigrationOptions(
                mode: backfillsOnly ? .backfillsOnly : .full, dryRun: dryRun, writesPerSecond: writeRate, log: { print($0) })
            do {
                let report = try await store.migrate(options)
                print("DynamoDB tables at \(settings.endpoint)\(dryRun ? " (dry run)" : ""):")
                print(report)
            } catch {
                throw ValidationError("The migration failed: \(error)")
            }
        }
    }
}
