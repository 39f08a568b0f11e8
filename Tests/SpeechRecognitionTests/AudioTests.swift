import Foundation
import RNNEngine
import TestSupport
import XCTest

@testable import SpeechRecognition

/// A tone of `frequency` Hz, `seconds` long, at `rate`.
func tone(_ frequency: Double, seconds: Double, rate: Int, amplitude: Float = 0.5) -> [Float] {
    (0..<Int(seconds * Double(rate))).map {
        amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / Double(rate)))
    }
}

/// The amplitude of the `frequency` component of `samples` (a projection on sin and cos),
/// over the middle half, away from the edges.
func amplitude(of frequency: Double, in samples: [Float], rate: Int) -> Double {
    let start = samples.count / 4, end = 3 * samples.count / 4
    var s = 0.0, c = 0.0
    for n in start..<end {
        let angle = 2 * Double.pi * frequency * Double(n) / Double(rate)
        s += Double(samples[n]) * sin(angle)
        c += Double(samples[n]) * cos(angle)
    }
    return 2 * (s * s + c * c).squareRoot() / Double(end - start)
}

final class AudioFileTests: TemporaryDirectoryTestCase {
    func testEveryFormatRoundTripsAndChannelsMixDown() throws {
        let left = tone(440, seconds: 0.5, rate: 22_050), right = tone(880, seconds: 0.5, rate: 22_050)
        var interleaved: [Float] = []
        for (l, r) in zip(left, right) { interleaved += [l, r] }
        for format in AudioFile.Format.allCases {
            let path = directory + "/stereo." + format.fileExtension
            try AudioFile.write(interleaved, channels: 2, sampleRate: 22_050, format: format, to: path)
            let clip = try AudioFile.read(path: path)
            XCTAssertEqual(clip.sampleRate, 22_050, "\(format)")
            XCTAssertEqual(clip.samples.count, left.count, "\(format)")
            // Mixed down: each tone at half its amplitude.
            XCTAssertEqual(amplitude(of: 440, in: clip.samples, rate: 22_050), 0.25, accuracy: 0.01, "\(format)")
            XCTAssertEqual(amplitude(of: 880, in: clip.samples, rate: 22_050), 0.25, accuracy: 0.01, "\(format)")
            if format != .oggVorbis {  // lossless: sample for sample, to 16-bit precision
                for (k, value) in clip.samples.enumerated() where k % 97 == 0 {
                    XCTAssertEqual(value, (left[k] + right[k]) / 2, accuracy: 1.0 / 16384, "\(format) sample \(k)")
                }
            }
        }
    }

    func testUnreadableFilesAreNamedWithLibsndfilesReason() throws {
        let garbage = directory + "/garbage.wav"
        try Data((0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: garbage))
        XCTAssertThrowsError(try AudioFile.read(path: garbage)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("\(garbage): cannot read the audio (libsndfile: "), text)
            XCTAssertGreaterThan(text.count, garbage.count + 40, text)  // libsndfile's own words follow
        }
        // A file cut short, one with a header and no samples, an empty file, text named .wav.
        let whole = try Data(
            contentsOf: URL(fileURLWithPath: repositoryPath("Tests/SpeechRecognitionTests/Golden/sweep.wav")))
        let truncated = directory + "/truncated.wav", headerOnly = directory + "/header.wav"
        try whole.prefix(10_000).write(to: URL(fileURLWithPath: truncated))
        try whole.prefix(44).write(to: URL(fileURLWithPath: headerOnly))
        XCTAssertThrowsError(try AudioFile.read(path: truncated)) {
            XCTAssertTrue(
                "\($0)".hasPrefix(
                    "\(truncated): the file is shorter than its header says (libsndfile: data : 25600 (should be"),
                "\($0)")
        }
        XCTAssertThrowsError(try AudioFile.header(path: truncated))
        XCTAssertThrowsError(try AudioFile.read(path: headerOnly)) {  // its header still promises 0.8 s
            XCTAssertTrue("\($0)".contains("shorter than its header says"), "\($0)")
        }
        let noSamples = directory + "/silence.wav"
        try AudioFile.write([], sampleRate: 16_000, format: .wav16, to: noSamples)
        XCTAssertThrowsError(try AudioFile.read(path: noSamples)) {
            XCTAssertEqual("\($0)", "\(noSamples): the audio has no samples")
        }
        for (name, bytes) in [("empty.wav", Data()), ("text.wav", Data("hello\n".utf8))] {
            let path = directory + "/" + name
            try bytes.write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try AudioFile.read(path: path)) {
                XCTAssertTrue("\($0)".hasPrefix("\(path): cannot read the audio (libsndfile: "), "\($0)")
            }
        }
        XCTAssertThrowsError(try AudioFile.read(path: directory + "/missing.flac")) {
            XCTAssertEqual("\($0)", "\(self.directory!)/missing.flac: cannot read the audio (libsndfile: no such file)")
        }
    }
}

