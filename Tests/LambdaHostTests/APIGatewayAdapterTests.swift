import Foundation
import HTTPTypes
import Hummingbird
import LambdaHost
import Logging
import NIOCore
import Testing

/// The API Gateway adapter on its own: events in the shapes AWS documents for HTTP API payload 2.0
/// and REST API payload 1.0, through a small router that echoes what it was given.
@Suite struct APIGatewayAdapterTests {
    struct EchoContext: RequestContext {
        typealias Source = FunctionRequestContextSource
        var coreContext: CoreRequestContextStorage
        let claims: [String: String]?
        let apiRequestId: String?
        init(source: FunctionRequestContextSource) {
            coreContext = .init(source: source)
            claims = source.authorizerClaims
            apiRequestId = source.apiRequestId
        }
    }

    struct Echo: ResponseEncodable {
        var method: String
        var path: String
        var query: String
        var cookie: String?
        var multi: [String]
        var body: String
        var claims: [String: String]?
        var apiRequestId: String?
    }

    static func router() -> Router<EchoContext> {
        let router = Router(context: EchoContext.self)
        router.on("/echo", method: .post, use: echo)
        router.on("/echo", method: .get, use: echo)
        router.get("/binary") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: [0x89, 0x50, 0x00, 0xff])))
        }
        router.get("/cookies") { _, _ in
            var fields = HTTPFields()
            fields.append(HTTPField(name: .setCookie, value: "a=1; Path=/"))
            fields.append(HTTPField(name: .setCookie, value: "b=2; HttpOnly"))
            fields.append(HTTPField(name: HTTPField.Name("X-Multi")!, value: "one"))
            fields.append(HTTPField(name: HTTPField.Name("X-Multi")!, value: "two"))
            fields[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .created, headers: fields, body: .init(byteBuffer: ByteBuffer(string: "héllo")))
        }
        return router
    }

    @Sendable static func echo(_ request: Request, context: EchoContext) async throws -> Echo {
        let body = try await request.body.collect(upTo: 1 << 20)
        return Echo(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
            cookie: request.headers[.cookie], multi: request.headers[values: HTTPField.Name("X-Multi")!],
            body: String(buffer: body), claims: context.claims, apiRequestId: context.apiRequestId)
    }

    static let invocation = LambdaContext(
        requestID: "aws-request-1", traceID: nil, invokedFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:shop",
        deadline: Date(timeIntervalSince1970: 0), logger: Logger(label: "test"))

    static func handle(_ event: String, trust: Bool = false) async throws -> [String: Any] {
        let adapter = APIGatewayAdapter(responder: router().buildResponder(), trustAuthorizerClaims: trust)
        let result = try await adapter.handle(ByteBuffer(string: event), context: invocation)
        return try #require(try JSONSerialization.jsonObject(with: Data(buffer: result)) as? [String: Any])
    }

    static func bodyJSON(_ response: [String: Any]) throws -> [String: Any] {
        let text = try #require(response["body"] as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// A payload 2.0 event as AWS documents it (trimmed), with the parts a test varies.
    static func v2(
        method: String = "POST", path: String = "/echo", query: String = "a=1&b=x%20y", body: String? = #"{"k":"v"}"#,
        base64: Bool = false, claims: String? = nil
    ) -> String {
        let bodyField =
            body.map { #""body": "\#(base64 ? Data($0.utf8).base64EncodedString() : $0.replacingOccurrences(of: "\"", with: "\\\""))","# }
            ?? ""
        let authorizer = claims.map { #""authorizer": {"jwt": {"claims": \#($0), "scopes": null}},"# } ?? ""
        return """
            {"version": "2.0", "routeKey": "$default", "rawPath": "\(path)", "rawQueryString": "\(query)",
             "cookies": ["c1=v1", "c2=v2"],
             "headers": {"content-type": "application/json", "x-multi": "one,two", "host": "api.example.com"},
             "queryStringParameters": {"a": "1", "b": "x y"},
             "requestContext": {"accountId": "123456789012", "apiId": "api-id", \(authorizer)
               "domainName": "api.example.com", "http": {"method": "\(method)", "path": "\(path)", "protocol": "HTTP/1.1",
               "sourceIp": "192.0.2.1", "userAgent": "agent"}, "requestId": "api-req-1", "routeKey": "$default", "stage": "$default",
               "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390},
             \(bodyField) "pathParameters": {"proxy": "echo"}, "isBase64Encoded": \(base64), "stageVariables": null}
            """
    }

    @Test func v2RequestReachesTheRouterAsSent() async throws {
        let response = try await Self.handle(Self.v2())
        #expect(response["statusCode"] as? Int == 200)
        let echo = try Self.bodyJSON(response)
        #expect(echo["method"] as? String == "POST")
        #expect(echo["path"] as? String == "/echo")
        #expect(echo["query"] as? String == "a=1&b=x%20y", "rawQueryString goes through untouched")
        #expect(echo["cookie"] as? String == "c1=v1; c2=v2")
        #expect(echo["multi"] as? [String] == ["one,two"], "comma-joined header values stay one field")
        #expect(echo["body"] as? String == #"{"k":"v"}"#)
        #expect(echo["apiRequestId"] as? String == "api-req-1")
        #expect(response["isBase64Encoded"] as? Bool == false)
    }

    @Test func v2Base64BodyIsDecoded() async throws {
        let response = try await Self.handle(Self.v2(body: "binary\u{1}body", base64: true))
        #expect(try Self.bodyJSON(response)["body"] as? String == "binary\u{1}body")
    }

    @Test func authorizerClaimsReachTheContextOnlyWhenTrusted() async throws {
        let claims = #"{"sub": "user-1", "cognito:groups": "[admin]", "exp": 1700000600, "email_verified": true}"#
        let untrusted = try Self.bodyJSON(try await Self.handle(Self.v2(claims: claims)))
        #expect(untrusted["claims"] == nil)
        let trusted = try Self.bodyJSON(try await Self.handle(Self.v2(claims: claims), trust: true))
        #expect(
            trusted["claims"] as? [String: String] == [
                "sub": "user-1", "cognito:groups": "[admin]", "exp": "1700000600", "email_verified": "true",
            ])
    }

    @Test func v2ResponseCarriesCookiesAndJoinedHeaders() async throws {
        let response = try await Self.handle(Self.v2(method: "GET", path: "/cookies", query: "", body: nil))
        #expect(response["statusCode"] as? Int == 201)
        #expect(response["cookies"] as? [String] == ["a=1; Path=/", "b=2; HttpOnly"])
        // Header names come back in lowercase, as HTTP/2 writes them.
        let headers = try #require(response["headers"] as? [String: String])
        #expect(headers["x-multi"] == "one,two")
        #expect(headers["set-cookie"] == nil, "payload 2.0 returns cookies in their own field")
        #expect(response["body"] as? String == "héllo")
        #expect(response["isBase64Encoded"] as? Bool == false)
    }

    @Test func binaryResponsesAreBase64() async throws {
        let response = try await Self.handle(Self.v2(method: "GET", path: "/binary", query: "", body: nil))
        #expect(response["isBase64Encoded"] as? Bool == true)
        #expect((response["body"] as? String).flatMap { Data(base64Encoded: $0) } == Data([0x89, 0x50, 0x00, 0xff]))
    }

    /// A REST API `aws-proxy` event (payload 1.0) as AWS documents it (trimmed).
    static let v1Event = """
        {"resource": "/{proxy+}", "path": "/echo", "httpMethod": "GET",
         "headers": {"Host": "api.example.com", "X-Multi": "two"},
         "multiValueHeaders": {"Host": ["api.example.com"], "X-Multi": ["one", "two"]},
         "queryStringParameters": {"q": "last"},
         "multiValueQueryStringParameters": {"q": ["a b", "last"], "limit": ["5"]},
         "pathParameters": {"proxy": "echo"}, "stageVariables": null,
         "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "GET", "requestId": "rest-req-1", "stage": "prod",
           "authorizer": {"claims": {"sub": "ignored"}}},
         "body": null, "isBase64Encoded": false}
        """

    @Test func v1RequestUsesTheMultiValueFields() async throws {
        let response = try await Self.handle(Self.v1Event)
        #expect(response["statusCode"] as? Int == 200)
        let echo = try Self.bodyJSON(response)
        #expect(echo["method"] as? String == "GET")
        #expect(echo["path"] as? String == "/echo")
        #expect(echo["query"] as? String == "limit=5&q=a%20b&q=last")
        #expect(echo["multi"] as? [String] == ["one", "two"])
        #expect(echo["apiRequestId"] as? String == "rest-req-1")
        #expect(response["multiValueHeaders"] != nil)
        #expect(response["cookies"] == nil)
    }

    @Test func v1ResponseKeepsRepeatedHeaders() async throws {
        let event = Self.v1Event.replacingOccurrences(of: #""path": "/echo""#, with: #""path": "/cookies""#)
        let response = try await Self.handle(event)
        let multi = try #require(response["multiValueHeaders"] as? [String: [String]])
        #expect(multi["set-cookie"] == ["a=1; Path=/", "b=2; HttpOnly"])
        #expect(multi["x-multi"] == ["one", "two"])
    }

    @Test func pathsTheRouterDoesNotKnowAreItsOwn404() async throws {
        // A function serves one area by registering only that area's routes; the adapter passes every path on.
        let response = try await Self.handle(Self.v2(path: "/elsewhere"))
        #expect(response["statusCode"] as? Int == 404)
    }

    @Test(arguments: [
        #""not an event""#,
        #"{"version": "2.0", "rawPath": "/echo", "requestContext": {}}"#,
        #"{"version": "2.0", "rawPath": "/echo", "requestContext": {"http": {"method": "POST"}}, "body": "***", "isBase64Encoded": true}"#,
        #"{"path": "/echo"}"#,
    ])
    func eventsThatAreNotProxyEventsThrow(_ event: String) async throws {
        await #expect(throws: APIGatewayEventError.self) {
            _ = try await Self.handle(event)
        }
    }
}
