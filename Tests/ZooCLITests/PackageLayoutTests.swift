import Foundation
import TestSupport
import XCTest

/// The floor plan of docs/architecture.md, checked against the package's own description
/// (`swift package dump-package`): the numeric core depends on no Swift target, the support
/// around it on the core alone, no task on another task, and the core's tests on the core alone.
final class PackageLayoutTests: XCTestCase {
    static let cTargets: Set<String> = ["CBLAS", "CKernels", "CSndFile", "CPNG", "CPNGCodec"]
    static let tasks: Set<String> = ["LanguageModel", "Translation", "SpeechRecognition", "ImageCaptioning"]

    /// Each target's name → the names of the targets and products it depends on.
    private func targetDependencies() throws -> [String: Set<String>] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // A scratch path of its own: `swift test` holds the lock on .build while this runs.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-dump-package-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        process.arguments = ["swift", "package", "--scratch-path", scratch, "dump-package"]
        process.currentDirectoryURL = URL(fileURLWithPath: repositoryPath(""))
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw XCTSkip("`swift package dump-package` is not available here (status \(process.terminationStatus))")
        }
        let package = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let targets = try XCTUnwrap(package["targets"] as? [[String: Any]])
        var result: [String: Set<String>] = [:]
        for target in targets {
            let name = try XCTUnwrap(target["name"] as? String)
            // Each dependency is {"byName"|"target"|"product": [name, ...]}.
            let names = (target["dependencies"] as? [[String: [Any]]] ?? []).compactMap {
                $0.values.first?.first as? String
            }
            result[name] = Set(names)
        }
        return result
    }

    func testTheCoreStandsAloneAndDependenciesPointOneWay() throws {
        let dependencies = try targetDependencies()
        let core = try XCTUnwrap(dependencies["RNNEngine"])
        XCTAssertTrue(
            core.isSubset(of: Self.cTargets), "RNNEngine depends on \(core.subtracting(Self.cTargets).sorted())")
        let support = try XCTUnwrap(dependencies["EngineSupport"])
        XCTAssertTrue(
            support.isSubset(of: Self.cTargets.union(["RNNEngine"])),
            "EngineSupport depends on \(support.subtracting(Self.cTargets.union(["RNNEngine"])).sorted())")
        let coreTests = try XCTUnwrap(dependencies["RNNEngineTests"])
        XCTAssertTrue(
            coreTests.isSubset(of: Self.cTargets.union(["RNNEngine", "TestSupport"])),
            "RNNEngineTests depends on \(coreTests.sorted())")
        XCTAssertEqual(dependencies["TestSupport"], ["RNNEngine"])
        for task in Self.tasks.sorted() {
            let uses = try XCTUnwrap(dependencies[task], task)
            XCTAssertTrue(
                uses.isDisjoint(with: Self.tasks),
                "\(task) depends on the task \(uses.intersection(Self.tasks).sorted())")
        }
    }

    /// The same rule in the sources: a core file that imported support or a task would fail to
    /// build only once someone added the dependency the test above forbids.
    func testNoCoreSourceImportsSupportOrATask() throws {
        let root = repositoryPath("Sources/RNNEngine")
        let files = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: root)).filter {
            $0.hasSuffix(".swift")
        }
        XCTAssertGreaterThan(files.count, 20)
        let forbidden = Self.tasks.union(["EngineSupport", "Datasets", "ZooCLI"])
        for file in files {
            let text = try String(contentsOfFile: root + "/" + file, encoding: .utf8)
            for line in text.split(separator: "\n")
            where line.hasPrefix("import ") || line.hasPrefix("@_exported import ") {
                let module = String(line.split(separator: " ").last ?? "")
                XCTAssertFalse(forbidden.contains(module), "Sources/RNNEngine/\(file) imports \(module)")
            }
        }
    }
}
