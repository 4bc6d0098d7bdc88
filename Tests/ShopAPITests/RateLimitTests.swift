import Foundation
import HTTPTypes
import Identity
import ShopAPI
import ShopAssembly
import ShopSupport
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

    /// The lockout attack: eleven addresses each fail once for the victim within a second; the victim's right
    /// password from an address that has not failed still signs in (addresses come through a trusted proxy here;
    /// scripts/signin_limits.py does the same from real source addresses against `shop serve`).
    @Test func failuresFromOtherAddressesNeverLockTheOwnerOut() async throws {
        let shop = try await TestShop(limits: [
            "SHOP_LOGIN_ACCOUNT_RATE_LIMIT_PER_MINUTE": "1", "SHOP_TRUST_FORWARDED_FOR": "true", "SHOP_TRUSTED_PROXIES": "127.0.0.1/32",
        ])
        defer { shop.cleanUp() }
        try await shop.live { c in
            func login(from address: String, password: String) async throws -> Reply {
                try await c.send(
                    .post, "/auth/login", json: #"{"email":"victim@example.com","password":"\#(password)"}"#,
                    headers: [HTTPField.Name("X-Forwarded-For")!: address])
            }
            #expect(try await c.register("victim@example.com").status == .created)
            for i in 2...12 {
                #expect(try await login(from: "127.0.0.\(i)", password: "Wrong-guess\(i)").status == .unauthorized)
            }
            #expect(try await login(from: "127.0.0.1", password: "Passw0rd!").status == .ok, "the owner is never locked out")
            // The pair that failed is refused, even with the right password: that address is guessing.
            let again = try await login(from: "127.0.0.2", password: "Passw0rd!")
            #expect(again.status == .tooManyRequests)
            #expect(again.errorCode == "rate_limited")
            // Successes do not count: the owner signs in as often as they like.
            for _ in 0..<3 { #expect(try await login(from: "127.0.0.1", password: "Passw0rd!").status == .ok) }
        }
    }

    @Test func accountWideFailuresSlowButNeverRefuse() async throws {
        let clock = TestClock()
        var limits = AbuseLimits.signIn(perAddressPerMinute: 0, failedPerMinute: 10, trustedProxies: [], clock: clock.wallClock)
        let slowdown = try #require(limits.accountSlowdown)
        for i in 0..<50 { #expect(slowdown.take("victim@example.com") == nil, "failure \(i) is within the account's budget") }
        #expect(slowdown.peek("victim@example.com") != nil, "over it: logins for the account wait first")
        #expect(slowdown.peek("other@example.com") == nil)
        limits.accountDelay = .milliseconds(10)
        #expect(limits.failedLogins?.peek(AbuseLimits.pairKey(account: "victim@example.com", client: "127.0.0.1")) == nil)
    }

    @Test func ipv6ClientsAreCountedByTheirSlash64() throws {
        let limits = AbuseLimits.off
        let a = limits.clientKey(peer: "2001:db8:1:2:aaaa::1", forwardedFor: nil)
        let b = limits.clientKey(peer: "2001:0db8:0001:0002:ffff:ffff:ffff:fffe", forwardedFor: nil)
        let c = limits.clientKey(peer: "2001:db8:1:3::1", forwardedFor: nil)
        #expect(a == "2001:db8:1:2::/64")
        #expect(a == b, "one /64, one budget")
        #expect(a != c)
        #expect(limits.clientKey(peer: "::ffff:192.0.2.7", forwardedFor: nil) == "192.0.2.7", "an IPv4-mapped peer is its IPv4 address")
        #expect(limits.clientKey(peer: "192.0.2.7", forwardedFor: nil) == "192.0.2.7")
        #expect(limits.clientKey(peer: nil, forwardedFor: "192.0.2.7") == nil, "no peer (a Lambda invocation): not limited")
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() throws {
        let proxies = ["10.0.0.0/8", "fd00::/8"].compactMap(CIDRBlock.init)
        #expect(proxies.count == 2)
        let limits = AbuseLimits(perAddress: nil, failedLogins: nil, trustedProxies: proxies)
        #expect(limits.clientKey(peer: "10.1.2.3", forwardedFor: "198.51.100.9") == "198.51.100.9")
        #expect(
            limits.clientKey(peer: "203.0.113.5", forwardedFor: "198.51.100.9") == "203.0.113.5", "an untrusted peer's header is ignored")
        #expect(
            limits.clientKey(peer: "10.1.2.3", forwardedFor: "1.2.3.4, 198.51.100.9, 10.9.9.9") == "198.51.100.9",
            "the right-most entry that is not itself a trusted proxy; what the client wrote further left is not believed")
        #expect(limits.clientKey(peer: "fd12::1", forwardedFor: "2001:db8:5:6::9") == "2001:db8:5:6::/64")
        #expect(AbuseLimits.off.clientKey(peer: "10.1.2.3", forwardedFor: "198.51.100.9") == "10.1.2.3", "no trusted proxies: the peer")
        #expect(CIDRBlock("10.0.0.0/33") == nil)
        #expect(CIDRBlock("not-an-address") == nil)
        #expect(CIDRBlock("192.168.1.77/28")?.contains(IPAddress("192.168.1.65")!) == true)
        #expect(CIDRBlock("192.168.1.77/28")?.contains(IPAddress("192.168.1.80")!) == false)
    }

    @Test func trustingForwardedForNeedsTrustedProxies() throws {
        #expect(throws: ShopConfiguration.Invalid.self) { try ShopConfiguration(environment: ["SHOP_TRUST_FORWARDED_FOR": "true"]) }
        do {
            _ = try ShopConfiguration(environment: ["SHOP_TRUST_FORWARDED_FOR": "true"])
        } catch {
            #expect("\(error)".contains("SHOP_TRUSTED_PROXIES"), "the message says what to set")
        }
        #expect(throws: ShopConfiguration.Invalid.self) {
            try ShopConfiguration(environment: ["SHOP_TRUST_FORWARDED_FOR": "true", "SHOP_TRUSTED_PROXIES": "10.0.0.0/99"])
        }
        let ok = try ShopConfiguration(environment: ["SHOP_TRUST_FORWARDED_FOR": "true", "SHOP_TRUSTED_PROXIES": "10.0.0.0/8, ::1"])
        #expect(ok.trustedProxies.map(\.description) == ["10.0.0.0/8", "0:0:0:0:0:0:0:1/128"])
    }

    @Test func cleanRecordsKeepBcryptSlotsTheFloodCannotTake() async throws {
        let gate = BcryptGate(limit: 4, reserved: 1)
        // Three checks from addresses that keep failing hold the shared slots until the test lets them go.
        let release = DispatchSemaphore(value: 0)
        let flood = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask { _ = try? await BcryptGate.$cleanRecord.withValue(false) { try await gate.run { release.wait() } } }
                }
            }
        }
        for _ in 0..<500 where gate.inFlightCount < 3 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(gate.inFlightCount == 3)
        await #expect(throws: IdentityError.self, "a fourth from a failing address is refused at once") {
            try await BcryptGate.$cleanRecord.withValue(false) { try await gate.run { true } }
        }
        // A clean record is admitted to the slot kept for it (its work runs once a thread is free).
        let clean = Task { try await gate.run { true } }
        for _ in 0..<500 where gate.inFlightCount < 4 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(gate.inFlightCount == 4, "admitted, not refused")
        for _ in 0..<3 { release.signal() }
        #expect(try await clean.value)
        await flood.value
    }

    @Test func boundedBcryptWorkRefusesTheExcessAtOnce() async throws {
        let gate = BcryptGate(limit: 2)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await gate.run {
                            usleep(200_000)
                            return true
                        }
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
