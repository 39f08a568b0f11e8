import Foundation
import SpeechRecognition
import TestSupport
import XCTest

final class SpeechCorpusTests: TemporaryDirectoryTestCase {
    /// An empty train.tsv is named, not its directory.
    func testAnEmptyManifestIsNamed() throws {
        try Data().write(to: URL(fileURLWithPath: directory + "/train.tsv"))
        for split in ["valid", "test"] {
            try Data("a.wav\thello\n".utf8).write(to: URL(fileURLWithPath: directory + "/\(split).tsv"))
        }
        XCTAssertThrowsError(try SpeechCorpus.load(path: directory)) {
            XCTAssertEqual("\($0)", "\(self.directory!)/train.tsv: the training split has no utterance")
        }
    }

    func writeAudio(_ relative: String, format: AudioFile.Format = .wav16) throws {
        let path = directory + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try AudioFile.write(tone(440, seconds: 0.2, rate: 16_000), sampleRate: 16_000, format: format, to: path)
    }

    func write(_ relative: String, _ text: String) throws {
        let path = directory + "/" + relative
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func testManifestsAndABadAudioFileNamedByItsLine() throws {
        try writeAudio("a.wav")
        try writeAudio("clips/b.flac", format: .flac)
        try write("train.tsv", "a.wav\tHello there\nclips/b.flac\tGood night\n")
        try write("valid.tsv", "a.wav\tHello\n")
        try write("test.tsv", "clips/b.flac\tNight\n")
        let corpus = try SpeechCorpus.load(path: directory)
        XCTAssertEqual(corpus.train.map(\.transcript), ["Hello there", "Good night"])
        XCTAssertEqual(corpus.train[1].audioPath, directory + "/clips/b.flac")
        XCTAssertNoThrow(try corpus.checkAudio())

        try write("test.tsv", "clips/b.flac\tNight\nmissing.ogg\tGone\n")
        XCTAssertThrowsError(try SpeechCorpus.load(path: directory).checkAudio()) {
            XCTAssertTrue(
                "\($0)".hasPrefix(
                    "\(self.directory!)/test.tsv line 2: \(self.directory!)/missing.ogg: cannot read the audio"),
                "\($0)")
        }
        try write("valid.tsv", "a.wav Hello\n")
        XCTAssertThrowsError(try SpeechCorpus.load(path: directory)) {
            XCTAssertEqual(
                "\($0)", "\(self.directory!)/valid.tsv line 1: expected `audio<TAB>transcript`, found no tab")
        }
    }

    func testLJSpeechAndLibriSpeechLayouts() throws {
        let lj = directory + "/lj"
        var metadata = ""
        for k in 0..<60 {
            metadata += "LJ001-\(k)|Text \(k), raw.|text \(k) normalised\n"
            try writeAudio("lj/wavs/LJ001-\(k).wav")
        }
        try write("lj/metadata.csv", metadata)
        let ljCorpus = try SpeechCorpus.load(path: lj)
        XCTAssertEqual(ljCorpus.train.count + ljCorpus.valid.count + ljCorpus.test.count, 60)
        XCTAssertTrue(ljCorpus.train.allSatisfy { $0.transcript.hasSuffix("normalised") })
        XCTAssertNoThrow(try ljCorpus.checkAudio())

        for (split, speaker) in [("train-clean-100", "19"), ("dev-clean", "84"), ("test-clean", "61")] {
            try write(
                "libri/\(split)/\(speaker)/198/\(speaker)-198.trans.txt",
                "\(speaker)-198-0000 HELLO WORLD\n\(speaker)-198-0001 GOOD BYE\n")
            try writeAudio("libri/\(split)/\(speaker)/198/\(speaker)-198-0000.flac", format: .flac)
            try writeAudio("libri/\(split)/\(speaker)/198/\(speaker)-198-0001.flac", format: .flac)
        }
        let libri = try SpeechCorpus.load(path: directory + "/libri")
        XCTAssertEqual(libri.train.map(\.transcript), ["HELLO WORLD", "GOOD BYE"])
        XCTAssertTrue(libri.test[0].audioPath.hasSuffix("test-clean/61/198/61-198-0000.flac"))
        XCTAssertNoThrow(try libri.checkAudio())
        XCTAssertThrowsError(try SpeechCorpus.load(path: directory + "/lj/wavs")) {
            XCTAssertTrue("\($0)".contains("not a speech data directory"))
        }
    }

    func testTranscriptsAreNormalisedToTheAlphabet() {
        let (text, dropped) = Alphabet.english.normalize("  Café, it’s 5 o'clock —  NOW!  ")
        XCTAssertEqual(text, "cafe it's o'clock now")
        XCTAssertEqual(dropped, 4)  // , 5 — !
        XCTAssertEqual(Alphabet.english.text(Alphabet.english.ids(text)), text)
        XCTAssertEqual(Alphabet.english.classes, 29)
    }
}
