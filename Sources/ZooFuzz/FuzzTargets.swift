import Foundation
import ImageCaptioning
import LanguageModel
import RNNEngine
import SpeechRecognition
import Translation

/// libFuzzer entry points for the zoo's loaders: each input is a file's bytes, handed to the
/// loader as a user's file would be. Every loader must return or throw, never crash, read out
/// of bounds or allocate without bound. Built only by scripts/fuzz.sh (swiftc's
/// -sanitize=fuzzer,address in its own build folder); ZOO_FUZZ_TARGET picks the loader.
enum FuzzTarget: String, CaseIterable {
    case png, audio, safetensors, vocabulary, bpe
    case textCorpus = "text-corpus"
    case parallelCorpus = "parallel-corpus"
    case speechManifest = "speech-manifest"
    case captionManifest = "caption-manifest"
    case runSettings = "run-json"

    /// What the target reads.
    var summary: String {
        switch self {
        case .png: return "PNG decoding through the captioner's reader (pixel limit, every colour type)"
        case .audio: return "audio reading (every format libsndfile takes, MPEG sniffing) and resampling to 16 kHz"
        case .safetensors: return "safetensors header, tensor table and data"
        case .vocabulary: return "a checkpoint's vocabulary JSON"
        case .bpe: return "byte-pair merges as a checkpoint stores them"
        case .textCorpus: return "a language-model text file, split and tokenised (characters and words)"
        case .parallelCorpus: return "a translation TSV file, split 90/5/5"
        case .speechManifest: return "a speech train.tsv (valid.tsv and test.tsv copies)"
        case .captionManifest: return "a captioning train.tsv (valid.tsv and test.tsv copies)"
        case .runSettings: return "a run's run.json, read for --resume and checked against the settings given"
        }
    }

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["ZOO_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            FileHandle.standardError.write(
                Data("ZOO_FUZZ_TARGET must be one of: \(allCases.map(\.rawValue).joined(separator: " "))\n".utf8))
            exit(2)
        }
        return target
    }()

    /// A private directory for the inputs that loaders read from disk.
    static let workspace: String = {
        let path = NSTemporaryDirectory() + "zoo-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func run(_ data: Data) {
        let directory = Self.workspace
        func file(_ name: String) -> String {
            let path = directory + "/" + name
            try? data.write(to: URL(fileURLWithPath: path))  // not atomic: no temporary file and rename per input
            return path
        }
        switch self {
        case .png:
            _ = try? RGBImage(pngFile: file("input.png"))
        case .audio:
            if let clip = try? AudioFile.read(path: file("input.wav")), clip.seconds < 60 {
                _ = Resampler().resample(clip, to: 16_000)
            }
        case .safetensors:
            _ = try? SafeTensors.decode(data, path: "input.safetensors")
        case .vocabulary:
            _ = try? Vocabulary(json: String(decoding: data, as: UTF8.self), path: "input")
        case .bpe:
            if let bpe = try? JSONDecoder().decode(BytePairEncoding.self, from: data) {
                _ = bpe.segment("fuzzing")
            }
        case .textCorpus:
            if let text = try? CorpusText.load(path: file("input.txt")) {
                _ = try? Corpus(text: text, tokenization: .char)
                _ = try? Corpus(text: text, tokenization: .word)
            }
        case .parallelCorpus:
            _ = try? ParallelCorpus.load(path: file("input.tsv"))
        case .speechManifest:
            for name in ["train.tsv", "valid.tsv", "test.tsv"] { _ = file(name) }
            _ = try? SpeechCorpus.load(path: directory)
        case .captionManifest:
            for name in ["train.tsv", "valid.tsv", "test.tsv"] { _ = file(name) }
            _ = try? CaptionCorpus.load(path: directory)
        case .runSettings:
            _ = file("run.json")
            if let resolver = try? RunSettingsResolver(resuming: true, directory: directory), let saved = resolver.saved
            {
                _ = try? resolver.value("--hidden-size", 64, \.hiddenSize, default: 32)
                _ = saved.differences(from: RunSettings(task: saved.task))
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let data = bytes.map { Data(bytes: $0, count: count) } ?? Data()
    FuzzTarget.selected.run(data)
    return 0
}

/// libFuzzer's driver (LLVMFuzzerRunDriver), called from the executable's entry point, which
/// the package manager names `<module>_main`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("ZooFuzz_main")
public func zooFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { fuzzTestOneInput($0, $1) }
}
