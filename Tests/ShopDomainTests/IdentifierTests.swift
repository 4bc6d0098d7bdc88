import Foundation
import ShopDomain
import ShopSupport
import Testing

private let hexDigits = Set("0123456789abcdef")

/// Whether `id` is a lowercase UUID version 7 (8-4-4-4-12 hex, version nibble 7, RFC 9562 variant).
private func isUUIDv7(_ id: String) -> Bool {
    let groups = id.split(separator: "-", omittingEmptySubsequences: false)
    guard id.count == 36, groups.map(\.count) == [8, 4, 4, 4, 12] else { return false }
    guard groups.allSatisfy({ $0.allSatisfy(hexDigits.contains) }) else { return false }
    return groups[2].first == "7" && "89ab".contains(groups[3].first!)
}

/// The 48-bit millisecond timestamp at the front of a v7 id.
private func timestamp(of id: String) -> UInt64? {
    let hex = id.replacingOccurrences(of: "-", with: "").prefix(12)
    return UInt64(hex, radix: 16)
}

/// The 128 bits of an id as bytes.
private func bytes(of id: String) -> [UInt8] {
    let hex = Array(id.replacingOccurrences(of: "-", with: ""))
    return stride(from: 0, to: hex.count, by: 2).map { UInt8(String(hex[$0...$0 + 1]), radix: 16)! }
}

private func date(millis: Int64) -> Date {
    Date(timeIntervalSince1970: Double(millis) / 1000)
}

@Suite("Identifier.make")
struct IdentifierTests {
    @Test("the format is a lowercase UUIDv7: 8-4-4-4-12 hex, version 7")
    func format() {
        for millis: Int64 in [0, 1, 1_700_000_000_123, 1_763_000_000_999, 281_474_976_710_655] {
            for _ in 0..<100 {
                let id = Identifier.make(at: date(millis: millis))
                #expect(isUUIDv7(id), "\(id)")
                #expect(id == id.lowercased())
            }
        }
    }

    @Test("seeded ids have the same format", arguments: [0, 1, 42, UInt64.max] as [UInt64])
    func seededFormat(_ seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        for _ in 0..<1_000 {
            let id = Identifier.make(at: referenceDate, using: &generator)
            #expect(isUUIDv7(id), "\(id)")
        }
    }

    @Test("parses as a UUID with version 7")
    func parsesAsUUID() throws {
        let id = Identifier.make(at: referenceDate)
        let uuid = try #require(UUID(uuidString: id))
        #expect(uuid.uuidString.lowercased() == id)
        #expect(uuid.uuid.6 >> 4 == 7)
        #expect(uuid.uuid.8 >> 6 == 0b10)
    }

    @Test(
        "the first 48 bits are the Unix time in milliseconds, rounded down",
        arguments: [
            (0.0, UInt64(0)),
            (0.0009, 0),
            (1.5, 1_500),
            (1_700_000_000, 1_700_000_000_000),
            (1_700_000_000.5, 1_700_000_000_500),
            (1_700_000_000.1239, 1_700_000_000_123),
        ])
    func timestampPrefix(_ seconds: Double, _ millis: UInt64) {
        var generator = SeededGenerator(seed: 7)
        let id = Identifier.make(at: Date(timeIntervalSince1970: seconds), using: &generator)
        #expect(timestamp(of: id) == millis)
        #expect(id.hasPrefix(String(format: "%08llx-%04llx", millis >> 16, millis & 0xffff)))
    }

    @Test("dates before 1970 are clamped to timestamp 0")
    func beforeEpoch() {
        let id = Identifier.make(at: Date(timeIntervalSince1970: -1_000))
        #expect(isUUIDv7(id))
        #expect(id.hasPrefix("00000000-0000-7"))
    }

    @Test("every ms from a whole-millisecond Date survives into the id")
    func wholeMillisecondsRoundTrip() {
        var generator = SeededGenerator(seed: 3)
        var millis: Int64 = 1_763_000_000_000
        for _ in 0..<20_000 {
            millis += 37
            let id = Identifier.make(at: date(millis: millis), using: &generator)
            #expect(timestamp(of: id) == UInt64(millis))
        }
    }

    /// `make(at:)` rounds `timeIntervalSince1970 * 1000` down. `Date` stores seconds since 2001,
    /// so a whole-millisecond date read back as seconds since 1970 can come out a hair below the
    /// millisecond, and rounding down then loses 1 ms. It does not happen from November 2004 to
    /// January 2038, but it does near 1970, from 2004-01-10 to 2004-11-03 and from 2038-01-19 on.
    @Test(
        "whole-millisecond dates outside Nov 2004 ... Jan 2038 keep their millisecond",
        arguments: [4_002, 1_080_000_000_001, 2_147_483_648_002] as [Int64])
    func wholeMillisecondsOutsidePresentEra(_ millis: Int64) {
        var generator = SeededGenerator(seed: 5)
        let id = Identifier.make(at: date(millis: millis), using: &generator)
        #expect(timestamp(of: id) == UInt64(millis))
    }

