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

    /// `clip` at `rate` Hz.
    public func resample(_ clip: AudioClip, to rate: Int) -> AudioClip {
        guard rate != clip.sampleRate, !clip.samples.isEmpty else {
            return AudioClip(samples: clip.samples, sampleRate: rate)
        }
        let ratio = Double(rate) / Double(clip.sampleRate)
        let cutoff = min(1, ratio) * rolloff  // of the input's Nyquist frequency
        let halfWidth = Double(zeroCrossings) / cutoff  // in input samples
        let input = clip.samples, count = input.count
        let outputCount = Int((Double(count) * ratio).rounded())
        var output = [Float](repeating: 0, count: outputCount)
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
}
