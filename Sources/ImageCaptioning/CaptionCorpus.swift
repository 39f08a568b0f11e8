import Foundation
import RNNEngine

/// One image and every reference caption given for it, with where it was read.
public struct CaptionedImage: Equatable, Sendable {
    public var imagePath: String
    public var captions: [String]
    /// The file and line of its first caption, for messages.
    public var origin: String

    public init(imagePath: String, captions: [String], origin: String) {
        self.imagePath = imagePath
        self.captions = captions
        self.origin = origin
    }
}

public enum CaptionCorpusError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case unknownLayout(path: String)
    case badLine(origin: String, reason: String)
    case badImage(origin: String, reason: String)
    case emptySplit(path: String, split: String)

    public var description: String {
        switch self {
        case .missing(let p): return "\(p): no such file or directory"
        case .unknownLayout(let p):
            return
                "\(p): not a captioning data directory: expected train.tsv, valid.tsv and test.tsv (image<TAB>caption), or Flickr8k's Flickr8k.token.txt with Flickr_8k.trainImages.txt, devImages and testImages"
        case .badLine(let origin, let reason): return "\(origin): \(reason)"
        case .badImage(let origin, let reason): return "\(origin): \(reason)"
        case .emptySplit(let p, let split): return "\(p): the \(split) split has no image with a caption"
        }
    }
}

/// The train, valid and test images of a captioning data set, in either layout zoo reads:
///
/// - `train.tsv`, `valid.tsv`, `test.tsv`: `image-path<TAB>caption` a line, the path relative to
///   the directory; an image with several references has several lines (further columns are
///   ignored);
/// - Flickr8k: `Flickr8k.token.txt` (`name.jpg#k<TAB>caption`) and the split lists
///   `Flickr_8k.trainImages.txt`, `Flickr_8k.devImages.txt`, `Flickr_8k.testImages.txt`; the
///   images are looked up in `Flicker8k_Dataset/`, `Flickr8k_Dataset/`, `Images/` or the
///   directory itself, as PNG (a `name.jpg` is read as `name.png`: convert the photographs first).
public struct CaptionCorpus: Sendable {
    public var train: [CaptionedImage]
    public var valid: [CaptionedImage]
    public var test: [CaptionedImage]
    /// Caption lines left out because the caption has no word, as "file line N".
    public var skipped: [String]

    public init(train: [CaptionedImage], valid: [CaptionedImage], test: [CaptionedImage], skipped: [String] = []) {
        self.train = train
        self.valid = valid
        self.test = test
        self.skipped = skipped
    }

