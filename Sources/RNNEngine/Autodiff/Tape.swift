/// Records the backward pass of each operation as the forward pass runs (define by run).
///
/// Operations are coarse (a whole recurrent layer over a sequence is one), so the tape holds
/// a few closures per step. `backward(from:)` seeds the loss gradient with 1 and replays them
/// in reverse order. A tape with `isRecording == false` (inference) records nothing.
public final class Tape {
    public var isRecording: Bool
    /// True while training: dropout is active. Inference tapes turn it off.
    public var isTraining: Bool
    private var backwards: [() -> Void] = []
    /// Parameters' weight gradients held until the backward pass ends (`addWeightGradient`);
    /// made at first use, so inference tapes never make one.
    lazy var deferredWeightGradients = DeferredWeightGradients()
    /// What ops keep for this pass only (`kept(for:_:)`), forgotten when the backward pass ends.
    private var keptForPass: [ObjectIdentifier: AnyObject] = [:]

    public init(recording: Bool = true, training: Bool? = nil) {
        self.isRecording = recording
        self.isTraining = training ?? recording
    }

    /// A tape that records nothing and runs layers in evaluation mode.
    public static func inference() -> Tape { Tape(recording: false, training: false) }

    /// Whether an op over `inputs` must record its backward.
    @inline(__always)
    public func needsGradient(_ inputs: Variable?...) -> Bool {
        isRecording && inputs.contains { $0?.requiresGrad == true }
    }

    /// Records `backward`, to run during `backward(from:)` after every later op's.
    public func record(_ backward: @escaping () -> Void) {
        backwards.append(backward)
    }

    /// Runs the recorded backward passes from a scalar loss, then forgets them.
    public func backward(from loss: Variable) { backward(from: loss, seed: 1) }

    /// Backpropagates `seed` · loss: the gradients of a weighted loss (a data-parallel rank's
    /// share of a batch) without a pass over them afterwards.
    public func backward(from loss: Variable, seed: Float) {
        precondition(loss.value.count == 1, "backward needs a scalar loss, got \(loss.shape)")
        loss.gradient().fill(seed)
        for step in backwards.reversed() { step() }
        deferredWeightGradients.flush()
        backwards.removeAll(keepingCapacity: true)
        keptForPass = [:]
    }

    /// The object `owner` keeps for this forward and backward pass, made by `make` at the
    /// first call: weights packed once for the many steps of a decoder, which cannot change
    /// before the pass ends (the optimizer steps after it). Forgotten when the backward pass
    /// ends, or with the tape.
    public func kept<T: AnyObject>(for owner: AnyObject, _ make: () -> T) -> T {
        let key = ObjectIdentifier(owner)
        if let object = keptForPass[key] as? T { return object }
        let object = make()
        keptForPass[key] = object
        return object
    }

    /// Forgets the recorded operations without running them.
    public func reset() {
        backwards.removeAll(keepingCapacity: true)
        deferredWeightGradients.reset()
        keptForPass = [:]
    }

    public var recordedCount: Int { backwards.count }
}
