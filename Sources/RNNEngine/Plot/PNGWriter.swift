import CPNG
import Foundation

/// The libpng the engine is linked against, for `zoo info`.
public var libpngVersion: String { String(cString: png_get_libpng_ver(nil)) }

/// An 8-bit RGB raster, written as PNG through libpng's simplified API (which reports errors
/// as values rather than by long jumps).
public struct RGBImage {
    public let width: Int, height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for k in 0..<(width * height) {
            pixels[3 * k] = background.0; pixels[3 * k + 1] = background.1; pixels[3 * k + 2] = background.2
        }
    }

    public mutating func set(_ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let k = 3 * (y * width + x)
        pixels[k] = color.0; pixels[k + 1] = color.1; pixels[k + 2] = color.2
    }

    /// Writes the image atomically to `path`.
    public func writePNG(to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = png_uint_32(PNG_FORMAT_RGB)
        let ok = pixels.withUnsafeBufferPointer { buffer in
            png_image_write_to_file(&image, temporary, 0, buffer.baseAddress, png_int_32(width * 3), nil)
        }
        if ok == 0 {
            let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            png_image_free(&image)
            unlink(temporary)
            throw CheckpointError.writeFailed(path: path, reason: "libpng: \(message)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
    }
}
