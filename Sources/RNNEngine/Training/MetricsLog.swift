import Foundation

/// The metrics log of a run: one JSON object per line (`metrics.jsonl`), appended as training
/// goes. On resume, lines past the resumed step (written after the last save) are dropped.
final class MetricsLog {
    let path: String

    init(path: String, keepingStepsUpTo step: Int) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CheckpointError.writeFailed(path: path, reason: "cannot create the metrics log")
            }
            return
        }
        // An unreadable log is an error: replacing it with the lines that could be read (none)
        // would lose the run's history without a word.
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CheckpointError.unreadable(
                path: path,
                reason: "cannot read the run's metrics log (\(fileErrorReason(error))); "
                    + "move it aside to resume without it")
        }
        let kept = text.split(separator: "\n").filter { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let lineStep = object["step"] as? Int
            else { return false }
            return lineStep <= step
        }
        try writeAtomically(Data(kept.map { $0 + "\n" }.joined().utf8), to: path)
    }

    func append(_ fields: [(String, JSONValue)]) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CheckpointError.writeFailed(path: path, reason: "cannot open for appending")
        }
        defer { try? handle.close() }
        // The throwing calls: the old `write(_:)` traps on a full disk instead of reporting it.
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data((jsonLine(fields) + "\n").utf8))
        } catch {
            throw CheckpointError.writeFailed(path: path, reason: fileErrorReason(error))
        }
    }
}