/// A small file whose header claims a huge decoded size is refused before the samples are
/// allocated (the hour limit alone let 8 channels at 384 kHz ask for 41 GB).
final class AudioSizeLimitTests: TemporaryDirectoryTestCase {
    func testAHeaderClaimingBillionsOfSamplesIsRefusedBeforeAllocating() throws {
        // fLaC and one STREAMINFO block: blocks of 4096, 384 kHz, 8 channels, 16 bits, 10⁹ frames
        // (2604 s, under the hour), no MD5, and no audio at all.
        var bits: [Bool] = []
        func put(_ value: UInt64, _ count: Int) {
            for k in (0..<count).reversed() { bits.append(value >> UInt64(k) & 1 == 1) }
        }
        put(4096, 16)
        put(4096, 16)
        put(0, 24)
        put(0, 24)
        put(384_000, 20)
        put(7, 3)
        put(15, 5)
        put(1_000_000_000, 36)
        var info = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        info += [UInt8](repeating: 0, count: 16)
        let bytes = Array("fLaC".utf8) + [0x80, 0, 0, 34] + info
        let path = directory + "/claims.flac"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try AudioFile.read(path: path)) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "\(path): cannot read the audio (libsndfile: its header claims 1000000000 frames of 8 channels"),
                "\(error)")
        }
    }
}

