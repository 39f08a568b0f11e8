import CKernels
import Foundation

/// Adam (`torch.optim.Adam`, L2 weight decay added to the gradient) and AdamW
/// (`torch.optim.AdamW`, decoupled weight decay), with PyTorch's bias-corrected update
///   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    /// True for AdamW: weight decay shrinks the parameters directly instead of joining the gradient.
    public let decoupledWeightDecay: Bool
    public private(set) var stepCount = 0
    private let store: ParameterStore
    private let firstMoment: Tensor
    private let secondMoment: Tensor

    public init(
        store: ParameterStore, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) {
        precondition(store.isPacked, "pack() the parameter store before creating the optimizer")
        self.store = store
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        firstMoment = Tensor(zeros: [store.values.count])
        secondMoment = Tensor(zeros: [store.values.count])
    }

    /// AdamW with PyTorch's default weight decay of 0.01.
    public static func adamW(store: ParameterStore, learningRate: Float = 1e-3, weightDecay: Float = 0.01) -> Adam {
        Adam(store: store, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func step() {
        stepCount += 1
        let t = Double(stepCount)
        let correction1 = 1 - pow(Double(beta1), t)
        let correction2 = 1 - pow(Double(beta2), t)
        let stepSize = Float(Double(learningRate) / correction1)
        let inverseRootCorrection2 = Float(1 / correction2.squareRoot())
        let b1 = beta1, b2 = beta2, eps = epsilon, lr = learningRate
        let l2 = decoupledWeightDecay ? 0 : weightDecay
        let shrink = decoupledWeightDecay ? 1 - lr * weightDecay : 1
        let p = store.values.data, g = store.gradients.data
        let m = firstMoment.data, v = secondMoment.data
        parallelChunks(store.trainableCount, minimumPerChunk: 1 << 15) { range in
            let k = range.lowerBound
            zoo_adam_update(
                p + k, g + k, m + k, v + k, range.count, b1, b2, l2, shrink, stepSize,
                inverseRootCorrection2, eps)
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        namedViews(of: firstMoment, prefix: "exp_avg", store: store)
            + namedViews(of: secondMoment, prefix: "exp_avg_sq", store: store)
    }

    public func stateMetadata() -> [String: String] {
        ["optimizer": decoupledWeightDecay ? "adamw" : "adam", "step": String(stepCount)]
    }

    public func loadState(tensors: [String: Tensor], metadata: [String: String], path: String) throws {
        stepCount = try intMetadata(metadata, "step", path: path)
        try loadNamedViews(tensors, into: firstMoment, prefix: "exp_avg", store: store, path: path)
        try loadNamedViews(tensors, into: secondMoment, prefix: "exp_avg_sq", store: store, path: path)
    }
}