    @Test("the randomness fills exactly the 74 non-fixed bits")
    func randomBits() {
        var zeros = ConstantGenerator(value: 0)
        var ones = ConstantGenerator(value: .max)
        let low = Identifier.make(at: referenceDate, using: &zeros)
        let high = Identifier.make(at: referenceDate, using: &ones)
        #expect(low.hasSuffix("-7000-8000-000000000000"))
        #expect(high.hasSuffix("-7fff-bfff-ffffffffffff"))
        #expect(low.prefix(13) == high.prefix(13))
        let differingBits = zip(bytes(of: low), bytes(of: high)).reduce(0) { $0 + ($1.0 ^ $1.1).nonzeroBitCount }
        #expect(differingBits == 74)
    }

    @Test("ids made at later milliseconds sort after earlier ones")
    func laterSortsAfter() {
        var generator = SeededGenerator(seed: 11)
        var previous = Identifier.make(at: date(millis: 1_700_000_000_000), using: &generator)
        // Step by 1 ms, crossing byte and nibble boundaries of the timestamp.
        for millis in Int64(1_700_000_000_001)...Int64(1_700_000_002_100) {
            let next = Identifier.make(at: date(millis: millis), using: &generator)
            #expect(previous < next, "\(previous) !< \(next)")
            previous = next
        }
    }

    @Test("order holds whatever the random bits are")
    func orderIndependentOfRandomness() {
        var high = ConstantGenerator(value: .max)
        var low = ConstantGenerator(value: 0)
        // Byte boundaries of the 48-bit timestamp in the present era (0x199ffffffff, 0x19a000000ff, ...).
        let boundaries: [Int64] = [
            0, 1_760_936_591_359, 1_760_936_591_615, 1_760_936_656_895, 1_760_953_368_575, 1_761_205_026_815,
            1_763_000_000_000, 1_765_231_558_655,
        ]
        for millis in boundaries {
            let earlier = Identifier.make(at: date(millis: millis), using: &high)
            let later = Identifier.make(at: date(millis: millis + 1), using: &low)
            #expect(earlier < later, "\(earlier) !< \(later)")
        }
    }

    @Test("sorting ids sorts them by creation time")
    func sortingMatchesTime() {
        var generator = SeededGenerator(seed: 99)
        var rng = SeededGenerator(seed: 100)
        let times = (0..<500).map { _ in Int64.random(in: 0...2_000_000_000_000, using: &rng) }
        let ids = times.map { Identifier.make(at: date(millis: $0), using: &generator) }
        let idsByTime = zip(times, ids).sorted { $0.0 < $1.0 }.map(\.1)
        #expect(ids.sorted() == idsByTime)
    }

    @Test("10 000 ids made in the same millisecond are unique")
    func uniqueSameMillisecond() {
        let ids = (0..<10_000).map { _ in Identifier.make(at: referenceDate) }
        #expect(Set(ids).count == 10_000)
        #expect(ids.allSatisfy { timestamp(of: $0) == 1_700_000_000_000 })
    }

    @Test("10 000 ids from the system clock are unique")
    func uniqueSystemClock() {
        let ids = (0..<10_000).map { _ in Identifier.make(at: WallClock.system.now()) }
        #expect(Set(ids).count == 10_000)
    }

    @Test("the same seed gives the same ids; another seed gives others")
    func deterministic() {
        var a = SeededGenerator(seed: 2024)
        var b = SeededGenerator(seed: 2024)
        var c = SeededGenerator(seed: 2025)
        let first = (0..<100).map { _ in Identifier.make(at: referenceDate, using: &a) }
        let second = (0..<100).map { _ in Identifier.make(at: referenceDate, using: &b) }
        let third = (0..<100).map { _ in Identifier.make(at: referenceDate, using: &c) }
        #expect(first == second)
        #expect(first != third)
        #expect(Set(first).count == 100)
        #expect(Set(first).isDisjoint(with: third))
    }

    @Test("a seeded generator makes 10 000 unique ids")
    func uniqueSeeded() {
        var generator = SeededGenerator(seed: 1)
        let ids = (0..<10_000).map { _ in Identifier.make(at: referenceDate, using: &generator) }
        #expect(Set(ids).count == 10_000)
    }
}

@Suite("WallClock")
struct WallClockTests {
    @Test("the system clock is truncated to whole milliseconds")
    func systemTruncatesToMilliseconds() {
        for _ in 0..<1_000 {
            let now = WallClock.system.now()
            let millis = (now.timeIntervalSince1970 * 1000).rounded(.down)
            #expect(Date(timeIntervalSince1970: millis / 1000) == now)
            let remainder = now.timeIntervalSince1970 * 1000 - millis
            #expect(remainder < 0.001, "sub-millisecond remainder \(remainder)")
        }
    }

    @Test("the system clock is close to the real time and never ahead of it")
    func systemIsCurrent() {
        let before = Date().timeIntervalSince1970
        let now = WallClock.system.now().timeIntervalSince1970
        let after = Date().timeIntervalSince1970
        // Truncation may put it up to 1 ms before `before`; it never runs ahead.
        #expect(now > before - 0.001)
        #expect(now <= after + 1e-6)
    }

    @Test("an id made from the system clock carries the clock's millisecond")
    func idFromSystemClock() {
        for _ in 0..<1_000 {
            let now = WallClock.system.now()
            let id = Identifier.make(at: now)
            #expect(timestamp(of: id) == UInt64((now.timeIntervalSince1970 * 1000).rounded()))
        }
    }

    @Test("a custom clock returns what it is given")
    func customClock() {
        let clock = WallClock { referenceDate }
        #expect(clock.now() == referenceDate)
        #expect(clock.now() == clock.now())
    }
}
