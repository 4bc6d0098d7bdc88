#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ShopSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Where a Lambda-hosted request context comes from: the invocation and the API Gateway event.
public struct LambdaRequestContextSource: RequestContextSource {
    public var logger: Logger
    public var invocation: LambdaInvocationContext
    /// `requestContext.requestId` of the API Gateway event.
    public var apiRequestId: String?
    /// `requestContext.authorizer.jwt.claims` (v2), passed on only by an adapter told to trust
    /// them (API Gateway's JWT authorizer verified them); otherwise nil.
    public var authorizerClaims: [String: String]?

    public init(logger: Logger, invocation: LambdaInvocationContext, apiRequestId: String?, authorizerClaims: [String: String]?) {
        self.logger = logger
        self.invocation = invocation
        self.apiRequestId = apiRequestId
        self.authorizerClaims = authorizerClaims
    }
}

/// An API Gateway proxy event, HTTP API payload 2.0 or REST API payload 1.0 (`aws-proxy`).
struct APIGatewayEvent: Decodable {
    struct HTTPInfo: Decodable {
        var method: String
        var path: String?
    }
    struct JWT: Decodable {
        var claims: [String: ClaimValue]?
    }
    struct Authorizer: Decodable {
        var jwt: JWT?
    }
    struct RequestContext: Decodable {
        var http: HTTPInfo?
        var requestId: String?
        var authorizer: Authorizer?
    }
    /// Claim values arrive as strings, or (in tests and some authorizers) other JSON scalars.
    struct ClaimValue: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let s = try? container.decode(String.self) { text = s }
            else if let i = try? container.decode(Int64.self) { text = String(i) }
            else if let d = try? container.decode(Double.self) { text = String(d) }
            else if let b = try? container.decode(Bool.self) { text = String(b) }
            else if let a = try? container.decode([String].self) { text = "[" + a.joined(separator: " ") + "]" }
            else { text = "" }
        }
    }

    var version: String?
    // v2
    var rawPath: String?
    var rawQueryString: String?
    var cookies: [String]?
    // v1
    var httpMethod: String?
    var path: String?
    var multiValueHeaders: [String: [String]?]?
    var queryStringParameters: [String: String]?
    var multiValueQueryStringParameters: [String: [String]?]?
    // both
    var headers: [String: String?]?
    var body: String?
    var isBase64Encoded: Bool?
    var requestContext: RequestContext?

    var isV2: Bool { version == "2.0" || rawPath != nil }
}

/// Error raised when an event is not an API Gateway proxy event; it becomes a function error.
public struct APIGatewayEventError: Error, CustomStringConvertible {
    public let description: String
}

