import Foundation
import GRDB
import ShopDomain
import ShopStorage

// MARK: - SettingsStore

extension SQLiteStore: SettingsStore {
    public func storedSettings() async throws(StorageError) -> StoreSettings? {
        try await read { db in
            guard let row = try Row.fetchOne(db, cached: "SELECT * FROM settings WHERE id = 1") else { return nil }
            return try self.settingsCache.settings(version: row["version"], updatedAt: Date(millis: row["updated_at"])) {
                try Self.settings(row: row)
            }
        }
    }

    public func putSettings(_ settings: StoreSettings, expectedVersion: Int?, at now: Date) async throws(StorageError) -> StoreSettings {
        let documentText = try Self.json(settings)
        return try await write { db in
            // One writer: the version read here is the one replaced.
            let current = try Int.fetchOne(db.cachedStatement(sql: "SELECT version FROM settings WHERE id = 1")) ?? 0
            if let expectedVersion, expectedVersion != current { throw StorageError.versionMismatch(current: current) }
            try db.run(
                sql: """
                    INSERT INTO settings (id, document, version, updated_at) VALUES (1, ?1, ?2, ?3)
                    ON CONFLICT(id) DO UPDATE SET document = ?1, version = ?2, updated_at = ?3
                    """,
                arguments: [documentText, current + 1, now.millis])
            guard let row = try Row.fetchOne(db, cached: "SELECT * FROM settings WHERE id = 1") else { throw StorageError.notFound }
            return try Self.settings(row: row)
        }
    }

    /// The stored document, with the version and time of its row (what the document's own fields said is ignored).
    static func settings(row: Row) throws -> StoreSettings {
        guard var settings = try document(StoreSettings.self, row["document"]) else { throw StorageError.backend("empty settings row") }
        settings.version = row["version"]
        settings.updatedAt = Date(millis: row["updated_at"])
        return settings
    }
}

// MARK: - AddressStore

extension SQLiteStore: AddressStore {
    public func addresses(userId: String) async throws(StorageError) -> [SavedAddress] {
        try await read { db in
            try Row.fetchAll(db, cached: "SELECT * FROM addresses WHERE user_id = ? ORDER BY created_at, id", arguments: [userId])
                .map(Self.savedAddress(row:))
        }
    }

    public func address(userId: String, id: String) async throws(StorageError) -> SavedAddress? {
        try await read { db in
            try Row.fetchOne(db, cached: "SELECT * FROM addresses WHERE id = ? AND user_id = ?", arguments: [id, userId])
                .map(Self.savedAddress(row:))
        }
    }

    public func addAddress(_ saved: SavedAddress, limit: Int) async throws(StorageError) {
        let text = try Self.json(saved.address)
        try await write { db in
            // Counted inside the write transaction: SQLite has one writer, so two adds racing see each other.
            let count =
                try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM addresses WHERE user_id = ?"), arguments: [saved.userId])
                ?? 0
            if count >= limit { throw StorageError.tooManyAddresses(limit: limit) }
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM addresses WHERE id = ?"), arguments: [saved.id]) == true {
                throw StorageError.alreadyExists
            }
            try db.run(
                sql: "INSERT INTO addresses (id, user_id, address, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [saved.id, saved.userId, text, saved.createdAt.millis, saved.updatedAt.millis])
        }
    }

    public func updateAddress(userId: String, id: String, address: Address, at now: Date) async throws(StorageError) -> SavedAddress {
        let text = try Self.json(address)
        return try await write { db in
            try db.run(
                sql: "UPDATE addresses SET address = ?, updated_at = ? WHERE id = ? AND user_id = ?",
                arguments: [text, now.millis, id, userId])
            guard db.changesCount == 1,
                let row = try Row.fetchOne(db, cached: "SELECT * FROM addresses WHERE id = ? AND user_id = ?", arguments: [id, userId])
            else { throw StorageError.notFound }
            return try Self.savedAddress(row: row)
        }
    }

    public func deleteAddress(userId: String, id: String) async throws(StorageError) {
        try await write { db in
            try db.run(sql: "DELETE FROM addresses WHERE id = ? AND user_id = ?", arguments: [id, userId])
            if db.changesCount == 0 { throw StorageError.notFound }
        }
    }

    static func savedAddress(row: Row) throws -> SavedAddress {
        guard let address = try document(Address.self, row["address"]) else { throw StorageError.backend("empty address row") }
        return SavedAddress(
            id: row["id"], userId: row["user_id"], address: address, createdAt: Date(millis: row["created_at"]),
            updatedAt: Date(millis: row["updated_at"]))
    }
}
