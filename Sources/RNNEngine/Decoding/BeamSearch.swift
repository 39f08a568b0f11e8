import Foundation

/// Settings of beam search (and of greedy decoding, which is beam search with one beam).
public struct BeamSearchOptions: Codable, Sendable {
    public var beamSize: Int
    /// Hypotheses returned per item, best first (at most `beamSize`).
    public var nBest: Int
    /// Tokens generated at most per hypothesis, the end token included.
    public var maximumLength: Int
    /// α of the length normalisation score = log p / length^α: 0 ranks by log p alone (short
    /// outputs win), 1 by the mean log-probability per token.
    public var lengthNormalization: Double
    public var startToken: Int32
    public var endToken: Int32

    public init(
        beamSize: Int = 5, nBest: Int = 1, maximumLength: Int = 50, lengthNormalization: Double = 1,
        startToken: Int32, endToken: Int32
    ) {
        self.beamSize = beamSize
        self.nBest = nBest
        self.maximumLength = maximumLength
        self.lengthNormalization = lengthNormalization
        self.startToken = startToken
        self.endToken = endToken
    }
}

/// One output of beam search.
public struct Hypothesis: Sendable, Equatable {
    /// The generated tokens, without the start token and without the end token.
    public var tokens: [Int32]
    /// Σ log p of the tokens generated (the end token included when `finished`).
    public var logProbability: Double
    /// `logProbability` / length^α: what hypotheses are ranked by.
    public var score: Double
    /// Whether it ended with the end token; false when `maximumLength` cut it.
    public var finished: Bool
    /// What the step function reported for each generated token (attention weights), in order.
    public var trace: [[Float]]

    public init(tokens: [Int32], logProbability: Double, score: Double, finished: Bool, trace: [[Float]]) {
        self.tokens = tokens
        self.logProbability = logProbability
        self.score = score
        self.finished = finished
        self.trace = trace
    }
}

/// What a decoder's step function returns for each live row.
public struct DecoderStep<State> {
    /// (rows, V) log-probabilities of the next token.
    public var logProbabilities: Tensor
    public var state: State
    /// (rows, E) per-row values to keep with each hypothesis (attention weights), or nil.
    public var trace: Tensor?

    public init(logProbabilities: Tensor, state: State, trace: Tensor? = nil) {
        self.logProbabilities = logProbabilities
        self.state = state
        self.trace = trace
    }
}