/// MPEG audio is read only when its frames follow each other, and libmpg123's complaints fail
/// the read instead of scrolling past on stderr.
final class MPEGAudioTests: TemporaryDirectoryTestCase {
    /// `count` MPEG-1 Layer III frames, 128 kb/s, 44.1 kHz, stereo, no CRC: 417 bytes each, all
    /// side information and main data zero (silence), or with `damaged` side information.
    func frames(_ count: Int, damaged: Bool = false) -> [UInt8] {
        var frame = [UInt8](repeating: 0, count: 417)
        frame[0...3] = [0xFF, 0xFB, 0x90, 0x00]
        if damaged { for k in 6..<20 { frame[k] = 0xFF } }  // big_values 511, beyond the 288 allowed
        return Array((0..<count).map { _ in frame }.joined())
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testAStreamWhoseFramesFollowEachOtherIsRead() throws {
        XCTAssertEqual(MPEGSniffing.verdict(frames(3)), .mpeg)
        XCTAssertEqual(MPEGSniffing.verdict(Array("ID3".utf8) + [3, 0, 0, 0, 0, 0]), .mpeg)
        let clip = try AudioFile.read(path: try write(frames(40), "silence.mp3"))
        XCTAssertEqual(clip.sampleRate, 44_100)
        XCTAssertGreaterThan(clip.samples.count, 30 * 1152)
        XCTAssertEqual(clip.samples.map(abs).max(), 0)
    }

    /// Headerless 16-bit PCM whose first sample is −1025 starts with FF FB, an MPEG-1 Layer III
    /// sync: libsndfile took it for MP3 and libmpg123 printed an error a frame.
    func testHeaderlessSamplesThatStartLikeAFrameAreRefused() throws {
        var pcm: [UInt8] = [0xFF, 0xFB, 0x90, 0x64]
        for n in 0..<16_000 {
            let sample = Int16(8000 * sin(2 * Double.pi * 440 * Double(n) / 16_000))
            pcm += [UInt8(truncatingIfNeeded: sample), UInt8(truncatingIfNeeded: sample >> 8)]
        }
        guard case .falseStart = MPEGSniffing.verdict(pcm) else { return XCTFail("\(MPEGSniffing.verdict(pcm))") }
        let path = try write(pcm, "hello.raw")
        XCTAssertThrowsError(try AudioFile.read(path: path)) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(
                    "\(path): not audio in a format libsndfile reads (it starts like an MPEG frame, but frame 2"),
                "\(error)")
        }
        XCTAssertThrowsError(try AudioFile.header(path: path))
        // Frames of another stream, or one cut inside its second frame.
        XCTAssertEqual(
            MPEGSniffing.verdict(frames(1) + [0xFF, 0xF3, 0x90, 0x00] + [UInt8](repeating: 0, count: 500)),
            .falseStart("it starts like an MPEG frame, but frame 2 is not at byte 417 where the first header puts it"))
        guard case .falseStart = MPEGSniffing.verdict(Array(frames(2).prefix(600))) else {
            return XCTFail("a cut stream")
        }
    }

    func testADamagedStreamFailsTheReadWithTheDecodersWords() throws {
        let path = try write(frames(3) + frames(5, damaged: true) + frames(3), "damaged.mp3")
        XCTAssertThrowsError(try AudioFile.read(path: path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("\(path): the audio is damaged: the decoder reported error: "), text)
            XCTAssertFalse(text.contains("[src/"), text)
        }
    }
}

final class ResamplerTests: XCTestCase {
    func testDownsamplingKeepsThePassbandAndRemovesWhatWouldAlias() {
        let rate = 44_100
        let resampler = Resampler()
        let kept = resampler.resample(
            AudioClip(samples: tone(1000, seconds: 0.5, rate: rate), sampleRate: rate), to: 16_000)
        XCTAssertEqual(kept.samples.count, 8000)
        XCTAssertEqual(amplitude(of: 1000, in: kept.samples, rate: 16_000), 0.5, accuracy: 0.005)
        // 10 kHz is above 16 kHz's Nyquist frequency: linear interpolation would fold it to 6 kHz.
        let removed = resampler.resample(
            AudioClip(samples: tone(10_000, seconds: 0.5, rate: rate), sampleRate: rate), to: 16_000)
        XCTAssertLessThan(amplitude(of: 6000, in: removed.samples, rate: 16_000), 0.001)
        let energy = removed.samples[2000..<6000].reduce(0) { $0 + Double($1 * $1) } / 4000
        XCTAssertLessThan(energy, 1e-6)
    }

    /// The per-phase weights give what the kernel evaluated at every tap gives, for common
    /// rates and odd ones, both ways, clip edges included.
    func testTabulatedPhasesEqualTheKernelAtEveryTap() {
        var rng = RandomGenerator(seed: 5)
        let resampler = Resampler()
        for (from, to) in [
            (44_100, 16_000), (22_050, 16_000), (8000, 16_000), (11_025, 16_000), (48_000, 16_000),
            (16_000, 22_050), (16_000, 44_100), (12_345, 16_000)
        ] {
            let clip = AudioClip(samples: (0..<(from / 10)).map { _ in rng.uniform(-1, 1) }, sampleRate: from)
            let direct = resampler.resample(clip, to: to, tabulatingPhasesUpTo: 0)
            let tabulated = resampler.resample(clip, to: to)
            XCTAssertEqual(direct.samples.count, tabulated.samples.count)
            let worst = zip(direct.samples, tabulated.samples).map { abs($0 - $1) }.max() ?? .nan
            XCTAssertLessThan(worst, 1e-5, "\(from) → \(to) Hz")
        }
    }

