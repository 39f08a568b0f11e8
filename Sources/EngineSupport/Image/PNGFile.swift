import CPNGCodec
import Foundation
import RNNEngine

/// What can go wrong reading or writing an image. Every case names the file.
public enum ImageFileError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    /// The file does not start with PNG's signature.
    case notPNG(path: String)
    /// The header declares a size outside 1 to `limit` pixels; nothing was decoded.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): cannot read the image: \(reason)"
        case .notPNG(let path):
            return "\(path): cannot read the image: not a PNG file (its first bytes are not the PNG signature)"
        case .tooLarge(let path, let width, let height, let limit):
            return
                "\(path): cannot read the image: the header declares \(width) x \(height) pixels, outside the sizes read (1 to \(limit) pixels)"
        case .writeFailed(let path, let reason): return "\(path): cannot write the image: \(reason)"
        }
    }
}

/// An 8-bit RGBA image, rows top to bottom.
public struct RGBAImage: Equatable, Sendable {
    public let width: Int, height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 4, "\(pixels.count) bytes for a \(width)×\(height) RGBA image")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The largest image `init(pngFile:)` decodes: a declared size beyond it is refused before
    /// any pixel memory is allocated (a corrupt or hostile header can claim gigapixels).
    public static let maximumPixels = 64 << 20

    /// Reads a PNG of any colour type and bit depth (grey, grey+alpha, RGB, RGBA, palette with
    /// or without transparency; 1 to 16 bits; interlaced or not) through libpng: palettes and
    /// low bit depths expanded, 16-bit samples cut to their high byte (as Pillow reads them),
    /// grey copied to R, G and B, alpha 255 where the file has none. libpng's errors come back
    /// as messages from C, never as a long jump through Swift frames. A header that declares more
    /// than `maximumPixels` is `ImageFileError.tooLarge` before anything is decoded; a file that is
    /// not a PNG, `ImageFileError.notPNG`.
    public init(pngFile path: String, maximumPixels: Int = RGBAImage.maximumPixels) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ImageFileError.unreadable(path: path, reason: "no such file")
        }
        var width: Int32 = 0, height: Int32 = 0
        var pixels: UnsafeMutablePointer<UInt8>?
        var message = [CChar](repeating: 0, count: 512)
        let status = zoo_png_read_rgba(path, maximumPixels, &width, &height, &pixels, &message, message.count)
        if status == -3 { throw ImageFileError.notPNG(path: path) }
        if status == -2 {
            throw ImageFileError.tooLarge(path: path, width: Int(width), height: Int(height), limit: maximumPixels)
        }
        guard status == 0, let pixels else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageFileError.unreadable(path: path, reason: Self.explain(text))
        }
        defer { zoo_png_free(pixels) }
        self.init(
            width: Int(width), height: Int(height),
            pixels: Array(UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * 4)))
    }

    /// libpng's terse messages in a reader's words.
    static func explain(_ message: String) -> String {
        switch message {
        case "Read Error": return "the file ends early (truncated)"
        case "": return "libpng could not decode it"
        default:
            if message.hasSuffix("CRC error") { return "a chunk is damaged (libpng: \(message))" }
            if message.hasPrefix("IDAT") { return "the image data is damaged (libpng: \(message))" }
            return message.contains("header declares") || message.contains("signature") || message.contains("empty")
                || message.contains("cannot open") ? message : "libpng: \(message)"
        }
    }

    /// The image with transparency composited over `background`, per channel
    /// round((c · a + background · (255 − a)) / 255) in the file's (sRGB) values.
    public func composited(over background: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> RGBImage {
        var image = RGBImage(width: width, height: height)
        let back = [Int(background.0), Int(background.1), Int(background.2)]
        for p in 0..<(width * height) {
            let a = Int(pixels[p * 4 + 3])
            for c in 0..<3 {
                image.pixels[p * 3 + c] = UInt8((Int(pixels[p * 4 + c]) * a + back[c] * (255 - a) + 127) / 255)
            }
        }
        return image
    }
}

extension RGBImage {
    /// Reads a PNG of any kind (see `RGBAImage.init(pngFile:)`), transparency composited over
    /// `background` (white unless told otherwise).
    public init(
        pngFile path: String, background: (UInt8, UInt8, UInt8) = (255, 255, 255),
        maximumPixels: Int = RGBAImage.maximumPixels
    ) throws {
        self = try RGBAImage(pngFile: path, maximumPixels: maximumPixels).composited(over: background)
    }
}

/// A PNG file's pixel layout, as the PNG specification numbers colour types.
public enum PNGColorType: Int32, CaseIterable, Sendable {
    case grey = 0
    case rgb = 2
    case palette = 3
    case greyAlpha = 4
    case rgba = 6

