import Foundation

/// Band-limited resampling by windowed-sinc interpolation (J. O. Smith's bandlimited
/// interpolation): each output sample is the input convolved with a Kaiser-windowed sinc
/// centred on its position, the sinc's cutoff at the lower of the two Nyquist frequencies
/// (times `rolloff`, so the transition band stays below it), which removes what the lower rate
/// cannot hold instead of folding it back as aliases. The kernel is tabulated finely and read
/// with linear interpolation, so any ratio (44.1 → 16 kHz, 8 → 16 kHz) costs the same.
public struct Resampler: Sendable {
    /// Zero crossings of the sinc on each side, at the lower rate.
    public let zeroCrossings: Int
    public let rolloff: Double
    public let beta: Double
    private let table: [Float]
    private static let resolution = 512  // table entries per zero crossing

    public init(zeroCrossings: Int = 16, rolloff: Double = 0.95, beta: Double = 8.6) {
        self.zeroCrossings = zeroCrossings
        self.rolloff = rolloff
        self.beta = beta
        let n = zeroCrossings * Self.resolution
        let denominator = Self.besselI0(beta)
        table = (0...n + 1).map { i in
            let x = Double(i) / Double(Self.resolution)  // in zero crossings
            guard x <= Double(zeroCrossings) else { return 0 }
            let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
            let r = x / Double(zeroCrossings)
            return Float(sinc * Self.besselI0(beta * (1 - r * r).squareRoot()) / denominator)
        }
    }

    /// The zeroth-order modified Bessel function of the first kind (its power series).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        while term > 1e-12 * sum {
            term *= (x / (2 * k)) * (x / (2 * k))
            sum += term
            k += 1
        }
        return sum
    }

    /// The window-weighted sinc at `x` zero crossings from the centre.
    @inline(__always)
    private func kernel(_ x: Double) -> Float {
        let position = abs(x) * Double(Self.resolution)
        let index = Int(position)
        guard index < table.count - 1 else { return 0 }
        let fraction = Float(position - Double(index))
        return table[index] + (table[index + 1] - table[index]) * fraction
    }

    /// Most output phases for which the kernel is tabulated per phase (two rates whose ratio
    /// reduces to L/M with L ≤ this); other ratios evaluate the kernel at every tap.
    static let maximumPhases = 4096

    /// `clip` at `rate` Hz.
    public func resample(_ clip: AudioClip, to rate: Int) -> AudioClip {
        resample(clip, to: rate, tabulatingPhasesUpTo: Self.maximumPhases)
    }

    /// The same, with the per-phase weights used only for at most `phaseLimit` phases (0: the
    /// kernel at every tap, as for any ratio; tests compare the two).
    func resample(_ clip: AudioClip, to rate: Int, tabulatingPhasesUpTo phaseLimit: Int) -> AudioClip {
        guard rate != clip.sampleRate, !clip.samples.isEmpty else {
            return AudioClip(samples: clip.samples, sampleRate: rate)
        }
        let ratio = Double(rate) / Double(clip.sampleRate)
        let cutoff = min(1, ratio) * rolloff  // of the input's Nyquist frequency
        let halfWidth = Double(zeroCrossings) / cutoff  // in input samples
        let input = clip.samples, count = input.count
        let outputCount = Int((Double(count) * ratio).rounded())
        var output = [Float](repeating: 0, count: outputCount)
        // Output sample n sits at n·M/L input samples (L/M the reduced ratio), so its position
        // past the input sample before it takes only L values: with few of them, each phase's
        // weights are computed once and every output sample is a plain dot product.
        let common = Self.greatestCommonDivisor(rate, clip.sampleRate)
        let L = rate / common, M = clip.sampleRate / common
        if L <= phaseLimit {
            let phases = PhaseWeights(phases: L, halfWidth: halfWidth) { self.kernel($0 * cutoff) }
            input.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { y in
                    phases.weights.withUnsafeBufferPointer { weights in
                        for n in 0..<outputCount {
                            let position = n * M
                            let phase = position % L
                            let start = position / L + phases.firstOffset[phase]
                            let first = max(0, start), last = min(count - 1, start + phases.taps[phase] - 1)
                            guard first <= last else { continue }
                            let w = weights.baseAddress! + phase * phases.stride  // w[j]: input start + j
                            var sum: Float = 0
                            for k in first...last { sum += x[k] * w[k - start] }
                            y[n] = sum * Float(cutoff)
                        }
                    }
                }
            }
            return AudioClip(samples: output, sampleRate: rate)
        }
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for n in 0..<outputCount {
                    let t = Double(n) / ratio
                    let first = max(0, Int((t - halfWidth).rounded(.up))),
                        last = min(count - 1, Int((t + halfWidth).rounded(.down)))
                    guard first <= last else { continue }
                    var sum: Float = 0
                    for k in first...last { sum += x[k] * kernel((t - Double(k)) * cutoff) }
                    y[n] = sum * Float(cutoff)
                }
            }
        }
        return AudioClip(samples: output, sampleRate: rate)
    }

    static func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? abs(a) : greatestCommonDivisor(b, a % b) }
}

/// The kernel's weights for each of `phases` output positions between two input samples
/// (phase p at p/phases past one): the taps within `halfWidth` input samples, from
/// `firstOffset[p]` relative to the sample before, `stride` floats per phase.
private struct PhaseWeights {
    var firstOffset: [Int] = [], taps: [Int] = []
    var stride = 0
    var weights: [Float] = []

    init(phases: Int, halfWidth: Double, kernel: (Double) -> Float) {
        for p in 0..<phases {
            let fraction = Double(p) / Double(phases)
            let first = Int((fraction - halfWidth).rounded(.up)), last = Int((fraction + halfWidth).rounded(.down))
            firstOffset.append(first)
            taps.append(max(0, last - first + 1))
        }
        stride = taps.max() ?? 0
        weights = [Float](repeating: 0, count: phases * stride)
        for p in 0..<phases {
            let fraction = Double(p) / Double(phases)
            for j in 0..<taps[p] { weights[p * stride + j] = kernel(fraction - Double(firstOffset[p] + j)) }
        }
    }
}
