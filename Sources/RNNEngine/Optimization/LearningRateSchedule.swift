/// Multiplies the learning rate by `gamma` every `stepSize` steps (`torch.optim.lr_scheduler.StepLR`).
public struct StepDecay: Codable, Sendable {
    public let initialLearningRate: Float
    public let stepSize: Int
    public let gamma: Float

    public init(initialLearningRate: Float, stepSize: Int, gamma: Float) {
        precondition(stepSize > 0)
        self.initialLearningRate = initialLearningRate
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func learningRate(atStep step: Int) -> Float {
        var lr = initialLearningRate
        for _ in 0..<(step / stepSize) { lr *= gamma }
        return lr
    }
}

/// Divides the learning rate when a monitored loss stops improving
/// (`torch.optim.lr_scheduler.ReduceLROnPlateau`, mode "min", relative threshold).
public struct PlateauDecay: Codable, Sendable {
    public let factor: Float
    public let patience: Int
    public let threshold: Float
    public let minimumLearningRate: Float
    public private(set) var best: Float = .infinity
    public private(set) var badEvaluations = 0

    public init(factor: Float = 0.25, patience: Int = 0, threshold: Float = 1e-4, minimumLearningRate: Float = 0) {
        precondition(factor > 0 && factor < 1, "plateau factor must be in (0, 1)")
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.minimumLearningRate = minimumLearningRate
    }

    /// Records a validation loss and returns the learning rate to use from now on. A metric to
    /// maximise comes negated; the relative threshold is taken of |best|, so that works too.
    public mutating func update(loss: Float, learningRate: Float) -> Float {
        if best == .infinity || loss < best - threshold * abs(best) {
            best = loss
            badEvaluations = 0
            return learningRate
        }
        badEvaluations += 1
        guard badEvaluations > patience else { return learningRate }
        badEvaluations = 0
        return max(learningRate * factor, minimumLearningRate)
    }
}
