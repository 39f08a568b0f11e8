import Foundation

/// Collects what a C library prints on stderr while `body` runs (libmpg123 reports damaged
/// frames there, not through libsndfile). stderr is one per process, so captures take turns,
/// and what another thread prints meanwhile lands in the capture too: the caller passes on
/// the lines that are not the library's.
enum StandardErrorCapture {
    private static let lock = NSLock()

    static func capturing<T>(_ body: () throws -> T) throws -> (T, String) {
        lock.lock()
        defer { lock.unlock() }
        fflush(nil)
        guard let file = tmpfile() else { return (try body(), "") }
        defer { fclose(file) }
        let saved = dup(STDERR_FILENO)
        guard saved >= 0, dup2(fileno(file), STDERR_FILENO) >= 0 else {
            if saved >= 0 { close(saved) }
            return (try body(), "")
        }
        func restore() -> String {
            fflush(nil)
            dup2(saved, STDERR_FILENO)
            close(saved)
            rewind(file)
            var data = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = fread(&buffer, 1, buffer.count, file)
                if count <= 0 { break }
                data.append(contentsOf: buffer[0..<count])
            }
            return String(decoding: data, as: UTF8.self)
        }
        let result: T
        do { result = try body() } catch {
            _ = restore()
            throw error
        }
        return (result, restore())
    }
}
