import CPNG
import Foundation

extension RGBImage {
    /// The largest image `init(pngFile:)` decodes: a declared size beyond it is refused before
    /// any pixel memory is allocated (a corrupt or hostile header can claim gigapixels).
    public static let maximumPixels = 64 << 20

    /// Reads a PNG of any colour type and bit depth through libpng's simplified API (errors come
    /// back as values, never as a long jump through Swift frames), converted to 8-bit RGB with
    /// transparency composited over `background`.
    public init(pngFile path: String, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) throws {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        func failure(_ what: String) -> CheckpointError {
            let message = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            return .unreadable(path: path, reason: "\(what)" + (message.isEmpty ? "" : ": libpng: \(message)"))
        }
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.unreadable(path: path, reason: "no such file") }
        guard png_image_begin_read_from_file(&image, path) != 0 else { throw failure("not a readable PNG") }
        defer { png_image_free(&image) }
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width * height <= Self.maximumPixels else {
            throw CheckpointError.unreadable(path: path, reason: "\(width)×\(height) pixels is outside the sizes read (1 to \(Self.maximumPixels) pixels)")
        }
        image.format = png_uint_32(PNG_FORMAT_RGB)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var color = png_color(red: background.0, green: background.1, blue: background.2)
        let ok = pixels.withUnsafeMutableBytes { buffer in
            png_image_finish_read(&image, &color, buffer.baseAddress, png_int_32(width * 3), nil)
        }
        guard ok != 0 else { throw failure("the image data is damaged") }
        self.init(width: width, height: height)
        self.pixels = pixels
    }
}
