/// The recurrent cells the engine implements, with PyTorch's names and gate layouts.
public enum CellKind: String, Codable, CaseIterable, Sendable {
    /// Long short-term memory; gates i, f, g, o (PyTorch's order).
    case lstm
    /// Gated recurrent unit; gates r, z, n, with PyTorch's formula n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn)).
    case gru
    /// Elman RNN with tanh.
    case rnnTanh = "rnn_tanh"
    /// Elman RNN with ReLU.
    case rnnRelu = "rnn_relu"

    /// How many hidden-size blocks the stacked weight matrices have.
    public var gateCount: Int {
        switch self {
        case .lstm: return 4
        case .gru: return 3
        case .rnnTanh, .rnnRelu: return 1
        }
    }

    /// Whether the cell carries a memory cell `c` besides `h`.
    public var hasCellState: Bool { self == .lstm }

    /// Parses the CLI spellings: lstm, gru, rnn (tanh), rnn_tanh, rnn_relu.
    public init?(name: String) {
        switch name.lowercased() {
        case "lstm": self = .lstm
        case "gru": self = .gru
        case "rnn", "rnn_tanh", "rnn-tanh", "tanh": self = .rnnTanh
        case "rnn_relu", "rnn-relu", "relu": self = .rnnRelu
        default: return nil
        }
    }
}
