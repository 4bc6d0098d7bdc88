import HTTPTypes
import Hummingbird
import Logging
import ShopSupport
import ShopTelemetry
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one middleware in front of every route, on both hosts. Each layer of middleware costs every request an
/// async frame and a copy of the context, so the steps every request takes are one function (they were five
/// middleware; docs/BENCHMARKS.md, "Reads, faster still", has what that measured), in this order:
/// 1. **Trace and metrics.** A valid W3C `traceparent` is continued (its trace id as `trace_id` in the request's
///    log lines, a new span id), an invalid or missing one starts a new trace; the answer carries this server's
///    `traceparent`. Every request is counted and timed by route template (Hummingbird's matched path, such as
///    `/products/{id}`; `unmatched` for a path no route knows, so unknown paths add no series), method and status
///    class.
/// 2. **Cross-origin access**, when origins are listed (`CrossOrigin`): preflights answered, answers marked.
/// 3. **The request id and the error envelope.** Every request gets an id (`X-Request-Id` on every answer,
///    errors included); every error becomes the envelope; a body announced as over 1 MiB is refused first.
/// 4. **The website's files** (`shop serve` with a site): `GET`/`HEAD` of a file answered here.
/// 5. **The caller** (`Authentication`), then the route.
struct RequestMiddleware<Context: ShopRequestContext>: RouterMiddleware {
    let crossOrigin: CrossOrigin?
    let site: WebSite?
    let authentication: Authentication

    static var unmatchedRoute: String { "unmatched" }
    static var websiteRoute: String { "/{web file}" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let trace = TraceParent.continuing(request.headers[.traceparent])
        var context = context
        context.requestId = ErrorEnvelope.requestId(from: request)
        // Both keys on one copy of the logger: each copy is an allocation and a copy of its metadata.
        context.logger[metadataKey: "trace_id"] = .string(trace.traceId)
        context.logger[metadataKey: "request_id"] = .string(context.requestId)
        var response: Response
        do {
            if let preflight = try crossOrigin?.preflight(request, requestId: context.requestId) {
                response = preflight
            } else {
                response = try await answer(request, context: context, next: next)
                crossOrigin?.mark(&response, for: request)
            }
        } catch {
            record(request, context: context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), started: started)
            throw error
        }
        response.headers[.traceparent] = trace.header
        record(request, context: context, status: Int(response.status.code), started: started)
        return response
    }

    /// Steps 3 to 5: the route's answer, or the envelope of its error, with the request id (`handle` chose it).
    private func answer(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var response: Response
        var cause: String?
        do {
            // Refuse an announced oversized body before any handler reads it.
            // Image uploads have their own, larger limit (checked by their handler).
            if let length = request.headers[.contentLength].flatMap(Int.init), length > 1 << 20,
                !request.uri.path.hasPrefix("/uploads/")
            {
                throw APIError(.contentTooLarge, "payload_too_large", "The request body is larger than 1 MiB.")
            }
            if let site, let file = site.response(for: request) {
                // One route label for every file, for the request metrics.
                context.coreContext.endpointPath.value = Self.websiteRoute
                response = file
            } else {
                await authentication.identify(request, context: &context)
                response = try await next(request, context)
            }
        } catch let error as APIError {
            cause = error.cause
            if error.code == "busy" { ShopMetrics.busy() }
            response = try ErrorEnvelope.response(error)
        } catch let error as HTTPError {
            response = try ErrorEnvelope.response(ErrorEnvelope.translate(error, request: request))
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            response = try ErrorEnvelope.response(.internalError)
        }
        response.headers[.requestId] = context.requestId
        if response.status.code >= 500 {
            context.logger.error(
                "request failed",
                metadata: [
                    "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
                    "cause": "\(cause ?? "see above")",
                ])
        }
        return response
    }

    func record(_ request: Request, context: Context, status: Int, started: ContinuousClock.Instant) {
        let route: String
        switch context.endpointPath {
        case nil, "NotFound": route = Self.unmatchedRoute
        case let path?: route = path
        }
        ShopMetrics.request(route: route, method: request.method.rawValue, status: status, duration: ContinuousClock.now - started)
    }
}

/// The error envelope (`{"error": {"code", "message", "details"?}}`) and request ids.
enum ErrorEnvelope {
    static func response(_ error: APIError) throws -> Response {
        try JSONCoding.response(error.body, status: error.status, headers: error.headers)
    }

    static func translate(_ error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            return APIError(.notFound, "route_not_found", "There is no route \(request.method) \(request.uri.path).")
        case .contentTooLarge:
            return APIError(.contentTooLarge, "payload_too_large", "The request body is larger than 1 MiB.")
        case .badRequest:
            return APIError(.badRequest, "bad_request", "The request is not valid.")
        default:
            let status = error.status
            let code = status.reasonPhrase.lowercased().replacing(" ", with: "_")
            return APIError(
                status, code.isEmpty ? "http_error" : code, status.reasonPhrase.isEmpty ? "HTTP \(status.code)" : status.reasonPhrase + ".")
        }
    }

    /// A caller's own request id is kept if it is short and plain; otherwise a new one.
    static func requestId(from request: Request) -> String {
        if let given = request.headers[.requestId], (1...128).contains(given.utf8.count),
            given.utf8.allSatisfy(isPlain)
        {
            return given
        }
        return RequestIds.next()
    }
}

/// New request ids: lower-case random (version 4 layout) UUIDs. `UUID().uuidString` asked the kernel for
/// randomness and formatted with `snprintf` on every request; these come from a xoshiro256** generator
/// seeded once from the system's generator. A request id only has to be unique, not secret.
enum RequestIds {
    private static let state = Mutex<(UInt64, UInt64, UInt64, UInt64)>(
        {
            var system = SystemRandomNumberGenerator()
            return (system.next(), system.next(), system.next(), system.next() | 1)
        }())

    static func next() -> String {
        let (high, low) = state.withLock { s -> (UInt64, UInt64) in
            func step(_ s: inout (UInt64, UInt64, UInt64, UInt64)) -> UInt64 {
                let result = rotate(s.1 &* 5, 7) &* 9
                let t = s.1 << 17
                s.2 ^= s.0
                s.3 ^= s.1
                s.1 ^= s.2
                s.0 ^= s.3
                s.2 ^= t
                s.3 = rotate(s.3, 45)
                return result
            }
            return (step(&s), step(&s))
        }
        // Version 4 and the RFC 4122 variant, as UUID() makes them.
        let a = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let b = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            func put(_ value: UInt64, nibbles: Int) {
                for shift in stride(from: (nibbles - 1) * 4, through: 0, by: -4) {
                    buffer[index] = HexDigits.lower[Int((value >> UInt64(shift)) & 0xF)]
                    index += 1
                }
            }
            func dash() {
                buffer[index] = UInt8(ascii: "-")
                index += 1
            }
            put(a >> 32, nibbles: 8)
            dash()
            put(a >> 16, nibbles: 4)
            dash()
            put(a, nibbles: 4)
            dash()
            put(b >> 48, nibbles: 4)
            dash()
            put(b, nibbles: 12)
            return index
        }
    }

    private static func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

private func isPlain(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
        true
    case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
        true
    default:
        false
    }
}

extension HTTPField.Name {
    static let requestId = Self("X-Request-Id")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let traceparent = Self("traceparent")!
}
