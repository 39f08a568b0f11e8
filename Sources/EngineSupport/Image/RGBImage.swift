import CPNG
import Foundation

/// The libpng the engine is linked against, for `zoo info`.
public var libpngVersion: String { String(cString: png_get_libpng_ver(nil)) }

/// An 8-bit RGB raster (plots, and images as the captioner reads them).
public struct RGBImage: Sendable {
    public let width: Int, height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for k in 0..<(width * height) {
            pixels[3 * k] = background.0
            pixels[3 * k + 1] = background.1
            pixels[3 * k + 2] = background.2
        }
    }

    public mutating func set(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let k = 3 * (y * width + x)
        pixels[k] = color.0
        pixels[k + 1] = color.1
        pixels[k + 2] = color.2
    }

    /// Writes the image atomically to `path` (8-bit RGB).
    public func writePNG(to path: String) throws {
        try PNGFile.write(
            path: path, width: width, height: height, colorType: .rgb, bitDepth: 8, samples: pixels.map { UInt16($0) })
    }
}
