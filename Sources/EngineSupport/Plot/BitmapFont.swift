import Foundation

/// A 5×7 pixel font for printable ASCII, drawn for this project, so plots carry text without a
/// system font. Each glyph is 35 bits: seven rows of five pixels, the top row in the highest
/// bits, the leftmost pixel of a row in its highest bit. A letter with a diacritic draws as its
/// base letter (ä as a, é as e); other characters draw as a box.
enum BitmapFont {
    static let glyphWidth = 5, glyphHeight = 7
    /// Horizontal distance between characters, in font pixels.
    static let advance = 6

    static func glyph(_ character: Unicode.Scalar) -> UInt64 {
        var code = Int(character.value)
        if code >= 127, let base = String(character).decomposedStringWithCanonicalMapping.unicodeScalars.first {
            code = Int(base.value)
        }
        guard code >= 32 && code < 127 else { return 0x7E318C63F }  // a box
        return glyphs[code - 32]
    }

    /// Whether pixel (column, row) of `glyph` is set.
    @inline(__always)
    static func isSet(_ glyph: UInt64, column: Int, row: Int) -> Bool {
        let bit = (glyphHeight - 1 - row) * glyphWidth + (glyphWidth - 1 - column)
        return (glyph >> UInt64(bit)) & 1 == 1
    }

    private static let glyphs: [UInt64] = [
        0x000000000, 0x108421004, 0x294A00000, 0x295F57D4A, 0x11F4717C4, 0x632222263,
        0x32544564D, 0x108800000, 0x088842082, 0x208210888, 0x009575480, 0x0084F9080,
        0x000003088, 0x0000F8000, 0x00000018C, 0x002222200, 0x3A33AE62E, 0x11842108E,
        0x3A211111F, 0x7C441062E, 0x08CA97C42, 0x7E1E0862E, 0x1910F462E, 0x7C2222108,
        0x3A317462E, 0x3A317844C, 0x018C03180, 0x018C03088, 0x088882082, 0x001F07C00,
        0x208208888, 0x3A2111004, 0x3A216D6AE, 0x3A31FC631, 0x7A31F463E, 0x3A308422E,
        0x72518C65C, 0x7E10F421F, 0x7E10F4210, 0x3A30BC62F, 0x4631FC631, 0x38842108E,
        0x1C4210A4C, 0x4654C5251, 0x42108421F, 0x4775AC631, 0x4639ACE31, 0x3A318C62E,
        0x7A31F4210, 0x3A318D64D, 0x7A31F5251, 0x3E107043E, 0x7C8421084, 0x46318C62E,
        0x46318C544, 0x4631AD6AA, 0x462A22A31, 0x462A21084, 0x7C222221F, 0x39084210E,
        0x020820820, 0x38421084E, 0x115100000, 0x00000001F, 0x208200000, 0x000E0BE2F,
        0x4216CC63E, 0x000E8422E, 0x042D9C62F, 0x000E8FE0E, 0x1928E2108, 0x01F18BC2E,
        0x4216CC631, 0x100C2108E, 0x080610A4C, 0x4212A6292, 0x30842108E, 0x001AAD631,
        0x0016CC631, 0x000E8C62E, 0x001E8FA10, 0x000D9BC21, 0x0016CC210, 0x000E8383E,
        0x211C42126, 0x00118C66D, 0x00118C544, 0x00118D6AA, 0x001151151, 0x00118BC2E,
        0x001F1111F, 0x088441082, 0x108421084, 0x208411088, 0x0008A8800
    ]
}

extension RGBImage {
    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale` pixels wide;
    /// `vertical` writes it bottom to top (a y-axis label), (x, y) then being its bottom-left.
    public mutating func drawText(
        _ text: String, x: Int, y: Int, color: (UInt8, UInt8, UInt8), scale: Int = 1,
        vertical: Bool = false
    ) {
        for (index, character) in text.unicodeScalars.enumerated() {
            let glyph = BitmapFont.glyph(character)
            for row in 0..<BitmapFont.glyphHeight {
                for column in 0..<BitmapFont.glyphWidth where BitmapFont.isSet(glyph, column: column, row: row) {
                    let along = (index * BitmapFont.advance + column) * scale
                    for dy in 0..<scale {
                        for dx in 0..<scale {
                            if vertical {
                                set(x + row * scale + dy, y - along - dx, color)
                            } else {
                                set(x + along + dx, y + row * scale + dy, color)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The width `drawText` gives `text` (its height is 7 · scale).
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        let count = text.unicodeScalars.count
        return count == 0 ? 0 : (count * BitmapFont.advance - 1) * scale
    }
}
