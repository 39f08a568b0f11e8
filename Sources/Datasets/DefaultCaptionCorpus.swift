import Foundation
import ImageCaptioning
import RNNEngine

/// The built-in captioning data: scenes the project draws itself — one or two shapes (circle,
/// square, triangle, diamond) of six colours and two sizes on one of four backgrounds, placed
/// on a 3 × 3 layout — each with five paraphrased reference captions naming the shape, colour,
/// size and position, or the two shapes and how they stand to each other. Images are written in
/// several PNG layouts (RGB and RGBA, 8 and 16 bits, palette with and without transparency,
/// interlaced) and sizes, so loading exercises what users' files will need.
public enum DefaultCaptionCorpus {
    public static let defaultDirectory = "runs/captioning-data"
    public static let seed: UInt64 = 2024

    /// The manifests in `directory`, writing the data set there first if it is not complete.
    public static func ensure(directory: String = defaultDirectory) throws -> String {
        let manifests = ["train.tsv", "valid.tsv", "test.tsv"].map {
            (directory as NSString).appendingPathComponent($0)
        }
        if manifests.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) { return directory }
        _ = try write(to: directory, overwrite: true)
        return directory
    }

    /// Draws the data set into `directory`: images/<split>/<n>.png and the three manifests
    /// (written last). Refuses to replace existing manifests unless `overwrite`.
    public static func write(
        to directory: String, trainCount: Int = 6000, heldOutCount: Int = 300,
        overwrite: Bool = false
    ) throws -> [String] {
        let manifests = ["train.tsv", "valid.tsv", "test.tsv"].map {
            (directory as NSString).appendingPathComponent($0)
        }
        if !overwrite, let existing = manifests.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw CaptionCorpusError.badLine(
                origin: existing, reason: "already exists; pass --overwrite to replace it, or choose another --out")
        }
        var rng = RandomGenerator(seed: seed)
        var written: [String] = []
        for (split, count) in [("train", trainCount), ("valid", heldOutCount), ("test", heldOutCount)] {
            try createDirectory((directory as NSString).appendingPathComponent("images/" + split))
            let scenes = (0..<count).map { _ in Scene.random(&rng) }
            let layouts = (0..<count).map { _ in rng.int(below: FileLayout.allCases.count) }
            _ = try concurrentMap(count: count) { n in
                try scenes[n].writePNG(
                    to: (directory as NSString).appendingPathComponent("images/\(split)/\(n).png"),
                    layout: FileLayout.allCases[layouts[n]])
            }
            var lines: [String] = []
            for (n, scene) in scenes.enumerated() {
                for caption in scene.captions(&rng) { lines.append("images/\(split)/\(n).png\t\(caption)") }
            }
            let manifest = (directory as NSString).appendingPathComponent(split + ".tsv")
            try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: manifest)
            written.append(manifest)
        }
        return written
    }

    // MARK: Scenes

    enum Shape: String, CaseIterable { case circle, square, triangle, diamond }
    static let colors: [(name: String, rgb: (UInt8, UInt8, UInt8))] = [
        ("red", (220, 30, 30)), ("green", (30, 170, 50)), ("blue", (40, 70, 220)),
        ("yellow", (235, 210, 20)), ("purple", (140, 40, 170)), ("orange", (245, 130, 20))
    ]
    static let backgrounds: [(UInt8, UInt8, UInt8)] = [(255, 255, 255), (200, 200, 200), (40, 40, 40), (190, 225, 240)]

    struct Item {
        var shape: Shape
        var color: Int
        var large: Bool
        /// Cell of the 3 × 3 layout: column and row, 0…2.
        var column: Int, row: Int

        /// "a red circle", "an orange square".
        func withArticle(_ withSize: Bool) -> String {
            let phrase = describe(withSize)
            return ("aeiou".contains(phrase.first!) ? "an " : "a ") + phrase
        }

        func describe(_ withSize: Bool) -> String {
            (withSize ? (large ? "large " : "small ") : "")
                + "\(DefaultCaptionCorpus.colors[color].name) \(shape.rawValue)"
        }
    }

    struct Scene {
        var items: [Item]
        var background: Int
        /// The side of the image in pixels.
        var size: Int

        static func random(_ rng: inout RandomGenerator) -> Scene {
            let size = [64, 80, 96][rng.int(below: 3)]
            let background = rng.int(below: backgrounds.count)
            func item(column: Int, row: Int) -> Item {
                Item(
                    shape: Shape.allCases[rng.int(below: Shape.allCases.count)], color: rng.int(below: colors.count),
                    large: rng.int(below: 2) == 1, column: column, row: row)
            }
            if rng.int(below: 2) == 0 {
                return Scene(
                    items: [item(column: rng.int(below: 3), row: rng.int(below: 3))], background: background, size: size
                )
            }
            // Two shapes side by side or one above the other, in distinct colours or shapes.
            let horizontal = rng.int(below: 2) == 0
            let line = rng.int(below: 3), first = rng.int(below: 2)
            var a = horizontal ? item(column: first, row: line) : item(column: line, row: first)
            var b = horizontal ? item(column: first + 1, row: line) : item(column: line, row: first + 1)
            if a.color == b.color && a.shape == b.shape {
                b.color = (b.color + 1 + rng.int(below: colors.count - 1)) % colors.count
            }
            a.large = false
            b.large = false  // two large shapes would touch
            return Scene(items: [a, b], background: background, size: size)
        }

        static let positions = [
            ["in the top left corner", "at the top", "in the top right corner"],
            ["on the left", "in the middle", "on the right"],
            ["in the bottom left corner", "at the bottom", "in the bottom right corner"]
        ]

        /// Five reference captions, worded differently.
        func captions(_ rng: inout RandomGenerator) -> [String] {
            if items.count == 1 {
                let item = items[0], position = Self.positions[item.row][item.column]
                var options = [
                    "\(item.withArticle(true)) \(position)",
                    "there is \(item.withArticle(true)) \(position)",
                    "\(position) there is \(item.withArticle(true))",
                    "\(item.withArticle(false)) \(position)",
                    "one \(item.describe(true)) \(position) of the picture",
                    "\(item.withArticle(true)) is \(position)",
                    "a \(item.large ? "big" : "little") \(item.describe(false)) \(position)"
                ]
                options.shuffle(using: &rng)
                return Array(options.prefix(5))
            }
            let (a, b) = (items[0], items[1])
            let horizontal = a.row == b.row
            let (before, after) = horizontal ? ("to the left of", "to the right of") : ("above", "below")
            let together = horizontal ? "next to" : "on top of"
            var options = [
                "\(a.withArticle(false)) \(before) \(b.withArticle(false))",
                "\(b.withArticle(false)) \(after) \(a.withArticle(false))",
                "there is \(a.withArticle(false)) \(before) \(b.withArticle(false))",
                "\(a.withArticle(false)) and \(b.withArticle(false)) \(horizontal ? "side by side" : "one above the other")",
                "two shapes: \(a.withArticle(false)) \(before) \(b.withArticle(false))",
                "\(a.withArticle(false)) \(together) \(b.withArticle(false))"
            ]
            options.shuffle(using: &rng)
            return Array(options.prefix(5))
        }

        /// The scene's pixels, and the colour index of each (0: background, 1 + k: colour k) for
        /// palette files.
        func render() -> (pixels: [(UInt8, UInt8, UInt8)], indices: [Int]) {
            let S = size
            var indices = [Int](repeating: 0, count: S * S)
            let cell = Double(S) / 3
            for item in items {
                let cx = (Double(item.column) + 0.5) * cell, cy = (Double(item.row) + 0.5) * cell
                let radius = cell * (item.large ? 0.46 : 0.3)
                for y in 0..<S {
                    for x in 0..<S {
                        let dx = (Double(x) + 0.5 - cx) / radius, dy = (Double(y) + 0.5 - cy) / radius
                        let inside: Bool
                        switch item.shape {
                        case .circle: inside = dx * dx + dy * dy <= 1
                        case .square: inside = abs(dx) <= 0.85 && abs(dy) <= 0.85
                        case .diamond: inside = abs(dx) + abs(dy) <= 1
                        case .triangle: inside = dy <= 0.8 && dy >= -1 && abs(dx) <= (dy + 1) / 1.8 * 0.95
                        }
                        if inside { indices[y * S + x] = 1 + item.color }
                    }
                }
            }
            let palette = [DefaultCaptionCorpus.backgrounds[background]] + DefaultCaptionCorpus.colors.map(\.rgb)
            return (indices.map { palette[$0] }, indices)
        }

        func writePNG(to path: String, layout: FileLayout) throws {
            let (pixels, indices) = render()
            let S = size
            switch layout {
            case .rgb8, .rgb8Interlaced:
                try PNGFile.write(
                    path: path, width: S, height: S, colorType: .rgb, bitDepth: 8,
                    samples: pixels.flatMap { [UInt16($0.0), UInt16($0.1), UInt16($0.2)] },
                    interlaced: layout == .rgb8Interlaced)
            case .rgb16:
                try PNGFile.write(
                    path: path, width: S, height: S, colorType: .rgb, bitDepth: 16,
                    samples: pixels.flatMap { [UInt16($0.0) * 257, UInt16($0.1) * 257, UInt16($0.2) * 257] })
            case .rgba8:
                try PNGFile.write(
                    path: path, width: S, height: S, colorType: .rgba, bitDepth: 8,
                    samples: pixels.flatMap { [UInt16($0.0), UInt16($0.1), UInt16($0.2), 255] })
            case .palette, .paletteTransparent:
                // A transparent background reads as white (what the reader composites over), so
                // only a white background may be transparent.
                let transparent = layout == .paletteTransparent && background == 0
                let palette = [DefaultCaptionCorpus.backgrounds[background]] + DefaultCaptionCorpus.colors.map(\.rgb)
                try PNGFile.write(
                    path: path, width: S, height: S, colorType: .palette, bitDepth: 4,
                    samples: indices.map { UInt16($0) }, palette: palette, transparency: transparent ? [0] : [])
            }
        }
    }

    /// The PNG layouts the images are written in, drawn per image.
    enum FileLayout: CaseIterable { case rgb8, rgb8Interlaced, rgb16, rgba8, palette, paletteTransparent }
}
