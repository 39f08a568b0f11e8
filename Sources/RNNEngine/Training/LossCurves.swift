/// The loss curves of a run, as the training loop keeps them: mean training loss per progress
/// line and validation loss per evaluation, against the step.
public struct LossCurves: Sendable {
    public var title: String
    /// The loss's unit, e.g. "nats per token".
    public var unit: String
    public var training: [(x: Double, y: Double)]
    public var validation: [(x: Double, y: Double)]
}

/// Draws a run's loss curves into a file (`loss.png` in the run directory). The engine keeps the
/// curves; drawing them is support code (EngineSupport's `LossCurveChart`), handed to the
/// `Trainer` by whoever wants the picture.
public protocol LossCurvePlotter: Sendable {
    func plot(_ curves: LossCurves, to path: String) throws
}
