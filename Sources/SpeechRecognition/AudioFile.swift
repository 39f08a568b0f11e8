import CSndFile
import Foundation

/// Mono audio as floats in [-1, 1] at a sample rate.
public struct AudioClip: Sendable {
    public var samples: [Float]
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    public var seconds: Double { Double(samples.count) / Double(sampleRate) }
}

/// Errors about audio files, each naming the file and, where libsndfile gave one, its reason.
public enum AudioError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)
    case empty(path: String)
    case tooLong(path: String, seconds: Double, limit: Double)
    case truncated(path: String, detail: String)
    /// Bytes that no format fits (a headerless file that only starts like an MP3 frame).
    case notAudio(path: String, reason: String)
    /// The decoder reported errors while reading: the stream is damaged.
    case damaged(path: String, detail: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let reason): return "\(p): cannot read the audio (libsndfile: \(reason))"
        case .unwritable(let p, let reason): return "\(p): cannot write the audio (libsndfile: \(reason))"
        case .empty(let p): return "\(p): the audio has no samples"
        case .truncated(let p, let detail):
            return
                "\(p): the file is shorter than its header says (\(detail)); it was cut off while being written or copied"
        case .notAudio(let p, let reason):
            return
                "\(p): not audio in a format libsndfile reads (\(reason)); headerless samples (.raw, .pcm) say no sample rate or "
                + "encoding: write them into a WAV or FLAC file first"
        case .damaged(let p, let detail):
            return "\(p): the audio is damaged: the decoder reported \(detail)"
        case .tooLong(let p, let seconds, let limit):
            return
                "\(p): \(Int(seconds)) s of audio, more than the \(Int(limit)) s an utterance may have; cut it into utterances"
        }
    }
}

/// Reading and writing audio through libsndfile: WAV of any sample format, FLAC, OGG/Vorbis
/// and whatever else the installed libsndfile reads.
public enum AudioFile {
    /// Longest utterance read, refused before anything is allocated: an hour.
    public static let maximumSeconds = 3600.0
    /// Most decoded samples held at once (all channels), refused before allocating: 1 GiB of
    /// floats. An hour at 48 kHz in stereo is 0.35 of it; a small FLAC whose header claims 8
    /// channels at 384 kHz for an hour asked for 41 GB.
    public static let maximumSamples = 1 << 28

    /// The file's samples mixed down to mono (the mean of the channels), at its own rate.
    public static func read(path: String) throws -> AudioClip {
        try decoding(path: path) { try readSamples(path: path) }
    }

    /// Runs `body`, which opens `path` with libsndfile, after checking that bytes libsndfile
    /// would take for MPEG are an MPEG stream. libmpg123 reports damaged frames on stderr, not
    /// to libsndfile, so an MPEG file is decoded with stderr captured, and an error it printed
    /// fails the read instead of scrolling past a transcript of noise.
    static func decoding<T>(path: String, _ body: () throws -> T) throws -> T {
        switch MPEGSniffing.verdict(path: path) {
        case .notMPEG:
            return try body()
        case .falseStart(let reason):
            throw AudioError.notAudio(path: path, reason: reason)
        case .mpeg:
            let (result, log) = try StandardErrorCapture.capturing(body)
            let lines = log.split(separator: "\n")
            // libmpg123's lines: "[src/libmpg123/…] error: …" and "Note: …" about resyncing.
            let others = lines.filter { !$0.contains("libmpg123") && !$0.hasPrefix("Note: ") }
            if !others.isEmpty { FileHandle.standardError.write(Data((others.joined(separator: "\n") + "\n").utf8)) }
            let errors = lines.filter { $0.contains("libmpg123") && $0.contains("error") }
            if let first = errors.first {
                let message = first.split(separator: "]", maxSplits: 1).last.map(String.init) ?? String(first)
                throw AudioError.damaged(
                    path: path,
                    detail: "\(message.trimmingCharacters(in: .whitespaces))"
                        + (errors.count > 1 ? " and \(errors.count - 1) more errors" : ""))
            }
            return result
        }
    }