    public static func load(path: String) throws -> CaptionCorpus {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CaptionCorpusError.missing(path: path)
        }
        guard isDirectory.boolValue else { throw CaptionCorpusError.unknownLayout(path: path) }
        let join = { (name: String) in (path as NSString).appendingPathComponent(name) }
        var skipped: [String] = []
        var corpus: CaptionCorpus
        // Where each split came from, for an empty one: its own file in the TSV layout.
        var sources = [path, path, path]
        if FileManager.default.fileExists(atPath: join("train.tsv")) {
            sources = ["train.tsv", "valid.tsv", "test.tsv"].map(join)
            corpus = CaptionCorpus(
                train: try manifest(join("train.tsv"), directory: path, skipped: &skipped),
                valid: try manifest(join("valid.tsv"), directory: path, skipped: &skipped),
                test: try manifest(join("test.tsv"), directory: path, skipped: &skipped))
        } else if FileManager.default.fileExists(atPath: join("Flickr8k.token.txt")) {
            corpus = try flickr8k(path, skipped: &skipped)
        } else {
            throw CaptionCorpusError.unknownLayout(path: path)
        }
        corpus.skipped = skipped
        for (k, (split, name)) in [(corpus.train, "training"), (corpus.valid, "validation"), (corpus.test, "test")]
            .enumerated() where split.isEmpty
        {
            throw CaptionCorpusError.emptySplit(path: sources[k], split: name)
        }
        return corpus
    }

    static let reader = ManifestReader(
        missing: { CaptionCorpusError.missing(path: $0) },
        badLine: { CaptionCorpusError.badLine(origin: $0, reason: $1) })

    static func lines(_ path: String) throws -> [(number: Int, text: String)] { try reader.lines(path) }

    /// Captions grouped by image, images in the order they first appear.
    static func grouped(_ entries: [(image: String, caption: String, origin: String)]) -> [CaptionedImage] {
        var order: [String] = []
        var byImage: [String: CaptionedImage] = [:]
        for entry in entries {
            if byImage[entry.image] == nil {
                order.append(entry.image)
                byImage[entry.image] = CaptionedImage(imagePath: entry.image, captions: [], origin: entry.origin)
            }
            byImage[entry.image]!.captions.append(entry.caption)
        }
        return order.map { byImage[$0]! }
    }

    static func manifest(_ path: String, directory: String, skipped: inout [String]) throws -> [CaptionedImage] {
        var entries: [(String, String, String)] = []
        for line in try reader.manifest(
            path, directory: directory, columns: ("image", "caption"), layout: "a captioning directory")
        {
            guard !CaptionCodec.words(line.text).isEmpty else {
                skipped.append(line.origin)
                continue
            }
            entries.append((line.path, line.text, line.origin))
        }
        return grouped(entries)
    }

    static func flickr8k(_ directory: String, skipped: inout [String]) throws -> CaptionCorpus {
        let join = { (name: String) in (directory as NSString).appendingPathComponent(name) }
        let folders = ["Flicker8k_Dataset", "Flickr8k_Dataset", "Images", ""].map(join)
        let tokenFile = join("Flickr8k.token.txt")
        var captions: [String: [(String, String, String)]] = [:]
        for (number, line) in try lines(tokenFile) {
            let origin = "\(tokenFile) line \(number)"
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, let hash = fields[0].firstIndex(of: "#") else {
                throw CaptionCorpusError.badLine(origin: origin, reason: "expected `name.jpg#k<TAB>caption`")
            }
            let name = String(fields[0][..<hash])
            guard !CaptionCodec.words(String(fields[1])).isEmpty else {
                skipped.append(origin)
                continue
            }
            let png = (name as NSString).deletingPathExtension + ".png"
            let path =
                folders.map { ($0 as NSString).appendingPathComponent(png) }.first {
                    FileManager.default.fileExists(atPath: $0)
                }
                ?? (folders[0] as NSString).appendingPathComponent(png)
            captions[name, default: []].append((path, String(fields[1]), origin))
        }
        func split(_ list: String) throws -> [CaptionedImage] {
            let file = join(list)
            var entries: [(String, String, String)] = []
            for (number, line) in try lines(file) {
                let name = line.trimmingCharacters(in: .whitespaces)
                guard let found = captions[name] else {
                    throw CaptionCorpusError.badLine(
                        origin: "\(file) line \(number)", reason: "\(name) has no caption in Flickr8k.token.txt")
                }
                entries += found
            }
            return grouped(entries)
        }
        return CaptionCorpus(
            train: try split("Flickr_8k.trainImages.txt"), valid: try split("Flickr_8k.devImages.txt"),
            test: try split("Flickr_8k.testImages.txt"))
    }
}

/// Images decoded and resized once, kept as 8-bit RGB at the model's size.
public struct ImageSet: Sendable {
    public var images: [[UInt8]]
    public var entries: [CaptionedImage]

    /// Decodes every image (two threads), naming the manifest line of any that cannot be read.
    public init(_ entries: [CaptionedImage], preprocessor: ImagePreprocessor) throws {
        images = try concurrentMap(count: entries.count) { index in
            do {
                return preprocessor.resize(try RGBImage(pngFile: entries[index].imagePath))
            } catch {
                throw CaptionCorpusError.badImage(origin: entries[index].origin, reason: "\(error)")
            }
        }
        self.entries = entries
    }
}
