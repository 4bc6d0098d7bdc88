import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ShopSupport

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where a Lambda-hosted request context comes from: the invocation and the API Gateway event.
public struct FunctionRequestContextSource: RequestContextSource {
    public var logger: Logger
    public var invocation: LambdaContext
    /// `requestContext.requestId` of the API Gateway event.
    public var apiRequestId: String?
    /// `requestContext.authorizer.jwt.claims` (v2), passed on only by an adapter told to trust
    /// them (API Gateway's JWT authorizer verified them); otherwise nil.
    public var authorizerClaims: [String: String]?

    public init(logger: Logger, invocation: LambdaContext, apiRequestId: String?, authorizerClaims: [String: String]?) {
        self.logger = logger
        self.invocation = invocation
        self.apiRequestId = apiRequestId
        self.authorizerClaims = authorizerClaims
    }
}

/// A claim value of a JWT authorizer: a string, or (in tests and some authorizers) another JSON scalar.
public struct AuthorizerClaim: Decodable, Sendable {
    public var text: String
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let s = try? container.decode(String.self) {
            text = s
        } else if let i = try? container.decode(Int64.self) {
            text = String(i)
        } else if let d = try? container.decode(Double.self) {
            text = String(d)
        } else if let b = try? container.decode(Bool.self) {
            text = String(b)
        } else if let a = try? container.decode([String].self) {
            text = "[" + a.joined(separator: " ") + "]"
        } else {
            text = ""
        }
    }
}

/// `requestContext.authorizer` as API Gateway's JWT authorizer fills it.
public struct APIGatewayAuthorizer: Decodable, Sendable {
    public struct JWT: Decodable, Sendable {
        public var claims: [String: AuthorizerClaim]?
    }
    public var jwt: JWT?
}

/// An HTTP API event, payload format 2.0 (swift-aws-lambda-events' `APIGatewayV2Request`).
public struct APIGatewayV2Request: Decodable, Sendable {
    public struct Context: Decodable, Sendable {
        public struct HTTP: Decodable, Sendable {
            public var method: String
            public var path: String?
        }
        public var http: HTTP
        public var requestId: String?
        public var authorizer: APIGatewayAuthorizer?
    }
    public var version: String?
    public var rawPath: String
    public var rawQueryString: String?
    public var cookies: [String]?
    public var headers: [String: String?]?
    public var body: String?
    public var isBase64Encoded: Bool?
    public var requestContext: Context
}

/// The answer to an HTTP API event, payload format 2.0 (`APIGatewayV2Response`).
public struct APIGatewayV2Response: Encodable, Sendable {
    public var statusCode: Int
    public var headers: [String: String]
    public var cookies: [String]?
    public var body: String
    public var isBase64Encoded: Bool
}

/// A REST API proxy event, payload format 1.0 (swift-aws-lambda-events' `APIGatewayRequest`).
public struct APIGatewayRequest: Decodable, Sendable {
    public struct Context: Decodable, Sendable {
        public var requestId: String?
        public var authorizer: APIGatewayAuthorizer?
    }
    public var httpMethod: String
    public var path: String
    public var headers: [String: String?]?
    public var multiValueHeaders: [String: [String]?]?
    public var queryStringParameters: [String: String]?
    public var multiValueQueryStringParameters: [String: [String]?]?
    public var body: String?
    public var isBase64Encoded: Bool?
    public var requestContext: Context?
}

/// The answer to a REST API proxy event (`APIGatewayResponse`).
public struct APIGatewayResponse: Encodable, Sendable {
    public var statusCode: Int
    public var headers: [String: String]
    public var multiValueHeaders: [String: [String]]
    public var body: String
    public var isBase64Encoded: Bool
}

/// Which payload format an event is in: 2.0 names itself (or has `rawPath`).
struct APIGatewayPayloadVersion: Decodable {
    var version: String?
    var rawPath: String?
    var isV2: Bool { version == "2.0" || rawPath != nil }
}

/// Error raised when an event is not an API Gateway proxy event; it becomes a function error.
public struct APIGatewayEventError: Error, CustomStringConvertible {
    public let description: String
}