    /// Samples per pixel.
    public var channels: Int {
        switch self {
        case .grey, .palette: return 1
        case .greyAlpha: return 2
        case .rgb: return 3
        case .rgba: return 4
        }
    }

    /// The bit depths the specification allows for this colour type.
    public var bitDepths: [Int] {
        switch self {
        case .grey: return [1, 2, 4, 8, 16]
        case .palette: return [1, 2, 4, 8]
        case .rgb, .greyAlpha, .rgba: return [8, 16]
        }
    }
}

/// Writes PNG files of any colour type and bit depth through libpng (atomically: a temporary
/// file, flushed, renamed into place).
public enum PNGFile {
    /// - samples: `channels` samples per pixel, row by row, each in 0 ..< 2^bitDepth (palette
    ///   indices for `.palette`); packed into the file's layout here.
    /// - palette: RGB triples for `.palette`; transparency: one alpha per palette entry, or the
    ///   transparent grey / RGB sample value for `.grey` / `.rgb`.
    public static func write(
        path: String, width: Int, height: Int, colorType: PNGColorType, bitDepth: Int,
        samples: [UInt16], interlaced: Bool = false, palette: [(UInt8, UInt8, UInt8)] = [],
        transparency: [UInt16] = []
    ) throws {
        guard width > 0, height > 0 else {
            throw ImageFileError.writeFailed(
                path: path, reason: "an image needs a positive size, not \(width)×\(height)")
        }
        guard colorType.bitDepths.contains(bitDepth) else {
            throw ImageFileError.writeFailed(
                path: path, reason: "bit depth \(bitDepth) is not allowed for colour type \(colorType)")
        }
        let channels = colorType.channels
        guard samples.count == width * height * channels else {
            throw ImageFileError.writeFailed(
                path: path, reason: "\(samples.count) samples for \(width)×\(height) pixels of \(channels) channels")
        }
        // libpng's tRNS writer reads as many bytes as the colour type needs: check them here.
        let transparencyCounts: ClosedRange<Int>
        switch colorType {
        case .palette:
            guard (1...256).contains(palette.count) else {
                throw ImageFileError.writeFailed(
                    path: path, reason: "a palette image needs 1 to 256 palette entries, not \(palette.count)")
            }
            transparencyCounts = 0...palette.count
        case .grey: transparencyCounts = 0...1
        case .rgb: transparencyCounts = transparency.isEmpty ? 0...0 : 3...3
        case .greyAlpha, .rgba: transparencyCounts = 0...0
        }
        guard transparencyCounts.contains(transparency.count) else {
            throw ImageFileError.writeFailed(
                path: path,
                reason: "\(transparency.count) transparency values for colour type \(colorType) "
                    + "(it takes \(transparencyCounts.lowerBound == transparencyCounts.upperBound ? "\(transparencyCounts.lowerBound)" : "\(transparencyCounts.lowerBound) to \(transparencyCounts.upperBound)"))"
            )
        }
        let rowBytes = (width * channels * bitDepth + 7) / 8
        var packed = [UInt8](repeating: 0, count: rowBytes * height)
        for y in 0..<height {
            for i in 0..<(width * channels) {
                let value = samples[y * width * channels + i]
                switch bitDepth {
                case 16:
                    packed[y * rowBytes + 2 * i] = UInt8(value >> 8)
                    packed[y * rowBytes + 2 * i + 1] = UInt8(value & 0xff)
                case 8:
                    packed[y * rowBytes + i] = UInt8(value)
                default:  // 1, 2, 4 bits, most significant first
                    let bit = i * bitDepth
                    packed[y * rowBytes + bit / 8] |= UInt8(value) << UInt8(8 - bitDepth - bit % 8)
                }
            }
        }
        var trns: [UInt8] = []
        if colorType == .palette {
            trns = transparency.map { UInt8($0) }
        } else {
            for value in transparency { trns += [UInt8(value >> 8), UInt8(value & 0xff)] }
        }
        let paletteBytes = palette.flatMap { [$0.0, $0.1, $0.2] }
        do {
            try replaceAtomically(path) { temporary in
                var message = [CChar](repeating: 0, count: 512)
                let status = zoo_png_write(
                    temporary, Int32(width), Int32(height), colorType.rawValue, Int32(bitDepth), interlaced ? 1 : 0,
                    packed, rowBytes, paletteBytes.isEmpty ? nil : paletteBytes, Int32(palette.count),
                    trns.isEmpty ? nil : trns, Int32(trns.count), &message, message.count)
                guard status == 0 else {
                    throw ImageFileError.writeFailed(
                        path: path,
                        reason: String(
                            decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                }
            }
        } catch CheckpointError.writeFailed(_, let reason) {
            throw ImageFileError.writeFailed(path: path, reason: reason)
        }
    }
}
