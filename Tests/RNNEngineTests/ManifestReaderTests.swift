import Foundation
import TestSupport
import XCTest

@testable import RNNEngine

/// The `file<TAB>text` manifests speech and captioning read: paths resolved, every bad line
/// named, errors in the caller's own type.
final class ManifestReaderTests: TemporaryDirectoryTestCase {
    enum Failure: Error, Equatable {
        case missing(String)
        case badLine(String, String)
    }
    let reader = ManifestReader(missing: { Failure.missing($0) }, badLine: { Failure.badLine($0, $1) })

    func read(_ text: String) throws -> [ManifestLine] {
        let path = directory + "/train.tsv"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try reader.manifest(
            path, directory: directory, columns: ("audio", "transcript"), layout: "a speech directory")
    }

    func testPathsAreResolvedAndBadLinesNamed() throws {
        let path = directory + "/train.tsv"
        XCTAssertEqual(
            try read("\u{FEFF}a.wav\thello\textra\n\n /abs/b.flac \tworld\r\n"),
            [
                ManifestLine(path: directory + "/a.wav", text: "hello", origin: path + " line 1"),
                ManifestLine(path: "/abs/b.flac", text: "world", origin: path + " line 3")
            ])
        XCTAssertThrowsError(try read("a.wav\thi\nno tab here\n")) {
            XCTAssertEqual($0 as? Failure, .badLine(path + " line 2", "expected `audio<TAB>transcript`, found no tab"))
        }
        XCTAssertThrowsError(try read(" \thi\n")) {
            XCTAssertEqual($0 as? Failure, .badLine(path + " line 1", "the audio path is empty"))
        }
        try Data([0x61, 0x09, 0xFF, 0x0A]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try reader.lines(path)) {
            XCTAssertEqual($0 as? Failure, .badLine(path + " line 1", "not valid UTF-8"))
        }
        XCTAssertThrowsError(
            try reader.manifest(
                directory + "/valid.tsv", directory: directory, columns: ("a", "b"), layout: "a speech directory")
        ) {
            XCTAssertEqual(
                $0 as? Failure,
                .badLine(
                    directory + "/valid.tsv", "missing: a speech directory needs train.tsv, valid.tsv and test.tsv"))
        }
        XCTAssertThrowsError(try reader.lines(directory + "/none.txt")) {
            XCTAssertEqual($0 as? Failure, .missing(directory + "/none.txt"))
        }
    }
}