/// Turns API Gateway proxy events into Hummingbird requests for `responder`, and its responses back.
public struct APIGatewayAdapter<Responder: HTTPResponder>: Sendable
where Responder.Context: RequestContext, Responder.Context.Source == FunctionRequestContextSource {
    let responder: Responder
    /// Pass `requestContext.authorizer.jwt.claims` on to the context as verified.
    let trustAuthorizerClaims: Bool

    public init(responder: Responder, trustAuthorizerClaims: Bool = false) {
        self.responder = responder
        self.trustAuthorizerClaims = trustAuthorizerClaims
    }

    public func handle(_ event: ByteBuffer, context invocation: LambdaContext) async throws -> ByteBuffer {
        let (request, v2, apiRequestId, authorizer) = try {
            let decoded = try APIGatewayEvents.decode(event)
            return (decoded.request, decoded.v2, decoded.apiRequestId, decoded.authorizer)
        }()
        var claims: [String: String]?
        if trustAuthorizerClaims, let given = authorizer?.jwt?.claims {
            claims = given.mapValues(\.text)
        }
        var logger = invocation.logger
        if let apiRequestId {
            logger[metadataKey: "api_request_id"] = .string(apiRequestId)
        }
        let source = FunctionRequestContextSource(
            logger: logger, invocation: invocation, apiRequestId: apiRequestId, authorizerClaims: claims)
        let response = try await responder.respond(to: request, context: Responder.Context(source: source))
        return ByteBuffer(bytes: try await Self.encode(response, v2: v2))
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
        let body: String =
            text
            ? String(buffer: bytes)
            : Data(buffer: bytes).base64EncodedString()
        if v2 {
            let out = APIGatewayV2Response(
                statusCode: Int(response.status.code), headers: single, cookies: cookies.isEmpty ? nil : cookies,
                body: body, isBase64Encoded: !text)
            return try JSONEncoder().encode(out)
        } else {
            let out = APIGatewayResponse(
                statusCode: Int(response.status.code), headers: single, multiValueHeaders: multi, body: body, isBase64Encoded: !text)
            return try JSONEncoder().encode(out)
        }
    }
}

/// Turning API Gateway events into Hummingbird requests, apart from any responder.
public enum APIGatewayEvents {
    /// An event decoded: the Hummingbird request, its payload version, and what the context needs.
    public struct DecodedEvent {
        public var request: Request
        public var v2: Bool
        public var apiRequestId: String?
        public var authorizer: APIGatewayAuthorizer?
    }

    /// Decodes an API Gateway event (payload 2.0 or 1.0) into a request, or throws `APIGatewayEventError`.
    /// Public and synchronous so that the fuzzer can drive it with arbitrary bytes.
    public static func decode(_ event: ByteBuffer) throws -> DecodedEvent {
        let data = Data(buffer: event)
        let request: Request
        let apiRequestId: String?
        let authorizer: APIGatewayAuthorizer?
        let v2: Bool
        do {
            v2 = try JSONDecoder().decode(APIGatewayPayloadVersion.self, from: data).isV2
            if v2 {
                let decoded = try JSONDecoder().decode(APIGatewayV2Request.self, from: data)
                request = try Self.request(from: decoded)
                (apiRequestId, authorizer) = (decoded.requestContext.requestId, decoded.requestContext.authorizer)
            } else {
                let decoded = try JSONDecoder().decode(APIGatewayRequest.self, from: data)
                request = try Self.request(from: decoded)
                (apiRequestId, authorizer) = (decoded.requestContext?.requestId, decoded.requestContext?.authorizer)
            }
        } catch let error as APIGatewayEventError {
            throw error
        } catch {
            throw APIGatewayEventError(description: "the event is not an API Gateway proxy event: \(error)")
        }
        return DecodedEvent(request: request, v2: v2, apiRequestId: apiRequestId, authorizer: authorizer)
    }

    static func request(from event: APIGatewayV2Request) throws -> Request {
        var fields = HTTPFields()
        var target = event.rawPath
        if let query = event.rawQueryString, !query.isEmpty { target += "?" + query }
        for (name, value) in event.headers ?? [:] {
            guard let value, let field = HTTPField.Name(name) else { continue }
            fields.append(HTTPField(name: field, value: value))
        }
        if let cookies = event.cookies, !cookies.isEmpty {
            fields[.cookie] = cookies.joined(separator: "; ")
        }
        return try request(
            method: event.requestContext.http.method, target: target, fields: fields, body: event.body, base64: event.isBase64Encoded)
    }

    static func request(from event: APIGatewayRequest) throws -> Request {
        var fields = HTTPFields()
        var target = event.path
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
        return try request(method: event.httpMethod, target: target, fields: fields, body: event.body, base64: event.isBase64Encoded)
    }

    static func request(method: String, target: String, fields: HTTPFields, body text: String?, base64: Bool?) throws -> Request {
        var fields = fields
        var body = ByteBuffer()
        if let text {
            if base64 == true {
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
            method: HTTPRequest.Method(method.uppercased()) ?? .get, scheme: "https",
            authority: HTTPField.Name("Host").flatMap { fields[$0] } ?? "lambda", path: target, headerFields: fields)
        return Request(head: head, body: RequestBody(buffer: body))
    }

    static func escape(_ text: String) -> String {
        PercentEncoding.encode(text)
    }

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
