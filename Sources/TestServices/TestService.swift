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
            let program = switch service {
            case .moto: "moto_server"
            case .localstripe: "localstripe"
            }
            return "\(service.rawValue) is not set: run the suite through ./scripts/test, which starts \(program)"
        }
    }
}
