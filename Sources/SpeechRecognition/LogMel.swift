import Foundation
import RNNEngine

/// The features a recogniser reads, exactly:
///
/// - audio at `sampleRate` (16 kHz; other rates are resampled first), mono;
/// - frames of `windowLength` samples (25 ms) every `hop` samples (10 ms), the last partial
///   frame dropped (a clip shorter than one window is padded with zeros to one frame);
/// - each frame multiplied by a periodic Hann window, no dither, no pre-emphasis, no DC removal;
/// - its power spectrum |X_k|² for k = 0 … fftSize/2 (the frame zero-padded to 512 samples);
/// - `melBins` (80) triangular filters on the HTK mel scale, mel(f) = 2595 log10(1 + f/700),
///   centres equally spaced in mel between `minimumFrequency` and `maximumFrequency` (0 and
///   8 kHz), each rising from its left neighbour's centre to 1 at its own and falling to 0 at its
///   right neighbour's, unnormalised (torchaudio's `melscale_fbanks(norm=None, mel_scale="htk")`);
/// - the natural log of each filter's energy, floored at `floor` (1e-10).
///
/// The DFT is one matrix product through BLAS: frames (F, 400) × a cosine and sine basis
/// (400, 2 · 257), then the filterbank another product (F, 257) × (257, 80).
public struct LogMelSettings: Codable, Equatable, Sendable {
    public var sampleRate = 16_000
    public var windowLength = 400
    public var hop = 160
    public var fftSize = 512
    public var melBins = 80
    public var minimumFrequency = 0.0
    public var maximumFrequency = 8_000.0
    public var floor = 1e-10

    enum CodingKeys: String, CodingKey {
        case sampleRate = "sample_rate"
        case windowLength = "window_length"
        case hop
        case fftSize = "fft_size"
        case melBins = "mel_bins"
        case minimumFrequency = "minimum_frequency"
        case maximumFrequency = "maximum_frequency"
        case floor
    }

    public init() {}
}

/// Computes log-mel features (`LogMelSettings` says exactly what they are).
public final class LogMelExtractor: @unchecked Sendable {
    public let settings: LogMelSettings
    let window: [Float]
    /// (windowLength, 2 · bins): cos then −sin of 2πkn/fftSize.
    let basis: Tensor
    /// (bins, melBins)
    let filterbank: Tensor
    let resampler = Resampler()

    public var bins: Int { settings.fftSize / 2 + 1 }

    public init(settings: LogMelSettings = LogMelSettings()) {
        self.settings = settings
        let N = settings.windowLength, K = settings.fftSize / 2 + 1, M = settings.melBins
        window = (0..<N).map { n in Float(0.5 - 0.5 * cos(2 * Double.pi * Double(n) / Double(N))) }
        basis = Tensor(zeros: [N, 2 * K])
        for n in 0..<N {
            for k in 0..<K {
                let angle = 2 * Double.pi * Double(k * n % settings.fftSize) / Double(settings.fftSize)
                basis[n * 2 * K + k] = Float(cos(angle))
                basis[n * 2 * K + K + k] = Float(-sin(angle))
            }
        }
        func mel(_ f: Double) -> Double { 2595 * log10(1 + f / 700) }
        func hertz(_ m: Double) -> Double { 700 * (pow(10, m / 2595) - 1) }
        let low = mel(settings.minimumFrequency), high = mel(settings.maximumFrequency)
        let centres = (0..<(M + 2)).map { hertz(low + (high - low) * Double($0) / Double(M + 1)) }
        filterbank = Tensor(zeros: [K, M])
        for k in 0..<K {
            let f = Double(k) * Double(settings.sampleRate) / Double(settings.fftSize)
            for m in 0..<M {
                let up = (f - centres[m]) / (centres[m + 1] - centres[m])
                let down = (centres[m + 2] - f) / (centres[m + 2] - centres[m + 1])
                filterbank[k * M + m] = Float(max(0, min(up, down)))
            }
        }
    }

    /// Frames of a clip of `samples` samples.
    public func frameCount(samples: Int) -> Int {
        samples <= settings.windowLength ? 1 : 1 + (samples - settings.windowLength) / settings.hop
    }

    /// Log-mel features (frames, melBins) of a clip at any rate (resampled to `sampleRate` first).
    public func features(_ clip: AudioClip) -> Tensor {
        let audio = clip.sampleRate == settings.sampleRate ? clip : resampler.resample(clip, to: settings.sampleRate)
        let N = settings.windowLength, K = bins, M = settings.melBins
        let F = frameCount(samples: audio.samples.count)
        let frames = Tensor(zeros: [F, N])
        audio.samples.withUnsafeBufferPointer { x in
            for f in 0..<F {
                let start = f * settings.hop
                for n in 0..<min(N, x.count - start) { frames[f * N + n] = x[start + n] * window[n] }
            }
        }
        let spectrum = Tensor(uninitialized: [F, 2 * K])
        BLAS.sgemm(
            m: F, n: 2 * K, k: N, a: frames.data, lda: N, b: basis.data, ldb: 2 * K, beta: 0, c: spectrum.data,
            ldc: 2 * K)
        let power = Tensor(uninitialized: [F, K])
        for f in 0..<F {
            let row = spectrum.data + f * 2 * K
            for k in 0..<K { power[f * K + k] = row[k] * row[k] + row[K + k] * row[K + k] }
        }
        let energies = Tensor(uninitialized: [F, M])
        BLAS.sgemm(
            m: F, n: M, k: K, a: power.data, lda: K, b: filterbank.data, ldb: M, beta: 0, c: energies.data, ldc: M)
        let floor = Float(settings.floor)
        for i in 0..<(F * M) { energies[i] = logf(max(energies[i], floor)) }
        return energies
    }

    /// Per-utterance normalisation: each feature to zero mean and unit variance over the frames.
    public static func normalize(_ features: Tensor) -> Tensor {
        let F = features.shape[0], M = features.shape[1]
        let out = Tensor(uninitialized: features.shape)
        for m in 0..<M {
            var mean = 0.0, square = 0.0
            for f in 0..<F {
                let v = Double(features[f * M + m])
                mean += v
                square += v * v
            }
            mean /= Double(F)
            let deviation = max(square / Double(F) - mean * mean, 0).squareRoot()
            let scale = Float(1 / max(deviation, 1e-5))
            for f in 0..<F { out[f * M + m] = (features[f * M + m] - Float(mean)) * scale }
        }
        return out
    }
}
