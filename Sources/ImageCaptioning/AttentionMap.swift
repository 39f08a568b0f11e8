import Foundation
import RNNEngine

/// Where a caption's words looked: one panel per generated word (the end token included), the
/// image with the word's attention over the feature grid laid on it (bright where it looked,
/// darkened elsewhere, the grid upsampled bilinearly), the word written under its panel.
public enum CaptionAttentionMap {
    static let panel = 128, margin = 10, labelHeight = 24, titleHeight = 34, perRow = 6
    static let ink: (UInt8, UInt8, UInt8) = (20, 20, 20)

    public static func image(_ caption: GeneratedCaption, over picture: RGBImage) -> RGBImage {
        let words = Array(caption.tokens.prefix(caption.attention.count))
        let count = max(1, words.count)
        let columns = min(perRow, count), rows = (count + perRow - 1) / perRow
        let width = margin + columns * (panel + margin), height = titleHeight + rows * (panel + labelHeight + margin)
        var image = RGBImage(width: width, height: height)
        let title = "Attention while captioning"
        image.drawText(title, x: max(0, (width - RGBImage.textWidth(title, scale: 2)) / 2), y: 8, color: ink, scale: 2)
        let scaled = ImagePreprocessor(size: panel).resize(picture)
        let G = caption.gridSize
        for (k, word) in words.enumerated() {
            let left = margin + (k % perRow) * (panel + margin),
                top = titleHeight + (k / perRow) * (panel + labelHeight + margin)
            let weights = caption.attention[k]
            let peak = max(weights.max() ?? 1, 1e-6)
            for y in 0..<panel {
                for x in 0..<panel {
                    // Bilinear over the grid's cell centres.
                    let gx = min(max((Double(x) + 0.5) * Double(G) / Double(panel) - 0.5, 0), Double(G - 1))
                    let gy = min(max((Double(y) + 0.5) * Double(G) / Double(panel) - 0.5, 0), Double(G - 1))
                    let x0 = Int(gx), y0 = Int(gy), x1 = min(x0 + 1, G - 1), y1 = min(y0 + 1, G - 1)
                    let fx = Float(gx - Double(x0)), fy = Float(gy - Double(y0))
                    func w(_ xx: Int, _ yy: Int) -> Float { yy * G + xx < weights.count ? weights[yy * G + xx] : 0 }
                    let a =
                        (w(x0, y0) * (1 - fx) + w(x1, y0) * fx) * (1 - fy) + (w(x0, y1) * (1 - fx) + w(x1, y1) * fx)
                        * fy
                    let light = 0.2 + 0.8 * min(1, a / peak)
                    let p = (y * panel + x) * 3
                    image.set(
                        left + x, top + y,
                        (
                            UInt8(Float(scaled[p]) * light), UInt8(Float(scaled[p + 1]) * light),
                            UInt8(Float(scaled[p + 2]) * light)
                        ))
                }
            }
            let label = String(word.prefix(20))
            image.drawText(
                label, x: left + max(0, (panel - RGBImage.textWidth(label, scale: 2)) / 2), y: top + panel + 5,
                color: ink, scale: 2)
        }
        return image
    }
}
