import Foundation
import RNNEngine
import SpeechRecognition
import Synchronization

/// The built-in data set: English sentences spoken by espeak-ng (installed by
/// scripts/setup.sh), since no speech corpus ships with Debian or Ubuntu.
///
/// Each utterance gets a voice (accent and speaker variant), a speaking rate and a pitch, half
/// of them background noise at 15 to 35 dB SNR, and is stored at 8, 16, 22.05 or 44.1 kHz as
/// 16-bit WAV, FLAC, Ogg Vorbis or (at the lower rates) float WAV, so reading, resampling and features are exercised
/// the way real data would. The test split is spoken by voices training never heard; the
/// validation split by another unheard voice. The same files on every machine (a fixed seed).
public enum DefaultSpeechCorpus {
    public static let defaultDirectory = "runs/speech-data"
    public static let seed: UInt64 = 2024

    /// (espeak-ng voice, variant)
    static let trainingVoices = [
        ("en-us", "m1"), ("en-us", "f2"), ("en-gb", "m3"), ("en-gb", "f1"), ("en-gb-scotland", "m2"),
        ("en-029", "f3"), ("en-gb-x-rp", "m4"), ("en-us", "m7"), ("en-gb-x-gbclan", "f4"), ("en-us", "m5")
    ]
    static let validationVoices = [("en-gb-x-rp", "f2")]
    static let testVoices = [("en-gb-x-gbcwmd", "m6"), ("en-us", "f5"), ("en-029", "m2")]

    public enum Failure: Error, CustomStringConvertible {
        case espeakMissing
        case synthesis(text: String, reason: String)
        public var description: String {
            switch self {
            case .espeakMissing:
                return
                    "the built-in speech data is synthesised with espeak-ng, which is not installed: run scripts/setup.sh --deps (or apt install espeak-ng), or pass --data"
            case .synthesis(let text, let reason): return "espeak-ng could not speak \"\(text)\": \(reason)"
            }
        }
    }

    /// The manifests in `directory`, writing the data set there first if it is not complete.
    public static func ensure(directory: String = defaultDirectory, progress: @Sendable (String) -> Void = { _ in })
        throws -> String
    {
        let manifests = ["train.tsv", "valid.tsv", "test.tsv"].map {
            (directory as NSString).appendingPathComponent($0)
        }
        if manifests.allSatisfy({ FileManager.default.fileExists(atPath: $0) }) { return directory }
        _ = try write(to: directory, overwrite: true, progress: progress)
        return directory
    }

