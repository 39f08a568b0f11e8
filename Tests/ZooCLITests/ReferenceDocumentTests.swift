import ArgumentParser
import Foundation
import TestSupport
import XCTest

@testable import ZooCLI

/// docs/reference.md and the command line stay in step: every command that runs has a section
/// `### zoo …`, every option its help lists is a row of that section's table, every row and
/// section names something that exists, and each row's default is the one the help prints.
final class ReferenceDocumentTests: XCTestCase {
    static let documentPath = repositoryPath("docs/reference.md")

    func testEveryCommandAndOptionIsDocumentedAndNothingElse() throws {
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        let documented = documentedDefaults(text).mapValues { Set($0.keys) }
        let actual = commandDefaults().mapValues { Set($0.keys) }
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

    /// The default column of each row against the `(default: …)` of the option's help line: the
    /// same words (backticks, case and a trailing full stop aside), or the help's longer phrase
    /// beginning with the document's; an option whose help shows no default is a flag, `off` in
    /// the document, or an argument the document marks `required`.
    func testEveryDocumentedDefaultIsTheHelpsDefault() throws {
        let text = try String(contentsOfFile: Self.documentPath, encoding: .utf8)
        let documented = documentedDefaults(text)
        var compared = 0
        for (command, helpDefaults) in commandDefaults().sorted(by: { $0.key < $1.key }) {
            for (option, helpDefault) in helpDefaults.sorted(by: { $0.key < $1.key }) {
                guard let documentedDefault = documented[command]?[option] else { continue }  // the other test names it
                compared += 1
                let doc = Self.normalised(documentedDefault), help = helpDefault.map(Self.normalised)
                if let help {
                    XCTAssertTrue(
                        Self.agree(documented: doc, help: help),
                        "`\(command) \(option)`: docs/reference.md says '\(documentedDefault)', the help '\(helpDefault!)'"
                    )
                } else {
                    XCTAssertTrue(
                        ["off", "required", "none"].contains(doc),
                        "`\(command) \(option)`: docs/reference.md says '\(documentedDefault)', the help shows no default"
                    )
                }
            }
        }
        XCTAssertGreaterThan(compared, 100)
    }

    /// Lower case, no backticks, parentheses round the whole or a leading "the".
    static func normalised(_ text: String) -> String {
        var words = text.replacingOccurrences(of: "`", with: "").lowercased()
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        while words.hasSuffix(".") { words.removeLast() }
        if words.hasPrefix("("), words.hasSuffix(")") { words = String(words.dropFirst().dropLast()) }
        if words.hasPrefix("the ") { words.removeFirst(4) }
        return words
    }

    /// The same words, the same number (3 and 3.0), the help's longer phrase beginning with the
    /// document's, or a flag's default (`--no-tied` is off, `--bidirectional` on).
    static func agree(documented doc: String, help: String) -> Bool {
        if doc == help || [" ", ",", ";"].contains(where: { help.hasPrefix(doc + $0) }) { return true }
        if let a = Double(doc), let b = Double(help) { return a == b }
        if help.hasPrefix("--") { return doc == (help.hasPrefix("--no-") ? "off" : "on") }
        return false
    }

    /// Each command that runs (a leaf, and `zoo` itself) with the options its help lists (the
    /// first name on each option line, without --help and --version, which every command lists
    /// and the `zoo` section describes) and the default it prints for each (nil: none).
    private func commandDefaults() -> [String: [String: String?]] {
        var result: [String: [String: String?]] = [:]
        func visit(_ type: ParsableCommand.Type, path: String) {
            let subcommands = type.configuration.subcommands
            if subcommands.isEmpty || type == ZooCommand.self {
                var options: [String: String?] = [:]
                let lines = ZooCommand.helpMessage(for: type, columns: 10_000).split(separator: "\n")
                for (index, line) in lines.enumerated() {
                    guard let match = line.firstMatch(of: /^\s+(?:-\w, )?(--[a-z0-9-]+)/), match.1 != "--help",
                        match.1 != "--version"
                    else { continue }
                    // A long option name puts its description on the next line.
                    var described = String(line)
                    if index + 1 < lines.count, !lines[index + 1].trimmingCharacters(in: .whitespaces).hasPrefix("-") {
                        described += " " + lines[index + 1]
                    }
                    let value = described.firstMatch(of: /\(default: (.*)\)\s*$/).map { String($0.1) }
                    options[String(match.1)] = value
                }
                result[path] = options
            }
            for sub in subcommands {
                visit(sub, path: path + " " + (sub.configuration.commandName ?? "\(sub)".lowercased()))
            }
        }
        visit(ZooCommand.self, path: "zoo")
        return result
    }

    /// Sections `### zoo …` and the default column of their `--option` rows.
    private func documentedDefaults(_ text: String) -> [String: [String: String]] {
        var result: [String: [String: String]] = [:]
        var section: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") {
                let heading = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).replacingOccurrences(
                    of: "`", with: "")
                section = line.hasPrefix("### ") && heading.hasPrefix("zoo") ? heading : nil
                if let section { result[section, default: [:]] = result[section] ?? [:] }
            } else if let section, let match = line.firstMatch(of: /^\| `(--[a-z0-9-]+)`[^|]*\| ([^|]*) \|/) {
                result[section, default: [:]][String(match.1)] = String(match.2)
            }
        }
        return result
    }
}
