import ArgumentParser
import Foundation
import TestSupport
import XCTest
@testable import ZooCLI

/// docs/reference.md and the command line stay in step: every command that runs has a section
/// `### zoo …`, every option its help lists is a row of that section's table, and every row
/// and section names something that exists.
final class ReferenceDocumentTests: XCTestCase {
    static let documentPath = repositoryPath("docs/reference.md")

    func testEveryCommandAndOptionIsDocumentedAndNothingElse() throws {
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        let documented = documentedOptions(text)
        let actual = commandOptions()
        XCTAssertFalse(actual.isEmpty)
        for (command, options) in actual.sorted(by: { $0.key < $1.key }) {
            guard let listed = documented[command] else {
                XCTFail("docs/reference.md has no section '### \(command)'")
                continue
            }
            for option in options.subtracting(listed).sorted() {
                XCTFail("`\(command) \(option)` is not documented in docs/reference.md")
            }
            for option in listed.subtracting(options).sorted() {
                XCTFail("docs/reference.md documents `\(command) \(option)`, which does not exist")
            }
        }
        for command in Set(documented.keys).subtracting(actual.keys).sorted() {
            XCTFail("docs/reference.md has a section for `\(command)`, which is not a command")
        }
    }

    /// Each command that runs (a leaf, and `zoo` itself) with the options of its help.
    private func commandOptions() -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        func visit(_ type: ParsableCommand.Type, path: String) {
            let subcommands = type.configuration.subcommands
            if subcommands.isEmpty || type == ZooCommand.self {
                result[path] = helpOptions(ZooCommand.helpMessage(for: type, columns: 10_000))
            }
            for sub in subcommands {
                visit(sub, path: path + " " + (sub.configuration.commandName ?? "\(sub)".lowercased()))
            }
        }
        visit(ZooCommand.self, path: "zoo")
        return result
    }

    /// The long options a help text lists (the first name on each option line), without --help
    /// and --version (every command lists them; the `zoo` section says what they do).
    private func helpOptions(_ help: String) -> Set<String> {
        let pattern = /^\s+(?:-\w, )?(--[a-z0-9-]+)/
        var options = Set<String>()
        for line in help.split(separator: "\n") {
            if let match = line.firstMatch(of: pattern), match.1 != "--help", match.1 != "--version" { options.insert(String(match.1)) }
        }
        return options
    }

    /// Sections `### zoo …` and the `--option` rows of their tables.
    private func documentedOptions(_ text: String) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        var section: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                let heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "`", with: "")
                section = line.hasPrefix("### ") && heading.hasPrefix("zoo") ? heading : nil
                if let section { result[section, default: []] = result[section] ?? [] }
            } else if let section, let match = line.firstMatch(of: /^\| `(--[a-z0-9-]+)`/) {
                result[section, default: []].insert(String(match.1))
            }
        }
        return result
    }
}
