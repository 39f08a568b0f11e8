import Foundation
import XCTest
@testable import ZooCLI

/// Runs the built `zoo` executable as a user would.
final class ZooCLITests: XCTestCase {
    /// The `zoo` binary next to the test bundle in the build folder.
    static var zooExecutable: URL {
        var directory = Bundle(for: ZooCLITests.self).bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("zoo").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("zoo")
    }

    @discardableResult
    func zoo(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = Self.zooExecutable
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

    func testInfoJSON() throws {
        let result = try zoo(["info", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertNotNil(object["kernel"] as? String)
        XCTAssertGreaterThan(object["sgemm_gflops"] as? Double ?? 0, 0)
        XCTAssertEqual(object["threads"] as? Int, 2)
    }

    func testBenchPrintsReferenceFields() throws {
        let result = try zoo(["bench", "--only", "ctc-loss", "--seconds", "0.05"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["bench"] as? String, "ctc-loss")
        for key in ["frames_per_s", "ms_per_step", "batch", "frames", "symbols", "label_length"] {
            XCTAssertNotNil(object[key], key)
        }
    }

    func testBenchRejectsUnknownWorkload() throws {
        let result = try zoo(["bench", "--only", "transformer"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("unknown workload 'transformer'"), result.stderr)
    }

    func testUserChosenKernelIsKept() throws {
        let result = try zoo(["info", "--json"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("\"openblas_coretype\":\"Haswell\""), result.stdout)
    }
}
