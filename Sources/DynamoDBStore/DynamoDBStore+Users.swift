import AWSWire
import ShopDomain
import ShopStorage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension DynamoDBStore: UserStore {
    public func createUser(_ user: UserRecord) async throws(StorageError) {
        let userItem: Item = [
            "PK": .s("USER#" + user.id), "UserID": .s(user.id), "Email": .s(user.email), "Name": .s(user.name),
            "PasswordHash": .s(user.passwordHash), "Groups": .l(user.groups.map { .s($0) }), "CreatedAt": .int64(user.createdAt.ms),
        ]
        let emailItem: Item = ["PK": .s("EMAIL#" + user.email), "UserID": .s(user.id)]
        // A token-carrying transaction: a replay after a lost answer is answered by DynamoDB with the
        // first answer, so a registration that went through is never reported as "email taken".
        let outcome = try await transactWrite([
            .init(Put: DDBRequest(TableName: tables.users, Item: userItem, ConditionExpression: "attribute_not_exists(PK)")),
            .init(Put: DDBRequest(TableName: tables.users, Item: emailItem, ConditionExpression: "attribute_not_exists(PK)")),
        ])
        guard case .cancelled(let reasons) = outcome else { return }
        if reasons.count > 1, reasons[1].reason == .conditionFailed {
            // Taken, unless by this very user (a replay that outlived the token's window).
            if try await get(tables.users, ["PK": .s("EMAIL#" + user.email)])?["UserID"]?.string == user.id { return }
            throw .emailTaken
        }
        if reasons.first?.reason == .conditionFailed { throw .alreadyExists }
        throw .backend("TransactWriteItems cancelled: \(reasons.map { $0.code ?? "?" })")
    }

    public func user(email: String) async throws(StorageError) -> UserRecord? {
        guard let pointer = try await get(tables.users, ["PK": .s("EMAIL#" + email)]), let id = pointer["UserID"]?.string else {
            return nil
        }
        return try await user(id: id)
    }

    public func user(id: String) async throws(StorageError) -> UserRecord? {
        guard let item = try await get(tables.users, ["PK": .s("USER#" + id)]) else { return nil }
        return try Self.decode {
            let r = ItemReader(item: item)
            guard case .l(let groups)? = item["Groups"] else { throw MalformedItem(attribute: "Groups") }
            return UserRecord(
                id: try r.string("UserID"), email: try r.string("Email"), name: try r.string("Name"),
                passwordHash: try r.string("PasswordHash"), groups: groups.compactMap(\.string),
                createdAt: Date(unixMillis: try r.int64("CreatedAt")))
        }
    }

    public func saveRefreshToken(digest: String, userId: String, expiresAt: Date, now: Date) async throws(StorageError) {
        let item: Item = [
            "PK": .s("REFRESH#" + digest), "UserID": .s(userId), "ExpiresAt": .int64(expiresAt.ms), "TTL": .int64(expiresAt.ms / 1000),
        ]
        _ = try await call("PutItem", DDBRequest(TableName: tables.users, Item: item), as: Empty.self)
    }

    public func deleteRefreshToken(digest: String, userId: String) async throws(StorageError) -> Bool {
        // A token-carrying transaction: a repeat after a lost answer reports the first answer, not "none".
        try await write(
            .init(
                Delete: DDBRequest(
                    TableName: tables.users, Key: ["PK": .s("REFRESH#" + digest)], ConditionExpression: "UserID = :u",
                    ExpressionAttributeValues: [":u": .s(userId)])))
    }

    public func refreshTokenOwner(digest: String, now: Date) async throws(StorageError) -> String? {
        guard let item = try await get(tables.users, ["PK": .s("REFRESH#" + digest)]),
            let expires = item["ExpiresAt"]?.int64Value, expires > now.ms
        else { return nil }
        return item["UserID"]?.string
    }
}
