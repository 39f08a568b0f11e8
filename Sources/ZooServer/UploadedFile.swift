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
