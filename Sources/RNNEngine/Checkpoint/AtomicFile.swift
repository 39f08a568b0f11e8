import Foundation

/// Writes `data` to `path` so that a reader sees either the old file or the whole new one:
/// a temporary file in the same directory, flushed to disk, then renamed over the target.
/// An interrupted write never destroys the checkpoint a user already had.
public func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent().path
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw CheckpointError.writeFailed(path: path, reason: "directory \(directory) does not exist")
    }
    let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else {
        throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
    }
    var failure: String?
    data.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno)); return
            }
            offset += written
        }
    }
    if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
    close(fd)
    if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
    if let failure {
        unlink(temporary)
        throw CheckpointError.writeFailed(path: path, reason: failure)
    }
}

/// Creates `path` and its parents, with a failure in words ("permission denied", "a file is in
/// the way") instead of Foundation's error domain and code.
public func createDirectory(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw CheckpointError.writeFailed(path: path, reason: "it is a file, not a directory") }
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
