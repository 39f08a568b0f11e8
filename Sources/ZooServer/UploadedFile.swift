import Foundation

/// Uploads as files the readers take (libsndfile and libpng read paths): a fresh file of the
/// server's own in the temporary directory, removed after use. A request never names a file.
enum UploadedFile {
    static func with<T>(_ bytes: [UInt8], suffix: String, _ body: (String) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zoo-serve-\(UUID().uuidString)\(suffix)"
        ).path
        guard
            FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        else {
            throw APIError(.internalServerError, "the server could not store the upload in its temporary directory")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    /// A reader's error about the upload, in the caller's words: "the uploaded file", not the
    /// server's temporary path.
    static func describe(_ error: some Error, path: String) -> String {
        "\(error)".replacingOccurrences(of: path, with: "the uploaded file")
    }

    /// A picture that `draw` writes to a file, as a `data:image/png;base64,...` URL.
    static func pngDataURL(_ draw: (String) throws -> Void) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-serve-\(UUID().uuidString).png")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try draw(path)
        return "data:image/png;base64," + (try Data(contentsOf: URL(fileURLWithPath: path))).base64EncodedString()
    }
}

/// What a PNG's first bytes say, checked before anything is decoded: the signature, and the
/// pixel count its header declares (a small file can declare a huge image: a decompression bomb).
enum PNGHeader {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func check(_ bytes: [UInt8], pixelLimit: Int) throws {
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw APIError.unsupportedMediaType(
                "the upload is not a PNG image (its first bytes are not PNG's signature); the captioner reads PNG: convert other formats first"
            )
        }
        // IHDR comes first: length (4), "IHDR" (4), width (4), height (4), big-endian.
        guard bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8) else {
            throw APIError(.unprocessableContent, "the PNG is truncated or corrupt: it has no image header (IHDR)")
        }
        func word(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        let width = word(16), height = word(20)
        guard width > 0, height > 0 else {
            throw APIError(.unprocessableContent, "the PNG's header declares a \(width)×\(height) image")
        }
        guard width * height <= pixelLimit else {
            throw APIError(
                .contentTooLarge,
                "the PNG declares \(width)×\(height) pixels, more than the \(pixelLimit) this server decodes; scale it down first"
            )
        }
    }
}
