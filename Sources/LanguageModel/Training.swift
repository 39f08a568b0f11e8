import Foundation
import RNNEngine

/// Settings of a language-model run beyond the shared loop's.
public struct LanguageModelTrainingSettings: Codable, Sendable {
    public var batchSize: Int
    /// Truncated backpropagation length: timesteps per batch.
    public var bptt: Int

    public init(batchSize: Int = 32, bptt: Int = 64) {
        self.batchSize = batchSize
        self.bptt = bptt
    }
}

/// Language-model training as pytorch/examples does it: the training stream is cut into
/// `batchSize` parallel streams (batchify), read `bptt` steps at a time, with the hidden state
/// carried from batch to batch but cut from the graph (truncated BPTT), and reset each epoch.
///
///     stream a b c d e f g h i j k l   batchSize 3 →   a e i
///                                                      b f j
///                                                      c g k
///                                                      d h l   (T × B, time-major)
public final class LanguageModelTrainingTask: TrainingTask {
    public let network: LanguageModelNetwork
    public let corpus: Corpus
    public let settings: LanguageModelTrainingSettings
    /// (rows, batchSize) time-major ids.
    let batched: [Int32]
    let rows: Int
    private var position = 0
    /// This rank's rows of the carried state ([layers, rows, hidden]).
    private var carried: RecurrentState?
    /// Data-parallel: each rank trains its share of the `batchSize` streams.
    private var group: DataParallelGroup?

    public init(network: LanguageModelNetwork, corpus: Corpus, settings: LanguageModelTrainingSettings) throws {
        guard settings.batchSize > 0, settings.bptt > 0 else {
            throw TrainingError.invalid("--batch-size and --bptt must be positive")
        }
        let B = settings.batchSize
        let rows = corpus.train.count / B
        guard rows >= 2 else {
            throw TrainingError.invalid(
                "the training split has \(corpus.train.count) tokens, too few for --batch-size \(B); lower it or add text"
            )
        }
        self.network = network
        self.corpus = corpus
        self.settings = settings
        self.rows = rows
        var batched = [Int32](repeating: 0, count: rows * B)
        for b in 0..<B { for t in 0..<rows { batched[t * B + b] = corpus.train[b * rows + t] } }
        self.batched = batched
    }

    public var taskName: String { LanguageModelNetwork.taskName }
    public func checkCheckpointLoads(path: String) throws { _ = try LanguageModelNetwork.load(path: path) }
    public var lossUnit: String { "token" }
    public var parameters: ParameterStore { network.parameters }
    public var stepsPerEpoch: Int { (rows - 1 + settings.bptt - 1) / settings.bptt }
    public var checkpointMetadata: [String: String] { network.checkpointMetadata }
    /// PyTorch's state_dict, tied output layer included, so `load_state_dict(strict=True)` takes it.
    public var checkpointTensors: [(String, Tensor)] { network.stateDictionary }
    public func loadCheckpoint(_ file: SafeTensorsFile, path: String) throws { try network.loadState(file, path: path) }

    public func trainingLoss(tape: Tape, rng: inout RandomGenerator) throws -> (loss: Variable, count: Int) {
        if position >= rows - 1 {
            position = 0
            carried = nil  // a new epoch starts from a zero state
        }
        let B = settings.batchSize
        let T = min(settings.bptt, rows - 1 - position)
        let streams = group?.communicator.shard(B) ?? 0..<B
        // Each time row's columns for this rank's streams (all of them in one process).
        func streamRows(from start: Int) -> [Int32] {
            (start..<(start + T)).flatMap { t in batched[(t * B + streams.lowerBound)..<(t * B + streams.upperBound)] }
        }
        let inputs = streamRows(from: position), targets = streamRows(from: position + 1)
        let (logits, state): (Variable, RecurrentState)
        if let group {
            var local = group.localGenerator(from: rng)
            (logits, state) = try network.forward(
                inputs, steps: T, batch: streams.count, state: carried, tape: tape, rng: &local)
        } else {
            (logits, state) = try network.forward(inputs, steps: T, batch: B, state: carried, tape: tape, rng: &rng)
        }
        carried = state.detached()
        position += T
        return (softmaxCrossEntropy(logits, targets: targets, tape: tape), T * streams.count)
    }

    /// Splits the `batchSize` parallel streams over the ranks (each carries its streams' state);
    /// validation scores the whole validation stream on every rank, since its carried state
    /// makes it one sequence that does not split.
    public func joinDataParallel(_ group: DataParallelGroup) throws {
        guard settings.batchSize >= group.size else {
            throw TrainingError.invalid(
                "--batch-size \(settings.batchSize) is smaller than the \(group.size) ranks: each needs a stream")
        }
        self.group = group
        if let carried { self.carried = shard(carried) }
    }

    private func shard(_ state: RecurrentState) -> RecurrentState {
        guard let communicator = group?.communicator else { return state }
        return RecurrentState(
            hidden: Variable(communicator.shard(batchAxisOf: state.hidden.value)),
            cell: state.cell.map { Variable(communicator.shard(batchAxisOf: $0.value)) })
    }

    public func validationLoss() throws -> Double {
        guard corpus.valid.count >= 2 else {
            throw CorpusError.tooSmall(path: "valid split", tokens: corpus.valid.count, needed: 2)
        }
        return try network.score(corpus.valid).loss
    }

    public func metrics(forLoss loss: Double) -> [(String, Double)] {
        network.config.tokens == .char ? [("bpc", loss / log(2))] : [("ppl", exp(loss))]
    }

    public func saveProgress() -> (tensors: [(String, Tensor)], metadata: [String: String]) {
        var tensors: [(String, Tensor)] = []
        // Whole, as one process holds it: a run resumes under any number of ranks.
        func whole(_ t: Tensor) -> Tensor {
            group.map { $0.communicator.allGather(batchAxisOf: t, batch: settings.batchSize) } ?? t
        }
        if let carried {
            tensors.append(("hidden", whole(carried.hidden.value)))
            if let cell = carried.cell { tensors.append(("cell", whole(cell.value))) }
        }
        return (tensors, ["position": String(position)])
    }

    public func restoreProgress(tensors: [String: Tensor], metadata: [String: String], path: String) throws {
        guard let text = metadata["position"], let saved = Int(text), saved >= 0, saved <= rows else {
            throw CheckpointError.missingMetadata(
                path: path, key: "progress.position (was the data or --batch-size changed?)")
        }
        position = saved
        if let hidden = tensors["hidden"] {
            let expected = [network.config.layers, settings.batchSize, network.config.hiddenSize]
            guard hidden.shape == expected else {
                throw CheckpointError.shapeMismatch(
                    path: path, name: "progress.hidden", found: hidden.shape, expected: expected)
            }
            carried = shard(RecurrentState(hidden: Variable(hidden), cell: tensors["cell"].map { Variable($0) }))
        } else {
            carried = nil
        }
    }
}

extension TrainingOptions {
    /// `zoo train lm`'s schedule: 600 steps, validation every 200, a progress line every 50,
    /// Adam at 2e-3, clipping at 5. Without a directory the run writes no files.
    public static func languageModel(steps: Int = 600, outputDirectory: String? = nil) -> TrainingOptions {
        TrainingOptions(
            steps: steps, evaluateEvery: 200, logEvery: 50, learningRate: 2e-3, outputDirectory: outputDirectory)
    }
}
