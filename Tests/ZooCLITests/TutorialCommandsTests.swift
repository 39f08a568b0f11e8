import Foundation
import TestSupport
import XCTest

/// Every `zoo` command of docs/tutorial.md runs, in order, in one working directory, at a tiny
/// size: training gets a tiny model and a hundredth of its steps, `zoo gradients` a short
/// sequence. The tutorial cannot drift from the command line.
final class TutorialCommandsTests: TemporaryDirectoryTestCase {
    static let tutorialPath = repositoryPath("docs/tutorial.md")

    func testEveryTutorialCommandRuns() throws {
        let text = try String(contentsOfFile: Self.tutorialPath, encoding: .utf8)
        let commands = text.split(separator: "\n").compactMap { line -> [String]? in
            guard line.hasPrefix("    zoo ") else { return nil }
            let command = line.dropFirst(4).components(separatedBy: "   #").first ?? ""
            return shellWords(command).dropFirst().map { $0 }  // without "zoo"
        }
        XCTAssertGreaterThan(commands.count, 8, "the tutorial's commands were found")
        for arguments in commands {
            let result = try zoo(tiny(arguments), workingDirectory: directory)
            XCTAssertEqual(result.status, 0, "zoo \(arguments.joined(separator: " ")): \(result.stderr)")
        }
    }

    /// The same command at a size a test can afford.
    private func tiny(_ arguments: [String]) -> [String] {
        var result = arguments
        switch arguments.first {
        case "data" where ["speech", "asr"].contains(arguments.dropFirst().first ?? ""):
            result += ["--utterances", "20"]
        case "train" where ["speech", "asr"].contains(arguments.dropFirst().first ?? ""):
            result += ["--dry-run"] + (arguments.contains("--out") ? [] : ["--out", "runs/speech"])
            if !arguments.contains("--overwrite") && !arguments.contains("--resume") { result.append("--overwrite") }
        case "data" where ["captioning", "caption"].contains(arguments.dropFirst().first ?? ""):
            result += ["--images", "40"]
        case "train" where ["captioning", "caption"].contains(arguments.dropFirst().first ?? ""):
            result += ["--dry-run"] + (arguments.contains("--out") ? [] : ["--out", "runs/captioning"])
            if !arguments.contains("--overwrite") && !arguments.contains("--resume") { result.append("--overwrite") }
        case "eval" where ["captioning", "caption"].contains(arguments.dropFirst().first ?? ""):
            result += ["--beam", "1", "--limit", "4"]
        case "train" where ["translation", "mt"].contains(arguments.dropFirst().first ?? ""):
            // A dry run: 3 steps of a tiny model, 50 validation and test sentences.
            result += ["--dry-run"] + (arguments.contains("--out") ? [] : ["--out", "runs/translation"])
            if !arguments.contains("--overwrite") && !arguments.contains("--resume") { result.append("--overwrite") }
        case "train":
            if let i = result.firstIndex(of: "--steps"), i + 1 < result.count, let steps = Int(result[i + 1]) {
                result[i + 1] = String(max(1, steps / 100))
            }
            result += [
                "--hidden-size", "8", "--embedding-size", "8", "--batch-size", "4", "--bptt", "8", "--eval-every", "2"
            ]
        case "eval" where ["translation", "mt"].contains(arguments.dropFirst().first ?? ""):
            result += ["--beam", "1", "--limit", "20"]
        case "gradients":
            result += ["--length", "8", "--steps", "2"]
        case "sample":
            result += ["--length", "20"]
        default:
            break
        }
        return result
    }
}

/// Splits a command line as a shell would for simple cases: spaces separate words, double or
/// single quotes group them.
func shellWords(_ line: String) -> [String] {
    var words: [String] = [], current = "", quote: Character?
    var inWord = false
    for character in line {
        if let q = quote {
            if character == q { quote = nil } else { current.append(character) }
        } else if character == "\"" || character == "'" {
            quote = character
            inWord = true
        } else if character == " " {
            if inWord {
                words.append(current)
                current = ""
                inWord = false
            }
        } else {
            current.append(character)
            inWord = true
        }
    }
    if inWord { words.append(current) }
    return words
}
