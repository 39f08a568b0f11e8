import Foundation
import RNNEngine

/// Turns decoded images into what the encoder reads: a square of `size` pixels, each channel
/// scaled from 0…255 to −1…1.
///
/// Resizing: each output pixel is the area-weighted mean of the input pixels its square covers
/// when shrinking (no aliasing), bilinear interpolation between pixel centres when enlarging;
/// the aspect ratio is not kept (the whole image is seen, as torchvision's `Resize((s, s))`).
public struct ImagePreprocessor: Sendable {
    public let size: Int

    public init(size: Int) {
        precondition(size > 0, "the image size must be positive")
        self.size = size
    }

    /// The image resized to size × size, 8-bit RGB, row by row.
    public func resize(_ image: RGBImage) -> [UInt8] {
        let horizontal = Self.weights(from: image.width, to: size),
            vertical = Self.weights(from: image.height, to: size)
        // Rows first (width), then columns (height), in floating point.
        var rows = [Float](repeating: 0, count: image.height * size * 3)
        for y in 0..<image.height {
            for (x, taps) in horizontal.enumerated() {
                for c in 0..<3 {
                    var value: Float = 0
                    for (source, weight) in taps {
                        value += weight * Float(image.pixels[(y * image.width + source) * 3 + c])
                    }
                    rows[(y * size + x) * 3 + c] = value
                }
            }
        }
        var out = [UInt8](repeating: 0, count: size * size * 3)
        for (y, taps) in vertical.enumerated() {
            for x in 0..<size {
                for c in 0..<3 {
                    var value: Float = 0
                    for (source, weight) in taps { value += weight * rows[(source * size + x) * 3 + c] }
                    out[(y * size + x) * 3 + c] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        return out
    }

    /// Per output index, the input indices and weights (summing to 1) that make it.
    static func weights(from input: Int, to output: Int) -> [[(Int, Float)]] {
        let ratio = Double(input) / Double(output)
        return (0..<output).map { o in
            if ratio >= 1 {
                // Area: the input interval [o·ratio, (o+1)·ratio) and how much of each pixel it covers.
                let start = Double(o) * ratio, end = start + ratio
                var taps: [(Int, Float)] = []
                var i = Int(start)
                while Double(i) < end && i < input {
                    let covered = min(end, Double(i + 1)) - max(start, Double(i))
                    if covered > 1e-9 { taps.append((i, Float(covered / ratio))) }
                    i += 1
                }
                return taps
            }
            // Bilinear between the two nearest input centres (edges clamped).
            let position = min(max((Double(o) + 0.5) * ratio - 0.5, 0), Double(input - 1))
            let left = Int(position), right = min(left + 1, input - 1)
            let fraction = Float(position - Double(left))
            return left == right ? [(left, Float(1))] : [(left, 1 - fraction), (right, fraction)]
        }
    }

    /// A batch (N, 3, size, size) of resized images, scaled to −1…1; `flips[n]` mirrors image n
    /// left to right, and `shifts[n]` moves it by (dx, dy) pixels with the edge repeated (random
    /// crops of a padded image).
    public func batch(_ images: [[UInt8]], flips: [Bool]? = nil, shifts: [(Int, Int)]? = nil) -> Tensor {
        let S = size
        let out = Tensor(uninitialized: [images.count, 3, S, S])
        for (n, pixels) in images.enumerated() {
            precondition(pixels.count == S * S * 3, "image \(n) is not \(S)×\(S) RGB")
            let flip = flips?[n] ?? false
            let (dx, dy) = shifts?[n] ?? (0, 0)
            for y in 0..<S {
                let sy = min(max(y + dy, 0), S - 1)
                for x in 0..<S {
                    var sx = min(max(x + dx, 0), S - 1)
                    if flip { sx = S - 1 - sx }
                    for c in 0..<3 {
                        out[((n * 3 + c) * S + y) * S + x] = Float(pixels[(sy * S + sx) * 3 + c]) / 127.5 - 1
                    }
                }
            }
        }
        return out
    }
}
