import Foundation

final class ZooRunnerAnchor {}

/// The `zoo` binary next to the test bundle in the build folder.
var zooExecutable: URL {
    var directory = Bundle(for: ZooRunnerAnchor.self).bundleURL
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("zoo").path), directory.path != "/" {
        directory.deleteLastPathComponent()
    }
    return directory.appendingPathComponent("zoo")
}

/// Runs the built `zoo` with `arguments`, as a user would, and collects what it printed.
@discardableResult
func zoo(_ arguments: [String], environment: [String: String] = [:], workingDirectory: String? = nil) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    let process = Process()
    process.executableURL = zooExecutable
    if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
