import Foundation

/// How to pick the next token from a distribution: temperature, top-k and nucleus (top-p)
/// filtering, as in common text-generation tools. Temperature 0 is greedy (argmax).
public struct SamplingOptions: Codable, Sendable {
    public var temperature: Float
    public var topK: Int?
    public var topP: Float?

    /// The defaults are `zoo sample`'s.
    public init(temperature: Float = 0.8, topK: Int? = nil, topP: Float? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }
}

/// Picks a token id from `logits` (V).
public func sampleToken(
    logits: UnsafePointer<Float>, count V: Int, options: SamplingOptions,
    rng: inout RandomGenerator
) -> Int32 {
    if options.temperature <= 0 {
        var best = 0
        for v in 1..<V where logits[v] > logits[best] { best = v }
        return Int32(best)
    }
    var maximum = -Float.infinity
    for v in 0..<V { maximum = max(maximum, logits[v]) }
    var candidates: [(id: Int, p: Double)] = (0..<V).map { v in
        (v, Foundation.exp(Double((logits[v] - maximum) / options.temperature)))
    }
    if options.topK != nil || options.topP != nil {
        candidates.sort { $0.p > $1.p }
        if let k = options.topK, k > 0, k < candidates.count { candidates.removeSubrange(k...) }
        if let p = options.topP, p < 1 {
            let total = candidates.reduce(0) { $0 + $1.p }
            var cumulative = 0.0
            var keep = 0
            for c in candidates {
                cumulative += c.p / total
                keep += 1
                if cumulative >= Double(p) { break }
            }
            candidates.removeSubrange(keep...)
        }
    }
    let total = candidates.reduce(0) { $0 + $1.p }
    var threshold = rng.uniformDouble() * total
    for c in candidates {
        threshold -= c.p
        if threshold < 0 { return Int32(c.id) }
    }
    return Int32(candidates.last!.id)
}
