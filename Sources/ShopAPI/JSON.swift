import Hummingbird
import Identity
import ShopDomain
import ShopStorage
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JSON coding shared by every response and request of the API.
enum JSONCoding {
    /// A JSON response with the API's encoder: every body but the catalog reads', which `JSONBytes`
    /// (ProductJSON.swift) writes by hand with the same content.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try encoder.encode(value)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(iso8601(date))
        }
        return encoder
    }()

    static let decoder = JSONDecoder()

    /// `2026-11-25T20:11:02.123Z`: UTC, milliseconds, without a formatter (ShopSupport's `CivilTime`).
    static func iso8601(_ date: Date) -> String { CivilTime(date).iso8601 }
}

/// A page of a listing: `{"items": [...], "nextCursor": "..." | null}`.
struct PageBody<Item: Encodable>: Encodable {
    var items: [Item]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey { case items, nextCursor }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        // Always present, null on the last page, as the contract shows it.
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

/// The API's response encoder (the request context's `responseEncoder`): every typed value a handler
/// returns is written with the project's JSON settings and `application/json; charset=utf-8`.
public struct ShopResponseEncoder: ResponseEncoder {
    public init() {}

    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        try JSONCoding.response(value)
    }
}

/// The API's request decoder (the request context's `requestDecoder`): reads at most 1 MiB of body
/// (413 beyond) and turns every decoding failure into a 400 that says where the body is wrong.
public struct ShopRequestDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Limits.requestBodyMax)
        } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "The request body is larger than 1 MiB.")
        }
        return try Self.decode(T.self, from: Array(buffer.readableBytesView))
    }

    /// Decodes a request body, every failure a 400 that says where the body is wrong. Public and
    /// synchronous so that the fuzzer can drive it with arbitrary bytes.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(APIError) -> T {
        guard !bytes.isEmpty else {
            throw APIError.badRequest("invalid_json", "The request needs a JSON body.")
        }
        do {
            return try JSONCoding.decoder.decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw APIError.badRequest(Self.code(for: error), Self.describe(error))
        } catch {
            throw APIError.badRequest("invalid_json", "The request body is not valid JSON.")
        }
    }

    static func code(for error: DecodingError) -> String {
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty { return "invalid_json" }
        return "invalid_body"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimming { $0 == "." }
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "The field '\(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)' is required."
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "The field '\(path(context.codingPath))' must be \(describe(type))."
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "The request body is not valid JSON." : "The field '\(path(context.codingPath))' is not valid."
        @unknown default:
            return "The request body is not valid."
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: "an integer"
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: "of type \(type)"
        }
    }
}

extension Request {
    /// A query parameter as an integer in `range`, or 400.
    func queryInt(_ name: String, in range: ClosedRange<Int>, default value: Int) throws -> Int {
        guard let raw = uri.queryParameters[Substring(name)] else { return value }
        guard let number = Int(raw), range ~= number else {
            throw APIError.badRequest("invalid_parameter", "'\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound).")
        }
        return number
    }

    /// A query parameter's string value, if present and non-empty.
    func query(_ name: String) -> String? {
        guard let raw = uri.queryParameters[Substring(name)], !raw.isEmpty else { return nil }
        return String(raw)
    }
}

// The values handlers return are written by the context's `responseEncoder`.
extension PageBody: ResponseEncodable, ResponseGenerator {}
extension Product: ResponseGenerator, ResponseEncodable {}
extension Order: ResponseGenerator, ResponseEncodable {}
extension ImageUpload: ResponseGenerator, ResponseEncodable {}
extension StoreSettings: ResponseGenerator, ResponseEncodable {}
extension Quote: ResponseGenerator, ResponseEncodable {}
extension AddressView: ResponseGenerator, ResponseEncodable {}
extension AuthTokens: ResponseGenerator, ResponseEncodable {}
extension UserProfile: ResponseGenerator, ResponseEncodable {}
