import Foundation
import HTTPTypes
import Hummingbird

/// An error answered as JSON, `{"error": "..."}`, with its status: what a person reads in the
/// page and a program in the API.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    /// Seconds a client should wait before trying again (503).
    public let retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code): \(message)" }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    static func unsupportedMediaType(_ message: String) -> APIError { APIError(.unsupportedMediaType, message) }

    static func tooLarge(_ what: String, limit: Int) -> APIError {
        APIError(.contentTooLarge, "\(what) is larger than the \(byteCount(limit)) this server accepts")
    }

    /// The response: the JSON body, its status and, for 503, Retry-After.
    func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: jsonBody(["error": message]))))
    }
}

/// `n` bytes the way a person reads them: 64 KiB, 16 MiB.
func byteCount(_ n: Int) -> String {
    n >= 1 << 20 && n % (1 << 20) == 0
        ? "\(n >> 20) MiB" : n >= 1 << 10 && n % (1 << 10) == 0 ? "\(n >> 10) KiB" : "\(n) bytes"
}

/// A JSON object with sorted keys, slashes left as they are.
func jsonBody<T: Encodable>(_ value: T) -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return (try? encoder.encode(value)) ?? Data(#"{"error":"the answer could not be encoded"}"#.utf8)
}

/// Every error a route throws, and every route that does not exist, answered as JSON.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as HTTPError {
            let message: String
            switch error.status {
            case .notFound:
                message = "no such endpoint: \(request.method) \(request.uri.path) (GET /openapi.json lists them)"
            case .methodNotAllowed: message = "\(request.uri.path) does not take \(request.method)"
            case .contentTooLarge: message = "the request body is larger than this server accepts"
            default: message = error.body ?? error.status.reasonPhrase
            }
            return APIError(error.status, message).response()
        } catch {
            return APIError(.internalServerError, "\(error)").response()
        }
    }
}

/// With an API key, every `/v1/` request needs `Authorization: Bearer <key>`; the page, its
/// files, /healthz and /openapi.json stay open.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.uri.path.hasPrefix("/v1/") else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header == "Bearer \(key)" else {
            var response = APIError(.unauthorized, "this server needs an API key: send `Authorization: Bearer <key>`")
                .response()
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }
}
