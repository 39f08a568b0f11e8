/// Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and (L2) weight
/// decay semantics (`torch.optim.SGD`).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let dampening: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public private(set) var stepCount = 0
    private let store: ParameterStore
    private let velocity: Tensor

    public init(
        store: ParameterStore, learningRate: Float, momentum: Float = 0, dampening: Float = 0,
        nesterov: Bool = false, weightDecay: Float = 0
    ) {
        precondition(store.isPacked, "pack() the parameter store before creating the optimizer")
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Nesterov needs momentum and no dampening")
        self.store = store
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        velocity = Tensor(zeros: [momentum > 0 ? store.values.count : 0])
    }

    public func step() {
        let p = store.values.data, g = store.gradients.data, v = velocity.data
        let n = store.trainableCount
        let lr = learningRate, wd = weightDecay, mu = momentum, damp = dampening
        let first = stepCount == 0
        let nesterov = self.nesterov
        parallelChunks(n, minimumPerChunk: 1 << 15) { range in
            for k in range {
                var d = g[k] + wd * p[k]
                if mu > 0 {
                    v[k] = first ? d : mu * v[k] + (1 - damp) * d
                    d = nesterov ? d + mu * v[k] : v[k]
                }
                p[k] -= lr * d
            }
        }
        stepCount += 1
    }

    public func stateTensors() -> [(String, Tensor)] {
        momentum > 0 ? namedViews(of: velocity, prefix: "momentum_buffer", store: store) : []
    }

    public func stateMetadata() -> [String: String] { ["optimizer": "sgd", "step": String(stepCount)] }

    public func loadState(tensors: [String: Tensor], metadata: [String: String], path: String) throws {
        stepCount = try intMetadata(metadata, "step", path: path)
        if momentum > 0 {
            try loadNamedViews(tensors, into: velocity, prefix: "momentum_buffer", store: store, path: path)
        }
    }
}
