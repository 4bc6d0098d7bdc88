import Foundation
import ShopDomain
import ShopStorage
import Testing

extension StorageConformance {
    static let userCases: [Case] = [
        Case(name: "users are found by id and email, and emails are unique") { s in
            let user = UserRecord(
                id: "u1", email: "ada@example.com", name: "Ada", passwordHash: "$2b$hash", groups: ["admin"], createdAt: t0)
            try await s.users.createUser(user)
            #expect(try await s.users.user(id: "u1") == user)
            #expect(try await s.users.user(email: "ada@example.com") == user)
            #expect(try await s.users.user(email: "bob@example.com") == nil)
            var twin = user
            twin.id = "u2"
            await #expect(throws: StorageError.emailTaken) { try await s.users.createUser(twin) }
            #expect(try await s.users.user(id: "u2") == nil)
            let plain = UserRecord(id: "u3", email: "bob@example.com", name: "Bob", passwordHash: "x", groups: [], createdAt: t0)
            try await s.users.createUser(plain)
            #expect(try await s.users.user(id: "u3")?.groups == [])
        },
        Case(name: "refresh tokens resolve to their user until they expire") { s in
            try await s.users.saveRefreshToken(digest: "d1", userId: "u1", expiresAt: at(100), now: at(0))
            #expect(try await s.users.refreshTokenOwner(digest: "d1", now: at(50)) == "u1")
            #expect(try await s.users.refreshTokenOwner(digest: "d1", now: at(100)) == nil)
            #expect(try await s.users.refreshTokenOwner(digest: "other", now: at(50)) == nil)
        },
        Case(name: "a refresh token is deleted only by its owner") { s in
            try await s.users.saveRefreshToken(digest: "d2", userId: "u1", expiresAt: at(100), now: at(0))
            #expect(try await s.users.deleteRefreshToken(digest: "d2", userId: "u2") == false, "not someone else's")
            #expect(try await s.users.refreshTokenOwner(digest: "d2", now: at(1)) == "u1")
            #expect(try await s.users.deleteRefreshToken(digest: "d2", userId: "u1"))
            #expect(try await s.users.refreshTokenOwner(digest: "d2", now: at(1)) == nil)
            #expect(try await s.users.deleteRefreshToken(digest: "d2", userId: "u1") == false)
        },
    ]
}
