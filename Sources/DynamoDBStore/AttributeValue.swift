#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A DynamoDB attribute value in its JSON wire form (`{"S": "..."}`, `{"N": "12"}`, ...).
public indirect enum AttributeValue: Sendable, Codable, Equatable {
    case s(String)
    case n(String)
    case bool(Bool)
    case null
    case l([AttributeValue])
    case m([String: AttributeValue])

    enum CodingKeys: String, CodingKey { case S, N, BOOL, NULL, L, M }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(String.self, forKey: .S) {
            self = .s(v)
        } else if let v = try c.decodeIfPresent(String.self, forKey: .N) {
            self = .n(v)
        } else if let v = try c.decodeIfPresent(Bool.self, forKey: .BOOL) {
            self = .bool(v)
        } else if try c.decodeIfPresent(Bool.self, forKey: .NULL) != nil {
            self = .null
        } else if let v = try c.decodeIfPresent([AttributeValue].self, forKey: .L) {
            self = .l(v)
        } else if let v = try c.decodeIfPresent([String: AttributeValue].self, forKey: .M) {
            self = .m(v)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unsupported attribute type"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .s(let v): try c.encode(v, forKey: .S)
        case .n(let v): try c.encode(v, forKey: .N)
        case .bool(let v): try c.encode(v, forKey: .BOOL)
        case .null: try c.encode(true, forKey: .NULL)
        case .l(let v): try c.encode(v, forKey: .L)
        case .m(let v): try c.encode(v, forKey: .M)
        }
    }

    static func int(_ value: Int) -> AttributeValue { .n(String(value)) }
    static func int64(_ value: Int64) -> AttributeValue { .n(String(value)) }

    var string: String? { if case .s(let v) = self { v } else { nil } }
    var intValue: Int? { if case .n(let v) = self { Int(v) } else { nil } }
    var int64Value: Int64? { if case .n(let v) = self { Int64(v) } else { nil } }
}

public typealias Item = [String: AttributeValue]

/// Reading typed fields out of an item, with an error naming the attribute.
struct ItemReader {
    let item: Item
    func string(_ name: String) throws -> String {
        guard let v = item[name]?.string else { throw MalformedItem(attribute: name) }
        return v
    }
    func optionalString(_ name: String) -> String? { item[name]?.string }
    func optionalInt(_ name: String) -> Int? { item[name]?.intValue }
    func int(_ name: String) throws -> Int {
        guard let v = item[name]?.intValue else { throw MalformedItem(attribute: name) }
        return v
    }
    func int64(_ name: String) throws -> Int64 {
        guard let v = item[name]?.int64Value else { throw MalformedItem(attribute: name) }
        return v
    }
}

struct MalformedItem: Error, CustomStringConvertible {
    let attribute: String
    var description: String { "item has no valid attribute \(attribute)" }
}
