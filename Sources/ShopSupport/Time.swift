#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The source of "now" for services, stores and request signing; injected so that tests control time.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Date
    public init(_ read: @escaping @Sendable () -> Date) { self.read = read }
    public func now() -> Date { read() }
    /// The system clock.
    /// Truncated to whole milliseconds, the precision every store keeps, so that what
    /// a store returns equals what was written.
    public static let system = WallClock { Date(unixMillis: Date().unixMillis) }
}

extension Date {
    /// Whole milliseconds since 1970. `Date` counts from 2001 in a `Double`, so a date
    /// made from whole milliseconds can read back a hair below them; the nudge keeps
    /// rounding down from losing a millisecond.
    public var unixMillis: Int64 { Int64((timeIntervalSince1970 * 1000 + 1e-3).rounded(.down)) }

    /// The date `millis` milliseconds after 1970.
    public init(unixMillis millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}

/// A UTC calendar date and time of day, computed without a calendar or formatter (FoundationEssentials
/// has none, and these run for every date of every response and every signed AWS request).
public struct CivilTime: Sendable, Equatable {
    public var year: Int64
    public var month: Int64
    public var day: Int64
    public var hour: Int64
    public var minute: Int64
    public var second: Int64
    public var millisecond: Int64

    public init(unixMillis millis: Int64) {
        let days = millis.floorDivided(by: 86_400_000)
        let msOfDay = millis - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's civil_from_days).
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        hour = msOfDay / 3_600_000
        minute = msOfDay / 60_000 % 60
        second = msOfDay / 1000 % 60
        millisecond = msOfDay % 1000
    }

    public init(_ date: Date) { self.init(unixMillis: date.unixMillis) }

    /// `2026-11-25T20:11:02.123Z`: ISO 8601, UTC, milliseconds.
    public var iso8601: String {
        "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))T\(Self.pad(hour, 2)):\(Self.pad(minute, 2)):\(Self.pad(second, 2)).\(Self.pad(millisecond, 3))Z"
    }

    /// `20261125T201102Z`: the basic format AWS signatures use (whole seconds).
    public var basicISO8601: String {
        Self.pad(year, 4) + Self.pad(month, 2) + Self.pad(day, 2) + "T" + Self.pad(hour, 2) + Self.pad(minute, 2) + Self.pad(second, 2)
            + "Z"
    }

    static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

extension Int64 {
    fileprivate func floorDivided(by d: Int64) -> Int64 { self >= 0 ? self / d : (self - d + 1) / d }
}
