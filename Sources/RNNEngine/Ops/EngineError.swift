/// Errors that values from user data can raise inside an op: a label or index out of range, an
/// alignment that cannot exist, a row with nothing left to attend to. Shape mismatches between
/// tensors are programming errors and stay preconditions; these name what the data got wrong.
public enum EngineError: Error, CustomStringConvertible, Equatable {
    /// `what` (an embedding id, a gather index, a target) is outside 0..<bound.
    case indexOutOfRange(what: String, index: Int, bound: Int)
    /// Every position of softmax row `row` is masked out: there is nothing to normalise over.
    case allPositionsMasked(row: Int)
    /// CTC: utterance `item`'s label is the blank or outside the alphabet 0..<classes.
    case ctcLabelOutsideAlphabet(item: Int, label: Int, classes: Int)
    /// CTC: utterance `item` needs at least `framesNeeded` frames for its labels, it has `frames`.
    case ctcLabelsTooLong(item: Int, labels: Int, framesNeeded: Int, frames: Int)
    /// CTC: utterance `item`'s frame count is outside 0...maximum.
    case ctcInputLength(item: Int, length: Int, maximum: Int)
    /// A sequence length outside 0...maximum.
    case lengthOutOfRange(item: Int, length: Int, maximum: Int)
    /// Decoding: every one of the `vocabulary` output tokens is excluded.
    case noTokenAllowed(vocabulary: Int)

    public var description: String {
        switch self {
        case .indexOutOfRange(let what, let index, let bound):
            return "\(what) \(index) is outside 0..<\(bound)"
        case .allPositionsMasked(let row):
            return "softmax row \(row) has every position masked out (an empty sequence?)"
        case .ctcLabelOutsideAlphabet(let item, let label, let classes):
            return "utterance \(item): label \(label) is the blank or outside the alphabet 0..<\(classes)"
        case .ctcLabelsTooLong(let item, let labels, let needed, let frames):
            return
                "utterance \(item): \(labels) labels need at least \(needed) frames, it has \(frames) (audio too short for its transcript; --zero-infinity skips such utterances)"
        case .ctcInputLength(let item, let length, let maximum):
            return "utterance \(item): \(length) frames is outside 0...\(maximum)"
        case .lengthOutOfRange(let item, let length, let maximum):
            return "sequence \(item): length \(length) is outside 0...\(maximum)"
        case .noTokenAllowed(let vocabulary):
            return "every one of the \(vocabulary) output tokens is excluded: nothing can be decoded"
        }
    }
}
