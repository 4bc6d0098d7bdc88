import ShopDomain
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The last settings document a store decoded, by version: every quote and every order reads the settings, and
/// decoding the JSON document (up to 64 KiB) each time was most of that read's cost. A store still reads the row or
/// item every time, so a new version is seen at once; only an unchanged one skips the decoding.
public final class SettingsCache: Sendable {
    private let last = Mutex<StoreSettings?>(nil)

    public init() {}

    /// The cached document when it is `version` saved at `updatedAt`, else what `decode` makes of the stored one,
    /// kept for next time.
    public func settings<E: Error>(version: Int, updatedAt: Date, decode: () throws(E) -> StoreSettings) throws(E) -> StoreSettings {
        if let cached = last.withLock({ $0 }), cached.version == version, cached.updatedAt == updatedAt { return cached }
        var fresh = try decode()
        fresh.version = version
        fresh.updatedAt = updatedAt
        let kept = fresh
        last.withLock { $0 = kept }
        return kept
    }
}