    private static func readSamples(path: String) throws -> AudioClip {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = String(cString: sf_strerror(nil))
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw AudioError.unreadable(path: path, reason: "no such file")
            }
            throw AudioError.unreadable(path: path, reason: reason)
        }
        defer { sf_close(file) }
        try checkComplete(file, path: path)
        let frames = Int(info.frames), channels = Int(info.channels), rate = Int(info.samplerate)
        guard rate > 0, channels > 0 else {
            throw AudioError.unreadable(path: path, reason: "no sample rate or channels in the header")
        }
        guard frames > 0 else { throw AudioError.empty(path: path) }
        let seconds = Double(frames) / Double(rate)
        guard seconds <= maximumSeconds else {
            throw AudioError.tooLong(path: path, seconds: seconds, limit: maximumSeconds)
        }
        let (samples, overflow) = frames.multipliedReportingOverflow(by: channels)
        guard !overflow, samples <= maximumSamples else {
            throw AudioError.unreadable(
                path: path,
                reason: "its header claims \(frames) frames of \(channels) channels, more than the "
                    + "\(maximumSamples / (1 << 20)) Mi samples (\(maximumSamples * 4 / (1 << 30)) GiB) an utterance may decode to"
            )
        }
        // Read in blocks and mixed down as they come: memory follows the samples the file really
        // holds, not what its header claims.
        let block = 65_536
        var interleaved = [Float](repeating: 0, count: block * channels)
        var mono: [Float] = []
        mono.reserveCapacity(min(frames, block))
        let scale = 1 / Float(channels)
        while mono.count < frames {
            let read = Int(
                interleaved.withUnsafeMutableBufferPointer {
                    sf_readf_float(file, $0.baseAddress, sf_count_t(min(block, frames - mono.count)))
                })
            guard read > 0 else { break }
            if channels == 1 {
                mono.append(contentsOf: interleaved[0..<read])
            } else {
                for i in 0..<read {
                    var sum: Float = 0
                    for c in 0..<channels { sum += interleaved[i * channels + c] }
                    mono.append(sum * scale)
                }
            }
        }
        guard !mono.isEmpty else { throw AudioError.unreadable(path: path, reason: String(cString: sf_strerror(file))) }
        return AudioClip(samples: mono, sampleRate: rate)
    }

    /// The container and encoding of a written file.
    public enum Format: String, CaseIterable, Sendable {
        case wav16 = "wav-pcm16"
        case wavFloat = "wav-float"
        case flac
        case oggVorbis = "ogg-vorbis"

        var libsndfile: Int32 {
            switch self {
            case .wav16: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
            case .wavFloat: return Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
            case .flac: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
            case .oggVorbis: return Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
            }
        }

        public var fileExtension: String {
            switch self {
            case .wav16, .wavFloat: return "wav"
            case .flac: return "flac"
            case .oggVorbis: return "ogg"
            }
        }
    }

    /// Writes interleaved samples (`channels` per frame) at `sampleRate`.
    public static func write(_ samples: [Float], channels: Int = 1, sampleRate: Int, format: Format, to path: String)
        throws
    {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format.libsndfile
        guard sf_format_check(&info) != 0 else {
            throw AudioError.unwritable(
                path: path, reason: "\(format.rawValue) at \(sampleRate) Hz with \(channels) channels is not supported")
        }
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError.unwritable(path: path, reason: String(cString: sf_strerror(nil)))
        }
        let frames = samples.count / channels
        let written = samples.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, sf_count_t(frames)) }
        let reason = String(cString: sf_strerror(file))
        sf_close(file)
        guard written == frames else { throw AudioError.unwritable(path: path, reason: reason) }
    }

    /// Throws when libsndfile's log of opening the file says a chunk is shorter than its header
    /// claims ("data : 25600 (should be 9956)"): libsndfile then reads what is there, silently.
    static func checkComplete(_ file: OpaquePointer, path: String) throws {
        var log = [CChar](repeating: 0, count: 4096)
        _ = sf_command(file, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("data") && $0.contains("should be") }) {
            throw AudioError.truncated(path: path, detail: "libsndfile: \(line.trimmingCharacters(in: .whitespaces))")
        }
    }

    /// What a file's header says, without reading its samples: checks that libsndfile can read
    /// it, that it is complete and that it is not empty or too long.
    public static func header(path: String) throws -> (frames: Int, sampleRate: Int, channels: Int) {
        try decoding(path: path) { try readHeader(path: path) }
    }

    private static func readHeader(path: String) throws -> (frames: Int, sampleRate: Int, channels: Int) {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason =
                FileManager.default.fileExists(atPath: path) ? String(cString: sf_strerror(nil)) : "no such file"
            throw AudioError.unreadable(path: path, reason: reason)
        }
        defer { sf_close(file) }
        try checkComplete(file, path: path)
        let frames = Int(info.frames), rate = Int(info.samplerate)
        guard frames > 0, rate > 0 else { throw AudioError.empty(path: path) }
        let seconds = Double(frames) / Double(rate)
        guard seconds <= maximumSeconds else {
            throw AudioError.tooLong(path: path, seconds: seconds, limit: maximumSeconds)
        }
        return (frames, rate, Int(info.channels))
    }

    /// libsndfile's version, for `zoo info`.
    public static var libraryVersion: String { String(cString: sf_version_string()) }
}
