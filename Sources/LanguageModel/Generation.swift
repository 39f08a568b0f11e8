import RNNEngine

extension LanguageModelNetwork {
    /// Continues `prompt` by `length` tokens. The prompt primes the state (tokens outside the
    /// vocabulary are skipped); without one, generation starts from a line break (`<eos>` for
    /// word models) when the vocabulary has it. `onText` receives each generated token's text as
    /// it comes (the pieces join to the returned text), for output that streams.
    /// The prompt's tokens the model has no entry for (nor an `<unk>` to read them as): generation
    /// leaves them out. A caller checks this before it shows the prompt.
    public func unknownPromptTokens(_ prompt: String) -> [String] {
        config.tokens.tokens(prompt).filter {
            vocabulary.id(of: $0) == nil && vocabulary.id(of: Tokenization.unknown) == nil
        }
    }

    public func generate(
        prompt: String, length: Int, sampling: SamplingOptions = SamplingOptions(),
        rng: inout RandomGenerator, onText: ((String) -> Void)? = nil
    ) throws -> String {
        var ids = Corpus.encode(config.tokens.tokens(prompt), vocabulary: vocabulary).ids
        if config.tokens == .word, !prompt.hasSuffix("\n"), ids.last == vocabulary.id(of: Tokenization.endOfSentence) {
            ids.removeLast()  // a one-line prompt continues its line
        }
        if ids.isEmpty {
            if !prompt.isEmpty && prompt.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) {
                throw LanguageModelError.emptyPrompt
            }
            let start = vocabulary.id(of: config.tokens == .word ? Tokenization.endOfSentence : "\n")
            ids = [start ?? Int32(rng.int(below: vocabularySize))]
        }
        var generated: [String] = []
        var state: RecurrentState? = nil
        var input = ids
        let V = vocabularySize
        for _ in 0..<length {
            let tape = Tape.inference()
            let (logits, newState) = try forward(
                input, steps: input.count, batch: 1, state: state, tape: tape, rng: &rng)
            state = newState
            let last = logits.value.data + (input.count - 1) * V
            let next = sampleToken(logits: last, count: V, options: sampling, rng: &rng)
            generated.append(vocabulary.token(next))
            // Both tokenizations detokenize token by token, so the pieces join to the result.
            onText?(config.tokens.detokenize([vocabulary.token(next)]))
            input = [next]
        }
        return config.tokens.detokenize(generated)
    }
}
