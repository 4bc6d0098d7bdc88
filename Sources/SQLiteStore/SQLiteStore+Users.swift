import Foundation
import GRDB
import ShopDomain
import ShopStorage

// MARK: - UserStore

extension SQLiteStore: UserStore {
    public func createUser(_ user: UserRecord) async throws(StorageError) {
        let groups = user.groups.joined(separator: ",")
        try await write { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM users WHERE email = ?"), arguments: [user.email]) == true {
                throw StorageError.emailTaken
            }
            try db.run(
                sql: "INSERT INTO users (id, email, name, password_hash, groups, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [user.id, user.email, user.name, user.passwordHash, groups, user.createdAt.millis])
        }
    }

    public func user(email: String) async throws(StorageError) -> UserRecord? {
        try await read { db in try Row.fetchOne(db, cached: "SELECT * FROM users WHERE email = ?", arguments: [email]).map(Self.user(row:))
        }
    }

    public func user(id: String) async throws(StorageError) -> UserRecord? {
        try await read { db in try Row.fetchOne(db, cached: "SELECT * FROM users WHERE id = ?", arguments: [id]).map(Self.user(row:)) }
    }

    static func user(row: Row) -> UserRecord {
        let groups: String = row["groups"]
        return UserRecord(
            id: row["id"], email: row["email"], name: row["name"], passwordHash: row["password_hash"],
            groups: groups.split(separator: ",").map(String.init), createdAt: Date(millis: row["created_at"]))
    }

    /// Drops expired refresh tokens (through refresh_tokens_by_expiry), on each sign-in.
    static let expiredRefreshTokens = "DELETE FROM refresh_tokens WHERE expires_at <= ?"

    public func saveRefreshToken(digest: String, userId: String, expiresAt: Date, now: Date) async throws(StorageError) {
        try await write { db in
            try db.run(sql: Self.expiredRefreshTokens, arguments: [now.millis])
            try db.run(
                sql: "INSERT INTO refresh_tokens (digest, user_id, expires_at) VALUES (?, ?, ?)",
                arguments: [digest, userId, expiresAt.millis])
        }
    }

    public func deleteRefreshToken(digest: String, userId: String) async throws(StorageError) -> Bool {
        try await write { db in
            try db.run(sql: "DELETE FROM refresh_tokens WHERE digest = ? AND user_id = ?", arguments: [digest, userId])
            return db.changesCount == 1
        }
    }

    public func refreshTokenOwner(digest: String, now: Date) async throws(StorageError) -> String? {
        try await read { db in
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT user_id FROM refresh_tokens WHERE digest = ? AND expires_at > ?"),
                arguments: [digest, now.millis])
        }
    }
}
