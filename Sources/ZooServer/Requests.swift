import Foundation
import Hummingbird
import MultipartKit

/// `POST /v1/sample`.
struct SampleRequest: Decodable {
    var prompt: String?
    var length: Int?
    var temperature: Float?
    var topK: Int?
    var seed: UInt64?
    /// Server-sent events, one per token, instead of one JSON answer.
    var stream: Bool?

    enum CodingKeys: String, CodingKey {
        case prompt, length, temperature
        case topK = "top_k"
        case seed, stream
    }
}

/// `POST /v1/translate`.
struct TranslateRequest: Decodable {
    var text: String
    var beam: Int?
}

extension Request {
    /// The body, at most `limit` bytes; a larger one is a 413 naming `what`.
    func bodyBytes(upTo limit: Int, what: String) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw APIError.tooLarge(what, limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(what, limit: limit)
        }
    }

    /// A JSON body decoded as `T`, with a message that says what is wrong with it.
    func decodeJSON<T: Decodable>(_ type: T.Type, limit: Int) async throws -> T {
        let mediaType = headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
            .lowercased()
        guard mediaType == nil || mediaType == "application/json" else {
            throw APIError.unsupportedMediaType(
                "send the request as JSON (Content-Type: application/json), not \(mediaType!)")
        }
        let buffer = try await bodyBytes(upTo: limit, what: "the JSON body")
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("the request body is empty; send a JSON object")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError.badRequest("the JSON object has no \"\(key.stringValue)\"")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError.badRequest("\"\(field)\" has the wrong type: \(context.debugDescription)")
        } catch {
            throw APIError.badRequest("the body is not valid JSON")
        }
    }

    /// An uploaded file: the body itself (`curl --data-binary @file`), or the first file of a
    /// multipart form (the page's upload).
    func uploadedFile(limit: Int, what: String) async throws -> [UInt8] {
        let buffer = try await bodyBytes(upTo: limit, what: what)
        let contentType = headers[.contentType] ?? ""
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            guard let boundary = Self.parameter("boundary", of: contentType) else {
                throw APIError.badRequest("a multipart form needs a boundary in its Content-Type")
            }
            let parts: [MultipartPart]
            do {
                parts = try MultipartParser.parse(buffer, boundary: boundary)
            } catch {
                throw APIError.badRequest("the multipart form cannot be read (\(error))")
            }
            let isFile = { (part: MultipartPart) in
                part.headers.first(name: "Content-Disposition")?.lowercased().contains("filename") ?? false
            }
            guard let part = parts.first(where: isFile) ?? parts.first else {
                throw APIError.badRequest("the multipart form holds no file")
            }
            return Array(part.body.readableBytesView)
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; send the \(what)") }
        return Array(buffer.readableBytesView)
    }

    private static func parameter(_ name: String, of header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == name {
                return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }
}

extension MultipartParser {
    /// Every part of a complete multipart body.
    static func parse(_ buffer: ByteBuffer, boundary: String) throws -> [MultipartPart] {
        try checkHeaderNames(Array(buffer.readableBytesView), boundary: Array(("--" + boundary).utf8))
        var parts: [MultipartPart] = []
        var headers = HTTPHeaders()
        var body = ByteBuffer()
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { headers.replaceOrAdd(name: $0, value: $1) }
        parser.onBody = { body.writeBuffer(&$0) }
        parser.onPartComplete = {
            parts.append(MultipartPart(headers: headers, body: body))
            headers = HTTPHeaders()
            body = ByteBuffer()
        }
        try parser.execute(buffer)
        return parts
    }

    /// multipart-kit 4.7.1 looks up each byte of a part's header name in a table of 128 entries:
    /// a byte of 128 or more there stops the process (found by fuzzing `zoo serve`). So the
    /// names are checked first, where the parser reads them: after each boundary and its line
    /// break, every header line up to its colon, until the empty line.
    static func checkHeaderNames(_ bytes: [UInt8], boundary: [UInt8]) throws {
        let cr: UInt8 = 13, lf: UInt8 = 10, colon: UInt8 = 58
        var start = 0
        while let found = firstIndex(of: boundary, in: bytes, from: start) {
            var k = found + boundary.count
            start = k
            guard k + 1 < bytes.count, bytes[k] == cr, bytes[k + 1] == lf else { continue }
            k += 2
            // Header lines until an empty one.
            while k < bytes.count, bytes[k] != cr {
                var inName = true
                while k < bytes.count, bytes[k] != cr {
                    if bytes[k] == colon { inName = false }
                    if inName && bytes[k] >= 0x80 {
                        throw APIError.badRequest("a header of the multipart form has a byte outside ASCII in its name")
                    }
                    k += 1
                }
                k += 2  // past CR LF
            }
        }
    }

    private static func firstIndex(of needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        var i = start
        while i <= bytes.count - needle.count {
            if bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
