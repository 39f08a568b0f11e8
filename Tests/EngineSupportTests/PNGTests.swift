import Foundation
import RNNEngine
import TestSupport
import XCTest

@testable import EngineSupport

/// PNG through libpng: every colour type and bit depth decodes to Pillow's pixels
/// (Golden/make_png_fixtures.py), the writer round-trips every layout, and damaged files give
/// an error naming the file instead of a crash.
final class PNGTests: TemporaryDirectoryTestCase {
    private let fixtures = goldenDirectory + "/png"

    func testEveryColourTypeAndBitDepthDecodesLikePillow() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: fixtures).filter { $0.hasSuffix(".png") }
            .sorted()
        XCTAssertEqual(names.count, 40)
        for name in names {
            let image = try RGBAImage(pngFile: fixtures + "/" + name)
            let expected = try Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + name.dropLast(4) + ".rgba"))
            XCTAssertEqual(image.width, 13, name)
            XCTAssertEqual(image.height, 7, name)
            XCTAssertEqual(image.pixels, [UInt8](expected), name)
        }
    }

    func testCompositingOverTheBackground() {
        let image = RGBAImage(width: 2, height: 1, pixels: [200, 100, 0, 255, 200, 100, 0, 51])
        let over = image.composited(over: (0, 0, 255))
        XCTAssertEqual(over.pixels, [200, 100, 0, 40, 20, 204])  // 0.2 of the colour, 0.8 of blue
    }

    func testWriterRoundTripsEveryLayout() throws {
        var rng = RandomGenerator(seed: 5)
        let width = 11, height = 6
        for colorType in PNGColorType.allCases {
            for bitDepth in colorType.bitDepths {
                for interlaced in [false, true] {
                    let top = (1 << bitDepth) - 1
                    let samples = (0..<(width * height * colorType.channels)).map { _ in UInt16(rng.int(below: top + 1))
                    }
                    let palette = (0..<(1 << min(bitDepth, 8))).map { _ in
                        (UInt8(rng.int(below: 256)), UInt8(rng.int(below: 256)), UInt8(rng.int(below: 256)))
                    }
                    let path = directory + "/t.png"
                    try PNGFile.write(
                        path: path, width: width, height: height, colorType: colorType, bitDepth: bitDepth,
                        samples: samples, interlaced: interlaced, palette: colorType == .palette ? palette : [])
                    let image = try RGBAImage(pngFile: path)
                    // What the reader promises: grey scaled to 8 bits (low depths) or cut to the high byte (16).
                    func eight(_ v: UInt16) -> UInt8 { bitDepth == 16 ? UInt8(v >> 8) : UInt8(Int(v) * 255 / top) }
                    var expected: [UInt8] = []
                    for p in 0..<(width * height) {
                        let s = Array(samples[(p * colorType.channels)..<((p + 1) * colorType.channels)])
                        switch colorType {
                        case .grey: expected += [eight(s[0]), eight(s[0]), eight(s[0]), 255]
                        case .greyAlpha: expected += [eight(s[0]), eight(s[0]), eight(s[0]), eight(s[1])]
                        case .rgb: expected += s.map(eight) + [255]
                        case .rgba: expected += s.map(eight)
                        case .palette:
                            let c = palette[Int(s[0])]
                            expected += [c.0, c.1, c.2, 255]
                        }
                    }
                    XCTAssertEqual(
                        image.pixels, expected, "\(colorType) \(bitDepth) bits\(interlaced ? " interlaced" : "")")
                }
            }
        }
    }

    // MARK: Damaged files

    /// A fixture's bytes with IHDR's width and height replaced (and its CRC made right again).
    private func withDeclaredSize(_ width: UInt32, _ height: UInt32) throws -> [UInt8] {
        pngDeclaringSize(
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtures + "/c2-b8.png"))), width: width, height: height)
    }

    private func assertUnreadable(
        _ bytes: [UInt8], named name: String, saying words: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RGBAImage(pngFile: path), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains(name), "names the file: \(message)", file: file, line: line)
            XCTAssertTrue(
                words.contains { message.contains($0) }, "says what is wrong: \(message)", file: file, line: line)
        }
    }

    /// Transparency values the colour type cannot hold are refused: libpng read six bytes for
    /// an RGB key from a buffer of two, past its end.
    func testWriterRefusesTransparencyAndSamplesThatDoNotFit() throws {
        let path = directory + "/t.png"
        let rgb = [UInt16](repeating: 7, count: 2 * 2 * 3)
        XCTAssertThrowsError(
            try PNGFile.write(
                path: path, width: 2, height: 2, colorType: .rgb, bitDepth: 8, samples: rgb, transparency: [7])
        ) {
            XCTAssertTrue("\($0)".contains("1 transparency values for colour type rgb (it takes 3)"), "\($0)")
        }
        XCTAssertThrowsError(
            try PNGFile.write(
                path: path, width: 2, height: 2, colorType: .palette, bitDepth: 8, samples: [0, 0, 0, 0],
                palette: [(0, 0, 0)], transparency: [1, 2]))
        XCTAssertThrowsError(
            try PNGFile.write(
                path: path, width: 2, height: 2, colorType: .rgba, bitDepth: 8,
                samples: [UInt16](repeating: 0, count: 16), transparency: [0]))
        XCTAssertThrowsError(
            try PNGFile.write(path: path, width: 2, height: 2, colorType: .rgb, bitDepth: 8, samples: [1, 2]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertNoThrow(
            try PNGFile.write(
                path: path, width: 2, height: 2, colorType: .rgb, bitDepth: 8, samples: rgb, transparency: [7, 7, 7]))
    }

    func testDamagedFilesAreErrorsNamingTheFile() throws {
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtures + "/c2-b8.png")))
        try assertUnreadable([], named: "empty.png", saying: ["empty"])
        try assertUnreadable(Array(good.prefix(good.count / 2)), named: "truncated.png", saying: ["truncated"])
        var header = good
        header[17] ^= 0x40
        try assertUnreadable(header, named: "header-crc.png", saying: ["CRC"])
        let idat = (0..<(good.count - 4)).first { good[$0..<($0 + 4)].elementsEqual("IDAT".utf8) }!
        let length = good[(idat - 4)..<idat].reduce(0) { $0 << 8 | Int($1) }
        var crc = good
        crc[idat + 4 + length] ^= 0x01
        try assertUnreadable(crc, named: "data-crc.png", saying: ["CRC"])
        var compressed = good
        compressed[idat + 10] ^= 0x01
        try assertUnreadable(compressed, named: "data.png", saying: ["image data is damaged"])
        try assertUnreadable(
            [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0x4A, 0x46, 0x49, 0x46, 0, 1] + [UInt8](repeating: 0, count: 64),
            named: "photo.png", saying: ["not a PNG"])
        try assertUnreadable(try withDeclaredSize(0, 7), named: "zero-width.png", saying: ["width", "zero", "IHDR"])
        try assertUnreadable(try withDeclaredSize(60_000, 60_000), named: "huge.png", saying: ["60000 x 60000"])
        XCTAssertThrowsError(try RGBAImage(pngFile: directory + "/missing.png")) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
    }
}
