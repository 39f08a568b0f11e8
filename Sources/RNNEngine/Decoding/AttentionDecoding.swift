/// How a decoder that attends over a memory (translation's source, captioning's image grid)
/// produces its output: what `decodeWithAttention` needs to run it greedily or with a beam.
public struct AttentionDecoding<State> {
    public var startToken: Int32
    public var endToken: Int32
    /// Tokens never generated (padding, the start token).
    public var excluded: Set<Int32>
    /// One step for every row: the next-token logits (rows, V), the new state and the attention
    /// weights (rows, S), kept as each hypothesis's trace.
    public var step:
        (_ tokens: [Int32], _ state: State, _ memory: Attention.Memory) throws -> (
            logits: Tensor, state: State, weights: Tensor
        )
    /// The state's rows picked (and repeated) by index.
    public var reorder: (_ state: State, _ rows: [Int]) throws -> State

    public init(
        startToken: Int32, endToken: Int32, excluded: Set<Int32>,
        step:
            @escaping (_ tokens: [Int32], _ state: State, _ memory: Attention.Memory) throws -> (
                logits: Tensor, state: State, weights: Tensor
            ),
        reorder: @escaping (_ state: State, _ rows: [Int]) throws -> State
    ) {
        self.startToken = startToken
        self.endToken = endToken
        self.excluded = excluded
        self.step = step
        self.reorder = reorder
    }
}

/// Decodes a batch with an attention decoder: greedily for a beam of 1 (straight from the
/// logits: normalising does not change the argmax, so the hypotheses' scores are sums of logits),
/// else by beam search over log-probabilities, with the memory laid out once as row b·K + k =
/// beam k of item b (beam search only reorders rows within an item, so it never moves again).
///
/// - Parameters:
///   - options: beam size, n-best and length normalisation (start, end and maximum length come
///     from `decoding` and `maximumLengths`).
///   - maximumLengths: each item's limit, the end token included.
///   - stopAtEnd: false runs greedy decoding for the whole limit (a benchmark's fixed length).
/// - Returns: per item, up to `options.nBest` hypotheses, best first (one for greedy decoding).
public func decodeWithAttention<State>(
    batch: Int, initialState: State, memory: Attention.Memory, decoding: AttentionDecoding<State>,
    beamSize: Int, nBest: Int = 1, lengthNormalization: Double, maximumLengths: [Int], stopAtEnd: Bool = true,
    tape: Tape
) throws -> [[Hypothesis]] {
    if beamSize == 1 {
        return try greedyDecode(
            batch: batch, initialState: initialState, startToken: decoding.startToken,
            endToken: decoding.endToken, maximumLengths: maximumLengths, stopAtEnd: stopAtEnd,
            excluded: decoding.excluded
        ) { tokens, state in
            let (logits, next, weights) = try decoding.step(tokens, state, memory)
            return DecoderStep(logProbabilities: logits, state: next, trace: weights)
        }.map { [$0] }
    }
    let expanded = try memory.selectingRows((0..<(batch * beamSize)).map { $0 / beamSize }, tape: tape)
    let options = BeamSearchOptions(
        beamSize: beamSize, nBest: nBest, maximumLength: maximumLengths.max() ?? 1,
        lengthNormalization: lengthNormalization,
        startToken: decoding.startToken, endToken: decoding.endToken)
    return try beamSearch(
        batch: batch, initialState: initialState, options: options, maximumLengths: maximumLengths,
        excluded: decoding.excluded,
        step: { tokens, state in
            let (logits, next, weights) = try decoding.step(tokens, state, expanded)
            return DecoderStep(
                logProbabilities: try logSoftmax(Variable(logits), axis: 1, tape: tape).value, state: next,
                trace: weights)
        }, reorder: decoding.reorder)
}