/// Batched beam search over any step function, for every sequence decoder (translation,
/// captioning). The batch's `batch · beamSize` hypotheses run as the rows of one step call.
///
/// - Parameters:
///   - initialState: the decoder state of `batch` rows (one per item).
///   - step: given each row's last token and the state, the next-token log-probabilities.
///   - maximumLengths: each item's own length limit (a translation's follows its source), in
///     place of `options.maximumLength`, so an item decodes the same whatever its batch.
///   - excluded: tokens never chosen (padding, the start token).
///   - reorder: the state's rows picked (and repeated) by index: `indexSelect` on each tensor.
/// - Returns: per item, up to `nBest` hypotheses, best first. Items whose beams never produce
///   the end token still get hypotheses: the best ones `maximumLength` cut, marked unfinished.
public func beamSearch<State>(
    batch: Int, initialState: State, options: BeamSearchOptions, maximumLengths: [Int]? = nil,
    excluded: Set<Int32> = [],
    step: (_ tokens: [Int32], _ state: State) throws -> DecoderStep<State>,
    reorder: (_ state: State, _ rows: [Int]) throws -> State
) throws -> [[Hypothesis]] {
    let K = options.beamSize
    let limits = maximumLengths ?? [Int](repeating: options.maximumLength, count: batch)
    precondition(
        K >= 1 && options.nBest >= 1 && options.nBest <= K && limits.count == batch && limits.allSatisfy { $0 >= 1 },
        "beam search needs 1 ≤ nBest ≤ beamSize and a maximum length ≥ 1 per item")
    let alpha = options.lengthNormalization
    func normalized(_ logProbability: Double, length: Int) -> Double {
        alpha == 0 ? logProbability : logProbability / Double(max(length, 1)).pow(alpha)
    }

    // Row b·K + k is beam k of item b. At first only beam 0 of each item is live.
    var state = try reorder(initialState, (0..<(batch * K)).map { $0 / K })
    var tokens = [Int32](repeating: options.startToken, count: batch * K)
    var scores = [Double](repeating: -.infinity, count: batch * K)
    for b in 0..<batch { scores[b * K] = 0 }
    // Each live row's history is a chain of back-pointers (its last node), not a copy: a
    // hypothesis is spelled out only when it is returned, so a step costs the same at any length.
    var paths = BeamPaths()
    var rowNodes = [Int](repeating: BeamPaths.root, count: batch * K)
    var finished = [[Hypothesis]](repeating: [], count: batch)
    var done = [Bool](repeating: false, count: batch)

    let longest = limits.max() ?? 1
    var flags = AllowedTokens(excluded: excluded)
    for length in 1...longest {
        let result = try step(tokens, state)
        let V = result.logProbabilities.shape.last ?? 0
        precondition(
            result.logProbabilities.count == batch * K * V,
            "step returned \(result.logProbabilities.shape) for \(batch * K) rows")
        let allowed = try flags.allowed(vocabulary: V)
        let logp = result.logProbabilities.data
        let traceWidth = result.trace?.shape[1] ?? 0
        // The trace the step reported for `row`: what goes with the token chosen from it.
        func traceRow(_ row: Int) -> UnsafeBufferPointer<Float>? {
            result.trace.map { UnsafeBufferPointer(start: $0.data + row * traceWidth, count: traceWidth) }
        }
        var sourceRows = [Int](repeating: 0, count: batch * K)
        var newTokens = [Int32](repeating: options.endToken, count: batch * K)
        var newScores = [Double](repeating: -.infinity, count: batch * K)
        var newRowNodes = [Int](repeating: BeamPaths.root, count: batch * K)

        for b in 0..<batch {
            // Rows of finished items keep running (the batch stays rectangular) but are ignored.
            guard !done[b] else {
                sourceRows[b * K] = b * K
                continue
            }
            let last = length == limits[b]
            // The best 2K continuations: at most K of them end, so K live ones remain.
            var best = TopCandidates(capacity: 2 * K)
            for k in 0..<K where scores[b * K + k] > -.infinity {
                let row = b * K + k
                for v in 0..<V where allowed[v] {
                    let candidate = scores[row] + Double(logp[row * V + v])
                    if candidate > -.infinity { best.insert(score: candidate, row: row, token: Int32(v)) }
                }
            }
            var live = 0
            for (rank, candidate) in best.sorted.enumerated() {
                if candidate.token == options.endToken {
                    // An ending counts only among the K best continuations (greedy: the best).
                    guard rank < K else { continue }
                    let (history, trace) = paths.spell(rowNodes[candidate.row], then: traceRow(candidate.row))
                    finished[b].append(
                        Hypothesis(
                            tokens: history, logProbability: candidate.score,
                            score: normalized(candidate.score, length: length), finished: true, trace: trace))
                } else if live < K {
                    let row = b * K + live
                    sourceRows[row] = candidate.row
                    newTokens[row] = candidate.token
                    newScores[row] = candidate.score
                    newRowNodes[row] = paths.extend(
                        rowNodes[candidate.row], token: candidate.token, trace: traceRow(candidate.row))
                    live += 1
                }
            }
            for k in live..<K { sourceRows[b * K + k] = b * K }  // dead rows: any valid source
            if last {
                // Cut by the length limit: the live beams are returned, marked unfinished.
                for k in 0..<live {
                    let row = b * K + k
                    let (history, trace) = paths.spell(newRowNodes[row], then: nil)
                    finished[b].append(
                        Hypothesis(
                            tokens: history, logProbability: newScores[row],
                            score: normalized(newScores[row], length: length), finished: false, trace: trace))
                }
            }
            finished[b].sort { $0.score > $1.score }
            // Done when the beam is full of finished hypotheses, or when no live one can still
            // beat the n-best: a live log p only falls, and a longer length divides it at most
            // by maximumLength^α.
            let bestLive = (0..<live).map { normalized(newScores[b * K + $0], length: limits[b]) }.max() ?? -.infinity
            if last || finished[b].count >= K || live == 0
                || (finished[b].count >= options.nBest && bestLive <= finished[b][options.nBest - 1].score)
            {
                done[b] = true
            }
        }
        if done.allSatisfy({ $0 }) || length == longest { break }
        tokens = newTokens
        scores = newScores
        rowNodes = newRowNodes
        state = try reorder(result.state, sourceRows)
    }
    return finished.map { Array($0.prefix(options.nBest)) }
}

