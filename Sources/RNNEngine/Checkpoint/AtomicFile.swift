import Foundation

/// Writes `data` to `path` so that a reader sees either the old file or the whole new one:
/// a temporary file in the same directory, flushed to disk, then renamed over the target.
/// An interrupted write never destroys the checkpoint a user already had.
public func writeAtomically(_ data: Data, to path: String) throws {
    try replaceAtomically(path) { temporary in
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if let failure { throw CheckpointError.writeFailed(path: path, reason: failure) }
    }
}

/// Replaces `path` with what `write` puts in the temporary path it is given (in the same
/// directory, so the rename cannot cross file systems): flushed to disk, then renamed over the
/// target, and removed if anything fails. `write`'s errors come through as they are; the
/// flush's and the rename's name `path`.
public func replaceAtomically(_ path: String, write: (_ temporary: String) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CheckpointError.writeFailed(path: path, reason: "directory \(directory) does not exist")
    }
    let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    do {
        try write(temporary)
        // Flushed before the rename: after a power cut the name points at the whole new file
        // or at the old one, never at an empty one.
        let fd = open(temporary, O_RDONLY)
        guard fd >= 0, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw CheckpointError.writeFailed(path: path, reason: reason)
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    } catch {
        unlink(temporary)
        throw error
    }
}

/// Creates `path` and its parents, with a failure in words ("permission denied", "a file is in
/// the way") instead of Foundation's error domain and code.
public func createDirectory(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else {
            throw CheckpointError.writeFailed(path: path, reason: "it is a file, not a directory")
        }
        return
    }
    // A file where a parent directory should be is the usual cause; name it.
    var parent = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
    while parent.path != "/" {
        if FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CheckpointError.writeFailed(path: path, reason: "\(parent.path) is a file, not a directory")
            }
            break
        }
        parent.deleteLastPathComponent()
    }
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        throw CheckpointError.writeFailed(path: path, reason: fileErrorReason(error))
    }
}

/// What went wrong with a file operation, in words: the POSIX reason under a Foundation error.
public func fileErrorReason(_ error: Error) -> String {
    let error = error as NSError
    if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))) }
    switch error.code {
    case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
    case NSFileWriteFileExistsError: return "a file is in the way"
    case NSFileWriteOutOfSpaceError: return "no space left on the device"
    case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or directory"
    case NSFileWriteVolumeReadOnlyError: return "read-only file system"
    default: return "the system refused (error \(error.code))"
    }
}
