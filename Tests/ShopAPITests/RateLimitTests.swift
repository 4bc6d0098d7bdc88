import Foundation
import HTTPTypes
import Identity
import ShopAPI
import Testing

/// Sign-in limits on a real socket (the router tests have no client address and are never limited).
@Suite("Sign-in rate limits")
struct RateLimitTests {
    @Test func perAddressLimitAnswers429WithRetryAfterAndRefills() async throws {
        let shop = try await TestShop(limits: ["SHOP_AUTH_RATE_LIMIT_PER_MINUTE": "3"])
        defer { shop.cleanUp() }
        try await shop.live { c in
            for i in 0..<3 {
                #expect(try await c.login("nobody-\(i)@example.com").status == .unauthorized, "within the limit: a normal answer")
            }
            let limited = try await c.login("nobody@example.com")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "rate_limited")
            #expect(limited.headers[.retryAfter] == "20", "3 a minute: one every 20 s")
            #expect(try await c.register("new@example.com").status == .tooManyRequests, "register shares the address's budget")
            #expect(try await c.send(.get, "/products").status == .ok, "other routes are not limited")
            shop.clock.advance(by: 20)
            #expect(try await c.login("nobody@example.com").status == .unauthorized, "a token came back")
        }
    }

    @Test func perAccountLimitSlowsGuessingOneAccount() async throws {
        let shop = try await TestShop(limits: ["SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "2"])
        defer { shop.cleanUp() }
        try await shop.live { c in
            #expect(try await c.register("ada@example.com").status == .created)
            #expect(try await c.login("ada@example.com", password: "Wrong-guess1").status == .unauthorized)
            #expect(try await c.login("Ada@Example.com ", password: "Wrong-guess2").status == .unauthorized)
            let third = try await c.login("ada@example.com")
            #expect(third.status == .tooManyRequests, "even with the right password: the account is being guessed")
            #expect(try await c.register("bob@example.com").status == .created)
            #expect(try await c.login("bob@example.com").status == .ok, "other accounts are not affected")
        }
    }

    @Test func boundedBcryptWorkRefusesTheExcessAtOnce() async throws {
        let gate = BcryptGate(limit: 2)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await gate.run { usleep(200_000); return true }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count >= 2)
        #expect(outcomes.filter { !$0 }.count >= 1, "more than the limit in flight: refused, not queued")
        _ = try await gate.run { true }  // and the gate opens again
    }
}
