import Identity
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The store settings document: shipping zones, methods and tax rates. Anyone reads it; admins replace it whole.
public struct SettingsService: Sendable {
    let store: any SettingsStore
    let clock: WallClock

    public init(store: any SettingsStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    /// The stored document, or the built-in default (version 0) before the first `PUT /settings`.
    public func current() async throws(APIError) -> StoreSettings {
        try await mapped(try await store.storedSettings()) ?? .builtInDefault
    }

    /// The entity tag of a version: `"s<version>"`.
    public static func entityTag(_ settings: StoreSettings) -> String { "\"s\(settings.version)\"" }

    /// Replaces the document. `ifMatch` (`"s<version>"`, optional) makes it conditional: 412 when stale.
    public func replace(_ proposed: StoreSettings, ifMatch: String?, caller: VerifiedCaller) async throws(APIError) -> StoreSettings {
        guard caller.isAdmin else { throw .forbidden }
        let expected = try ifMatch.map { header throws(APIError) in try Self.version(fromIfMatch: header) }
        let valid: StoreSettings
        do { valid = try proposed.validated() } catch { throw APIError(error) }
        do {
            return try await store.putSettings(valid, expectedVersion: expected, at: clock.now())
        } catch .versionMismatch(let current) {
            throw APIError(
                .preconditionFailed, "precondition_failed",
                "The settings were changed meanwhile (now version \(current)); reload them and make your change again.",
                details: .object(["version": .int(current)]))
        } catch {
            throw APIError(unexpected: error)
        }
    }

    /// `"s3"` (or `W/"s3"`) → 3; anything else cannot match a version: 412.
    static func version(fromIfMatch header: String) throws(APIError) -> Int {
        var tag = header.trimmingWhitespace()
        if tag.hasPrefix("W/") { tag.removeFirst(2) }
        guard tag.count >= 4, tag.hasPrefix("\"s"), tag.hasSuffix("\""), let version = Int(tag.dropFirst(2).dropLast()), version >= 0 else {
            throw APIError(.preconditionFailed, "precondition_failed", "If-Match must be the settings' ETag, such as \"s3\".")
        }
        return version
    }
}

/// A shopper's address book: at most `limit` addresses each; someone else's address is a 404.
public struct AddressService: Sendable {
    let store: any AddressStore
    let clock: WallClock
    public var limit = 20

    public init(store: any AddressStore, clock: WallClock = .system) {
        self.store = store
        self.clock = clock
    }

    public func list(caller: VerifiedCaller) async throws(APIError) -> [SavedAddress] {
        try await mapped(try await store.addresses(userId: caller.userId))
    }

    /// One of the caller's addresses (404 for a missing one and for someone else's alike).
    public func get(id: String, caller: VerifiedCaller) async throws(APIError) -> SavedAddress {
        guard let saved = try await mapped(try await store.address(userId: caller.userId, id: id)) else {
            throw .notFound("Address \(id)")
        }
        return saved
    }

    public func add(_ address: Address, caller: VerifiedCaller) async throws(APIError) -> SavedAddress {
        let valid: Address
        do { valid = try address.validated() } catch { throw APIError(error) }
        let now = clock.now()
        let saved = SavedAddress(id: Identifier.make(at: now), userId: caller.userId, address: valid, createdAt: now, updatedAt: now)
        do {
            try await store.addAddress(saved, limit: limit)
        } catch .tooManyAddresses(let limit) {
            throw APIError(
                .conflict, "too_many_addresses", "Your address book is full (\(limit) addresses); delete one before adding another.",
                details: .object(["limit": .int(limit)]))
        } catch {
            throw APIError(unexpected: error)
        }
        return saved
    }

    public func update(id: String, address: Address, caller: VerifiedCaller) async throws(APIError) -> SavedAddress {
        let valid: Address
        do { valid = try address.validated() } catch { throw APIError(error) }
        do {
            return try await store.updateAddress(userId: caller.userId, id: id, address: valid, at: clock.now())
        } catch .notFound {
            throw .notFound("Address \(id)")
        } catch {
            throw APIError(unexpected: error)
        }
    }

    public func delete(id: String, caller: VerifiedCaller) async throws(APIError) {
        do {
            try await store.deleteAddress(userId: caller.userId, id: id)
        } catch .notFound {
            throw .notFound("Address \(id)")
        } catch {
            throw APIError(unexpected: error)
        }
    }
}

/// An address as the address book shows it: the address with its `id`.
public struct AddressView: Sendable, Encodable {
    public var saved: SavedAddress

    public init(_ saved: SavedAddress) { self.saved = saved }

    enum CodingKeys: String, CodingKey { case id }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(saved.id, forKey: .id)
        try saved.address.encode(to: encoder)
    }
}
