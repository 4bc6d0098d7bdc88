import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Time-ordered identifiers (UUID version 7 layout): ids made later sort later,
/// which keeps key-ordered pages stable while new items are added.
public enum Identifier {
    /// A new id for `date`, with 74 random bits.
    public static func make(at date: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(at: date, using: &generator)
    }

    /// A new id for `date`, drawing randomness from `generator` (deterministic in tests).
    public static func make(at date: Date, using generator: inout some RandomNumberGenerator) -> String {
        let millis = UInt64(max(0, date.unixMillis))
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8((millis >> (8 * (5 - UInt64(i)))) & 0xff) }
        let r1 = generator.next() as UInt64
        let r2 = generator.next() as UInt64
        for i in 6..<16 {
            let source = i < 11 ? r1 : r2
            bytes[i] = UInt8((source >> (8 * UInt64(i % 8))) & 0xff)
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x70
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let c = Array(bytes.hexEncoded)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }
}

/// The clock services and stores read; it lives in ShopSupport so that the AWS layer signs with it too.
public typealias WallClock = ShopSupport.WallClock