/// Turns API Gateway proxy events into Hummingbird requests for `responder`, and its responses back.
public struct APIGatewayAdapter<Responder: HTTPResponder>: Sendable
where Responder.Context: RequestContext, Responder.Context.Source == LambdaRequestContextSource {
    let responder: Responder
    /// Pass `requestContext.authorizer.jwt.claims` on to the context as verified.
    let trustAuthorizerClaims: Bool

    public init(responder: Responder, trustAuthorizerClaims: Bool = false) {
        self.responder = responder
        self.trustAuthorizerClaims = trustAuthorizerClaims
    }

    public func handle(_ event: ByteBuffer, context invocation: LambdaInvocationContext) async throws -> ByteBuffer {
        let decoded: APIGatewayEvent
        do {
            decoded = try JSONDecoder().decode(APIGatewayEvent.self, from: Data(buffer: event))
        } catch {
            throw APIGatewayEventError(description: "the event is not an API Gateway proxy event: \(error)")
        }
        let request = try Self.request(from: decoded)
        var claims: [String: String]?
        if trustAuthorizerClaims, let given = decoded.requestContext?.authorizer?.jwt?.claims {
            claims = given.mapValues(\.text)
        }
        var logger = invocation.logger
        if let apiRequestId = decoded.requestContext?.requestId {
            logger[metadataKey: "api_request_id"] = .string(apiRequestId)
        }
        let source = LambdaRequestContextSource(
            logger: logger, invocation: invocation, apiRequestId: decoded.requestContext?.requestId, authorizerClaims: claims)
        let context = Responder.Context(source: source)
        let response = try await responder.respond(to: request, context: context)
        let result = try await Self.encode(response, v2: decoded.isV2)
        return ByteBuffer(bytes: result)
    }

    static func request(from event: APIGatewayEvent) throws -> Request {
        var fields = HTTPFields()
        let methodName: String
        var target: String
        if event.isV2 {
            guard let method = event.requestContext?.http?.method else {
                throw APIGatewayEventError(description: "payload 2.0 event without requestContext.http.method")
            }
            methodName = method
            target = event.rawPath ?? event.requestContext?.http?.path ?? "/"
            if let query = event.rawQueryString, !query.isEmpty { target += "?" + query }
            for (name, value) in event.headers ?? [:] {
                guard let value, let field = HTTPField.Name(name) else { continue }
                fields.append(HTTPField(name: field, value: value))
            }
            if let cookies = event.cookies, !cookies.isEmpty {
                fields[.cookie] = cookies.joined(separator: "; ")
            }
        } else {
            guard let method = event.httpMethod else {
                throw APIGatewayEventError(description: "event has neither payload 2.0 fields nor httpMethod")
            }
            methodName = method
            target = event.path ?? "/"
            var pairs: [(String, String)] = []
            if let multi = event.multiValueQueryStringParameters {
                for (name, values) in multi.sorted(by: { $0.key < $1.key }) {
                    for value in values ?? [] { pairs.append((name, value)) }
                }
            } else if let single = event.queryStringParameters {
                for (name, value) in single.sorted(by: { $0.key < $1.key }) { pairs.append((name, value)) }
            }
            if !pairs.isEmpty {
                target += "?" + pairs.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
            }
            if let multi = event.multiValueHeaders {
                for (name, values) in multi {
                    guard let field = HTTPField.Name(name) else { continue }
                    for value in values ?? [] { fields.append(HTTPField(name: field, value: value)) }
                }
            } else {
                for (name, value) in event.headers ?? [:] {
                    guard let value, let field = HTTPField.Name(name) else { continue }
                    fields.append(HTTPField(name: field, value: value))
                }
            }
        }
        var body = ByteBuffer()
        if let text = event.body {
            if event.isBase64Encoded == true {
                guard let data = Data(base64Encoded: text) else {
                    throw APIGatewayEventError(description: "isBase64Encoded is true but the body is not base64")
                }
                body = ByteBuffer(bytes: data)
            } else {
                body = ByteBuffer(string: text)
            }
        }
        if body.readableBytes > 0 || fields[.contentLength] != nil {
            fields[.contentLength] = String(body.readableBytes)
        }
        let head = HTTPRequest(
            method: HTTPRequest.Method(methodName.uppercased()) ?? .get, scheme: "https",
            authority: HTTPField.Name("Host").flatMap { fields[$0] } ?? "lambda", path: target, headerFields: fields)
        return Request(head: head, body: RequestBody(buffer: body))
    }

    static func escape(_ text: String) -> String {
        PercentEncoding.encode(text)
    }

    /// Text types go as they are; everything else is base64.
    static func isText(_ contentType: String?) -> Bool {
        guard let type = contentType?.lowercased() else { return true }
        return type.hasPrefix("text/") || type.contains("json") || type.contains("xml") || type.contains("javascript")
            || type.hasPrefix("application/x-www-form-urlencoded")
    }

    static func encode(_ response: Response, v2: Bool) async throws -> Data {
        let collector = BodyCollector()
        try await response.body.write(CollectingWriter(collector: collector))
        let bytes = collector.buffer
        let contentType = response.headers[.contentType]
        let text = isText(contentType)
        var single: [String: String] = [:]
        var multi: [String: [String]] = [:]
        var cookies: [String] = []
        for field in response.headers {
            let name = field.name.canonicalName
            if v2 && field.name == .setCookie {
                cookies.append(field.value)
                continue
            }
            multi[name, default: []].append(field.value)
            single[name] = single[name].map { $0 + "," + field.value } ?? field.value
        }
        if bytes.readableBytes > 0 || response.headers[.contentLength] != nil {
            single["content-length"] = nil
            multi["content-length"] = nil
        }
        let body: String = text
            ? String(buffer: bytes)
            : Data(buffer: bytes).base64EncodedString()
        if v2 {
            let out = V2Response(
                statusCode: Int(response.status.code), headers: single, cookies: cookies.isEmpty ? nil : cookies,
                body: body, isBase64Encoded: !text)
            return try JSONEncoder().encode(out)
        } else {
            let out = V1Response(
                statusCode: Int(response.status.code), headers: single, multiValueHeaders: multi, body: body, isBase64Encoded: !text)
            return try JSONEncoder().encode(out)
        }
    }
}

struct V2Response: Encodable {
    var statusCode: Int
    var headers: [String: String]
    var cookies: [String]?
    var body: String
    var isBase64Encoded: Bool
}

struct V1Response: Encodable {
    var statusCode: Int
    var headers: [String: String]
    var multiValueHeaders: [String: [String]]
    var body: String
    var isBase64Encoded: Bool
}

final class BodyCollector {
    var buffer = ByteBuffer()
}

struct CollectingWriter: ResponseBodyWriter {
    let collector: BodyCollector
    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        collector.buffer.writeBuffer(&buffer)
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