    func testUpsamplingKeepsTheTone() {
        let up = Resampler().resample(
            AudioClip(samples: tone(1000, seconds: 0.5, rate: 8000), sampleRate: 8000), to: 16_000)
        XCTAssertEqual(up.samples.count, 8000)
        XCTAssertEqual(amplitude(of: 1000, in: up.samples, rate: 16_000), 0.5, accuracy: 0.005)
    }
}

final class LogMelTests: XCTestCase {
    func testFramesAndTheBinOfATone() {
        let extractor = LogMelExtractor()
        let features = extractor.features(AudioClip(samples: tone(1000, seconds: 1, rate: 16_000), sampleRate: 16_000))
        XCTAssertEqual(features.shape, [98, 80])  // 1 + (16000 − 400) / 160
        // The filter whose centre is nearest 1 kHz holds the most energy in every frame.
        func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        let expected = Int((mel(1000) / mel(8000) * 81).rounded()) - 1
        for f in [0, 50, 97] {
            var best = 0
            for m in 0..<80 where features[f * 80 + m] > features[f * 80 + best] { best = m }
            XCTAssertEqual(best, expected, "frame \(f)")
        }
        // The same tone at 44.1 kHz gives nearly the same features after resampling.
        let resampled = extractor.features(AudioClip(samples: tone(1000, seconds: 1, rate: 44_100), sampleRate: 44_100))
        XCTAssertEqual(resampled.shape, [98, 80])
        XCTAssertEqual(resampled[50 * 80 + expected], features[50 * 80 + expected], accuracy: 0.05)
        // Silence is the floor, and a clip shorter than a window is one frame.
        let silence = extractor.features(AudioClip(samples: [Float](repeating: 0, count: 100), sampleRate: 16_000))
        XCTAssertEqual(silence.shape, [1, 80])
        XCTAssertEqual(silence[0], logf(1e-10), accuracy: 1e-3)
    }
}

final class LogMelGoldenTests: XCTestCase {
    /// zoo's features of a committed file equal an independent NumPy implementation of the
    /// documented definition (Golden/make_logmel_golden.py), each within the rounding error that
    /// float32 arithmetic allows for that feature (`logMelRoundingBounds`): from 9e-5 in the
    /// filters the sweep passes through to 1e-2 in those that hold noise alone, whose DFT terms
    /// cancel. (A fixed 1e-4 failed on one OpenBLAS thread and passed on two.)
    func testFeaturesMatchTheNumPyReference() throws {
        let golden = repositoryPath("Tests/SpeechRecognitionTests/Golden")
        let clip = try AudioFile.read(path: golden + "/sweep.wav")
        let expected = try XCTUnwrap(try SafeTensors.read(path: golden + "/logmel.safetensors").tensors["features"])
        let settings = LogMelSettings()
        let bounds = logMelRoundingBounds(clip.samples.map(Double.init), settings: settings)
        XCTAssertEqual(bounds.count, expected.count)
        // The engine runs OpenBLAS on one thread; two sum in another order, and must be
        // within the bound too.
        defer { BLAS.threads = 1 }
        for threads in [1, 2] {
            BLAS.threads = threads
            let features = LogMelExtractor(settings: settings).features(clip)
            XCTAssertEqual(features.shape, expected.shape)
            var outside = 0, worstRatio = 0.0
            for k in 0..<min(expected.count, bounds.count) {
                let difference = Double(abs(features[k] - expected[k]))
                if difference > bounds[k] { outside += 1 }
                worstRatio = max(worstRatio, difference / bounds[k])
            }
            XCTAssertEqual(
                outside, 0,
                "\(threads) BLAS threads: \(outside) features beyond their bound (worst \(worstRatio) × its bound)")
        }
        // The bound is no blanket: where the sweep is (the loudest tenth of the features) it
        // stays below 3.1e-3, and a symmetric instead of a periodic window lands 57 times over
        // it. It is loose only in filters that hold noise alone, whose DFT terms cancel.
        let loudest = (0..<expected.count).sorted { expected[$0] > expected[$1] }.prefix(expected.count / 10)
        XCTAssertLessThan(loudest.map { bounds[$0] }.max() ?? 1, 5e-3, "bounds of the loudest features")
    }
}