/// Greedy decoding over any step function (translation, captioning): the highest-scoring token
/// at every step. Rows never move, so no state is reordered. `step` may return
/// log-probabilities or raw logits, since normalising does not change the argmax;
/// `logProbability` (and `score`) sum what it returned for the chosen tokens, a log-probability
/// only when those were normalised.
///
/// - Parameters:
///   - maximumLengths: each item's limit, the end token included.
///   - stopAtEnd: false runs every row for its whole limit, tokens after an end included (a
///     benchmark's fixed-length decoding).
///   - excluded: tokens never chosen (padding, the start token).
public func greedyDecode<State>(
    batch: Int, initialState: State, startToken: Int32, endToken: Int32, maximumLengths: [Int],
    stopAtEnd: Bool = true, excluded: Set<Int32> = [],
    step: (_ tokens: [Int32], _ state: State) throws -> DecoderStep<State>
) throws -> [Hypothesis] {
    precondition(
        maximumLengths.count == batch && maximumLengths.allSatisfy { $0 >= 1 },
        "greedy decoding needs a limit ≥ 1 per item")
    var state = initialState
    var tokens = [Int32](repeating: startToken, count: batch)
    var hypotheses = [Hypothesis](
        repeating: Hypothesis(tokens: [], logProbability: 0, score: 0, finished: false, trace: []), count: batch)
    var active = [Bool](repeating: true, count: batch)
    var flags = AllowedTokens(excluded: excluded)
    for length in 1...(maximumLengths.max() ?? 1) {
        let result = try step(tokens, state)
        let V = result.logProbabilities.shape.last ?? 0
        precondition(
            result.logProbabilities.count == batch * V,
            "step returned \(result.logProbabilities.shape) for \(batch) rows")
        let allowed = try flags.allowed(vocabulary: V)
        for row in 0..<batch {
            let scores = result.logProbabilities.data + row * V
            var best = -1
            var bestScore = -Float.infinity
            for v in 0..<V where allowed[v] && (best < 0 || scores[v] > bestScore) {
                best = v
                bestScore = scores[v]
            }
            tokens[row] = Int32(best)
            guard active[row] else { continue }
            hypotheses[row].logProbability += Double(scores[best])
            if let trace = result.trace {
                let width = trace.shape[1]
                hypotheses[row].trace.append(Array(UnsafeBufferPointer(start: trace.data + row * width, count: width)))
            }
            if stopAtEnd && tokens[row] == endToken {
                hypotheses[row].finished = true
                active[row] = false
            } else {
                hypotheses[row].tokens.append(tokens[row])
                if length >= maximumLengths[row] { active[row] = false }
            }
        }
        state = result.state
        if !active.contains(true) { break }
    }
    for row in 0..<batch { hypotheses[row].score = hypotheses[row].logProbability }
    return hypotheses
}

/// The hypotheses of a beam search as a tree: each node is a token chosen from its parent
/// (and the trace the step reported with it), so extending a beam adds one node instead of
/// copying its history.
private struct BeamPaths {
    /// The empty history every beam starts from.
    static let root = -1
    private var parents: [Int] = []
    private var tokens: [Int32] = []
    /// The nodes' traces, one after another (all of one width, or none).
    private var traces: [Float] = []
    private var traceWidth = 0

    /// A node for `token` after `parent`; returns it.
    mutating func extend(_ parent: Int, token: Int32, trace: UnsafeBufferPointer<Float>?) -> Int {
        parents.append(parent)
        tokens.append(token)
        if let trace {
            traceWidth = trace.count
            traces.append(contentsOf: trace)
        }
        return parents.count - 1
    }

    /// The tokens from the root to `node`, and their traces, followed by `then` (the trace of an
    /// end token, which is not part of the history).
    func spell(_ node: Int, then last: UnsafeBufferPointer<Float>?) -> (tokens: [Int32], trace: [[Float]]) {
        var history: [Int32] = [], trace: [[Float]] = []
        var current = node
        while current != Self.root {
            history.append(tokens[current])
            if traceWidth > 0 { trace.append(Array(traces[(current * traceWidth)..<((current + 1) * traceWidth)])) }
            current = parents[current]
        }
        history.reverse()
        trace.reverse()
        if let last { trace.append(Array(last)) }
        return (history, trace)
    }
}

/// A flag per token id, false for the excluded ones (a set lookup per score would cost more
/// than the scan), made on the first step and kept while the vocabulary stays the same: the
/// decoding loops allocate nothing per step for it. Nothing allowed is an error (the best token
/// would be index -1, read before the row).
private struct AllowedTokens {
    let excluded: Set<Int32>
    private var flags: [Bool] = []

    init(excluded: Set<Int32>) { self.excluded = excluded }

    mutating func allowed(vocabulary V: Int) throws -> [Bool] {
        if flags.count != V {
            flags = [Bool](repeating: true, count: V)
            for token in excluded where token >= 0 && Int(token) < V { flags[Int(token)] = false }
            guard flags.contains(true) else { throw EngineError.noTokenAllowed(vocabulary: V) }
        }
        return flags
    }
}

/// The best `capacity` (score, row, token) triples seen, kept sorted (capacity is 2 × beam).
private struct TopCandidates {
    let capacity: Int
    private(set) var sorted: [(score: Double, row: Int, token: Int32)] = []

    init(capacity: Int) { self.capacity = capacity }

    mutating func insert(score: Double, row: Int, token: Int32) {
        if sorted.count == capacity {
            guard score > sorted[capacity - 1].score else { return }
            sorted.removeLast()
        }
        var i = sorted.count
        while i > 0 && sorted[i - 1].score < score { i -= 1 }
        sorted.insert((score, row, token), at: i)
    }
}

extension Double {
    fileprivate func pow(_ exponent: Double) -> Double { exponent == 1 ? self : Foundation.pow(self, exponent) }
}
