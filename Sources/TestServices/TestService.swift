#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A service `./scripts/test` starts before `swift test` and names in an environment variable.
/// The tests that need one throw without it: they fail, never pass by skipping.
public enum TestService: String, Sendable {
    case moto = "SHOP_TEST_MOTO_ENDPOINT"
    case localstripe = "SHOP_TEST_LOCALSTRIPE"
    /// Not a URL: `plain=HOST:PORT starttls=HOST:PORT login=HOST:PORT ca=FILE maildir=DIR user=NAME password=SECRET`, as
    /// scripts/smtp-server prints it (read it with `settings`).
    case smtp = "SHOP_TEST_SMTP"

    /// The `key=value` words of `SHOP_TEST_SMTP`; throws `Missing` without it or when a word has no `=`.
    public var settings: [String: String] {
        get throws(Missing) {
            var settings: [String: String] = [:]
            for word in try endpoint.split(separator: " ") {
                guard let equals = word.firstIndex(of: "=") else { throw Missing(service: self) }
                settings[String(word[..<equals])] = String(word[word.index(after: equals)...])
            }
            return settings
        }
    }

    /// The service's base URL, as `./scripts/test` exported it.
    public var endpoint: String {
        get throws(Missing) {
            guard let value = ProcessInfo.processInfo.environment[rawValue], !value.isEmpty else { throw Missing(service: self) }
            return value
        }
    }

    public struct Missing: Error, CustomStringConvertible {
        public let service: TestService
        public var description: String {
            let program =
                switch service {
                case .moto: "moto_server"
                case .localstripe: "localstripe"
                case .smtp: "aiosmtpd (scripts/smtp-server)"
                }
            return "\(service.rawValue) is not set: run the suite through ./scripts/test, which starts \(program)"
        }
    }
}