/// For each log-mel feature of `samples` (16-bit PCM scaled to [-1, 1)), a bound on how far a
/// float32 computation by the documented definition (window, DFT as dot products of length N,
/// power, filterbank as dot products of length K, log) can land from the exact value, computed
/// in double by the standard forward error bounds: a float32 dot product of n terms is within
/// γ_n = n·u / (1 − n·u) of Σ|a_i·b_i| (u = 2⁻²⁴), each stored input (window, basis, filter
/// weight) is off by at most u relatively, and the reference's own cast to float32 and logf
/// add a unit in the last place each.
func logMelRoundingBounds(_ samples: [Double], settings: LogMelSettings) -> [Double] {
    let u = 0x1p-24, N = settings.windowLength, K = settings.fftSize / 2 + 1, M = settings.melBins
    func gamma(_ n: Int) -> Double { Double(n) * u / (1 - Double(n) * u) }
    let window = (0..<N).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(N)) }
    let cosine = (0..<settings.fftSize).map { cos(2 * Double.pi * Double($0) / Double(settings.fftSize)) }
    let sine = (0..<settings.fftSize).map { sin(2 * Double.pi * Double($0) / Double(settings.fftSize)) }
    func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
    func hertz(_ m: Double) -> Double { 700 * (pow(10, m / 2595) - 1) }
    let low = mel(settings.minimumFrequency), high = mel(settings.maximumFrequency)
    let centres = (0..<(M + 2)).map { hertz(low + (high - low) * Double($0) / Double(M + 1)) }
    let frames = samples.count <= N ? 1 : 1 + (samples.count - N) / settings.hop
    var bounds: [Double] = []
    for f in 0..<frames {
        let frame = (0..<N).map { n in
            f * settings.hop + n < samples.count ? samples[f * settings.hop + n] * window[n] : 0
        }
        // Each DFT term is off by at most (γ_N + 3u)·Σ|x_n·w_n| (the product, the window's and
        // the basis's storage), with |cos|, |sin| ≤ 1.
        let magnitudeSum = frame.reduce(0) { $0 + abs($1) }
        let termError = (gamma(N) + 3 * u) * magnitudeSum
        var power = [Double](repeating: 0, count: K), powerError = [Double](repeating: 0, count: K)
        for k in 0..<K {
            var re = 0.0, im = 0.0
            for n in 0..<N {
                re += frame[n] * cosine[k * n % settings.fftSize]
                im -= frame[n] * sine[k * n % settings.fftSize]
            }
            power[k] = re * re + im * im
            powerError[k] = 2 * (abs(re) + abs(im)) * termError + 2 * termError * termError + 3 * u * power[k]
        }
        for m in 0..<M {
            var energy = 0.0, energyError = 0.0
            for k in 0..<K {
                let hz = Double(k) * Double(settings.sampleRate) / Double(settings.fftSize)
                let up = (hz - centres[m]) / (centres[m + 1] - centres[m])
                let down = (centres[m + 2] - hz) / (centres[m + 2] - centres[m + 1])
                let weight = max(0, min(up, down))
                energy += weight * power[k]
                energyError += weight * powerError[k]
            }
            energyError += (gamma(K) + u) * energy
            // The computed energy lies in [E − ΔE, E + ΔE], floored like the reference's.
            let floor = settings.floor, reference = log(max(energy, floor))
            let logError = max(
                log(max(energy + energyError, floor)) - reference,
                reference - log(max(energy - energyError, floor)))
            bounds.append(logError + 3 * u * abs(reference))
        }
    }
    return bounds
}