    /// Synthesises the data set into `directory`: audio/<split>/<n>.<ext> and the three
    /// manifests (written last, so an interrupted run leaves no manifest that names missing
    /// audio). Refuses to replace existing manifests unless `overwrite`.
    public static func write(
        to directory: String, trainCount: Int = 3000, heldOutCount: Int = 150, overwrite: Bool = false,
        progress: @Sendable (String) -> Void = { _ in }
    ) throws -> [String] {
        let manifests = ["train.tsv", "valid.tsv", "test.tsv"].map {
            (directory as NSString).appendingPathComponent($0)
        }
        if !overwrite, let existing = manifests.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw SpeechCorpusError.badLine(
                origin: existing, reason: "already exists; pass --overwrite to replace it, or choose another --out")
        }
        guard let espeak = executable("espeak-ng") else { throw Failure.espeakMissing }
        var rng = RandomGenerator(seed: seed)
        var sentences = SpokenSentenceGenerator()
        var written: [String] = []
        for (split, voices, count) in [
            ("train", trainingVoices, trainCount), ("valid", validationVoices, heldOutCount),
            ("test", testVoices, heldOutCount)
        ] {
            let folder = (directory as NSString).appendingPathComponent("audio/" + split)
            try createDirectory(folder)
            // Every choice is drawn here, in order, so the set does not depend on the threads.
            let plans = (0..<count).map { n -> UtterancePlan in
                let text = sentences.next(&rng)
                let (voice, variant) = voices[rng.int(below: voices.count)]
                let outputRate = [8000, 16_000, 22_050, 44_100][rng.int(below: 4)]
                // Float WAV (4 bytes a sample) only at the low rates: the set stays near 100 MB.
                let formats: [AudioFile.Format] =
                    outputRate <= 16_000 ? AudioFile.Format.allCases : [.wav16, .flac, .oggVorbis]
                return UtterancePlan(
                    text: text, voice: "\(voice)+\(variant)", rate: 130 + rng.int(below: 71),
                    pitch: 25 + rng.int(below: 51),
                    noise: rng.uniformDouble() < 0.5 ? 15 + 20 * rng.uniformDouble() : nil, noiseSeed: rng.next(),
                    outputRate: outputRate, format: formats[rng.int(below: formats.count)],
                    name: "audio/\(split)/\(n).")
            }
            // espeak-ng runs as a process per utterance: two at a time keep both cores busy.
            let done = Mutex(0)
            _ = try concurrentMap(count: count) { n in
                let scratch = NSTemporaryDirectory() + "zoo-espeak-\(UUID().uuidString).wav"
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                try synthesize(plans[n], espeak: espeak, scratch: scratch, directory: directory)
                let finished = done.withLock { value -> Int in
                    value += 1
                    return value
                }
                if finished % 250 == 0 { progress("\(split): \(finished)/\(count) utterances") }
            }
            let lines = plans.map { "\($0.name)\($0.format.fileExtension)\t\($0.text)" }
            let manifest = (directory as NSString).appendingPathComponent(split + ".tsv")
            try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: manifest)
            written.append(manifest)
        }
        return written
    }

    /// What one utterance will be: drawn in order before any is synthesised.
    struct UtterancePlan: Sendable {
        let text: String, voice: String, rate: Int, pitch: Int
        /// SNR in dB of the added white noise, or nil for none.
        let noise: Double?
        let noiseSeed: UInt64
        let outputRate: Int
        let format: AudioFile.Format
        /// The relative path without its extension.
        let name: String
    }

    static let resampler = Resampler()

    static func synthesize(_ plan: UtterancePlan, espeak: String, scratch: String, directory: String) throws {
        try speak(plan.text, voice: plan.voice, rate: plan.rate, pitch: plan.pitch, espeak: espeak, to: scratch)
        var clip = try AudioFile.read(path: scratch)
        if let snr = plan.noise {
            var rng = RandomGenerator(seed: plan.noiseSeed)
            addNoise(&clip, snr: snr, rng: &rng)
        }
        if plan.outputRate != clip.sampleRate { clip = resampler.resample(clip, to: plan.outputRate) }
        let peak = clip.samples.map(abs).max() ?? 1
        if peak > 0.99 { clip.samples = clip.samples.map { $0 * 0.99 / peak } }
        try AudioFile.write(
            clip.samples, sampleRate: plan.outputRate, format: plan.format,
            to: (directory as NSString).appendingPathComponent(plan.name + plan.format.fileExtension))
    }

    static func executable(_ name: String) -> String? {
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func speak(_ text: String, voice: String, rate: Int, pitch: Int, espeak: String, to path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: espeak)
        process.arguments = ["-v", voice, "-s", String(rate), "-p", String(pitch), "-w", path, text]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure.synthesis(
                text: text, reason: message.isEmpty ? "exit status \(process.terminationStatus)" : message)
        }
    }

    /// White noise at `snr` dB below the clip's power.
    static func addNoise(_ clip: inout AudioClip, snr: Double, rng: inout RandomGenerator) {
        let power = clip.samples.reduce(0.0) { $0 + Double($1 * $1) } / Double(max(clip.samples.count, 1))
        let deviation = Float((power / pow(10, snr / 10)).squareRoot())
        for i in clip.samples.indices { clip.samples[i] += deviation * rng.normal() }
    }
}

/// Short English sentences from a small grammar (about 150 words): what the default recogniser
/// learns to spell.
struct SpokenSentenceGenerator {
    static let determiners = ["the", "a", "my", "your", "this", "that", "every", "one"]
    static let adjectives = [
        "red", "green", "blue", "big", "small", "old", "young", "happy", "quiet", "loud", "warm", "cold",
        "dark", "bright", "fast", "slow", "little", "heavy", "clever", "strange"
    ]
    static let nouns = [
        "cat", "dog", "bird", "horse", "fish", "man", "woman", "child", "teacher", "doctor", "friend", "farmer",
        "house", "car", "boat", "train", "book", "letter", "garden", "river", "street", "window", "table",
        "chair", "apple", "bread", "cup", "box", "key", "phone", "song", "story", "city", "village", "forest"
    ]
    static let verbs = [
        "sees", "finds", "likes", "wants", "takes", "brings", "paints", "reads", "opens", "closes", "carries",
        "watches", "follows", "helps", "calls", "buys", "sells", "cleans", "holds", "visits"
    ]
    static let prepositions = [
        "near", "behind", "under", "over", "beside", "inside", "outside", "across", "along", "through"
    ]
    static let adverbs = ["today", "again", "slowly", "quickly", "every day", "at night", "in the morning", "now"]

    mutating func next(_ rng: inout RandomGenerator) -> String {
        func pick(_ words: [String]) -> String { words[rng.int(below: words.count)] }
        func phrase() -> String {
            var words = [pick(Self.determiners)]
            if rng.uniformDouble() < 0.4 { words.append(pick(Self.adjectives)) }
            words.append(pick(Self.nouns))
            if words[0] == "a", let first = words[1].first, "aeiou".contains(first) { words[0] = "an" }
            return words.joined(separator: " ")
        }
        var sentence = [phrase(), pick(Self.verbs), phrase()]
        if rng.uniformDouble() < 0.4 { sentence += [pick(Self.prepositions), phrase()] }
        if rng.uniformDouble() < 0.3 { sentence.append(pick(Self.adverbs)) }
        return sentence.joined(separator: " ")
    }
}
