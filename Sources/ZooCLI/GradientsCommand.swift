import ArgumentParser
import Datasets
import EngineSupport
import Foundation
import LanguageModel
import RNNEngine

/// `zoo gradients`: the vanishing- and exploding-gradient experiment on real text.
struct GradientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradients",
        abstract: "Measure how much of the last step's loss reaches each earlier hidden state.",
        discussion: """
            Trains a small character model (embedding, one recurrent cell, linear) on windows of the \
            language-model data and prints ‖∂L_T/∂h_t‖ for t = 1…T, at initialisation and after \
            training: the loss at the last step of a window, differentiated with respect to every \
            earlier hidden state. With --task recall (the default) the model must name the window's \
            first character at its last step, which only a memory kept across all T steps can do; \
            with --task next it predicts the next character at every step, as a language model. \
            For --cell rnn it adds the exploding case: a ReLU RNN whose recurrent weights start \
            scaled up, trained with plain SGD with and without gradient clipping.
            """)

    @Option(help: "Recurrent cell: rnn (tanh), lstm or gru.") var cell: String = "rnn"
    @Option(
        help:
            "What the model learns: next (the next character at every step) or recall (the window's first character, at the last step)."
    )
    var task: String = "recall"
    @Option(
        parsing: .unconditional,
        help:
            "Added to the LSTM's forget-gate bias at initialisation (PyTorch adds 0, Keras 1; 3 opens the gate to ~0.95 so memory can last T steps)."
    )
    var forgetBias: Float = 3
    @Option(parsing: .unconditional, help: "Sequence length T.") var length: Int = 100
    @Option(parsing: .unconditional, help: "Training steps before the second measurement.") var steps: Int = 1000
    @Option(help: "Text to train on: a file or a train/valid/test directory. (default: the built-in corpus)") var data:
        String?
    @Option(help: "The plot to write, a PNG with a logarithmic y axis. (default: gradients-<cell>.png)") var out:
        String?
    @Option(parsing: .unconditional, help: "Random seed.") var seed: UInt64 = 1
    @OptionGroup var threads: ThreadsOption
    @Flag(help: "Print one JSON object with every number.") var json = false

    func validate() throws {
        guard let kind = CellKind(name: cell), kind != .rnnRelu else {
            throw ValidationError("--cell must be rnn, lstm or gru, not '\(cell)'")
        }
        guard GradientFlowTask(rawValue: task) != nil else {
            throw ValidationError("--task must be next or recall, not '\(task)'")
        }
        if length < 2 { throw ValidationError("--length must be at least 2") }
        if steps < 0 { throw ValidationError("--steps must not be negative") }
    }

    func run() throws {
        threads.apply()
        let kind = CellKind(name: cell) ?? .rnnTanh
        let text = try data.map { try CorpusText.load(path: $0) } ?? DefaultCorpus.load()
        let corpus = try Corpus(text: text, tokenization: .char)
        var settings = GradientFlowSettings()
        settings.task = GradientFlowTask(rawValue: task) ?? .next
        settings.forgetBias = forgetBias
        settings.length = length
        settings.trainingSteps = steps
        settings.seed = seed
        let flow = try measureGradientFlow(
            kind, ids: corpus.train, vocabularySize: corpus.vocabulary.count, settings: settings)

        // The exploding case: a ReLU RNN started with recurrent weights × 3, plain SGD.
        var exploding: (initial: [Double], clipped: [Double], unclipped: [Double])?
        if kind == .rnnTanh {
            var explode = settings
            explode.recurrentScale = 3
            explode.task = .next
            explode.sgd = true
            explode.learningRate = 0.05
            explode.clip = 1
            explode.trainingSteps = min(steps, 30)
            let clipped = try measureGradientFlow(
                .rnnRelu, ids: corpus.train, vocabularySize: corpus.vocabulary.count, settings: explode)
            explode.clip = nil
            let unclipped = try measureGradientFlow(
                .rnnRelu, ids: corpus.train, vocabularySize: corpus.vocabulary.count, settings: explode)
            exploding = (clipped.initial, clipped.trainingLosses, unclipped.trainingLosses)
        }

        let path = out ?? "gradients-\(cell).png"
        var chart = LineChart(
            series: [], title: "dL/dh_t of the last step's loss: \(kind.rawValue), \(task) task",
            xLabel: "timestep t (the loss is at t = \(length))", yLabel: "|dL/dh_t|")
        chart.logarithmicY = true
        let curve = { (values: [Double]) in values.enumerated().map { (Double($0.offset + 1), $0.element) } }
        chart.series.append(
            .init(points: curve(flow.initial), color: LineChart.palette[0], name: "\(kind.rawValue), at initialisation")
        )
        if !flow.trained.isEmpty {
            chart.series.append(
                .init(
                    points: curve(flow.trained), color: LineChart.palette[1],
                    name: "\(kind.rawValue), after \(steps) steps"))
        }
        if let exploding {
            chart.series.append(
                .init(
                    points: curve(exploding.initial), color: LineChart.palette[3], name: "ReLU RNN, W_hh x 3, next task"
                ))
        }
        try chart.render().writePNG(to: path)

        let ratio = { (values: [Double]) -> Double? in
            guard let first = values.first, let last = values.last, last > 0 else { return nil }
            return first / last
        }
        if json {
            var fields: [(String, JSONValue)] = [
                ("cell", .string(kind.rawValue)), ("task", .string(task)), ("length", .int(length)),
                ("training_steps", .int(steps)),
                ("forget_bias", kind == .lstm ? .double(Double(forgetBias)) : .null),
                ("initial", .numbers(flow.initial)), ("trained", .numbers(flow.trained)),
                ("first_to_last_initial", ratio(flow.initial).map { .double($0) } ?? .null),
                ("first_to_last_trained", ratio(flow.trained).map { .double($0) } ?? .null),
                ("training_losses", .numbers(flow.trainingLosses)), ("plot", .string(path))
            ]
            if let exploding {
                fields += [
                    ("exploding_initial", .numbers(exploding.initial)),
                    ("exploding_first_to_last", ratio(exploding.initial).map { .double($0) } ?? .null),
                    ("exploding_losses_clipped", .numbers(exploding.clipped)),
                    ("exploding_losses_unclipped", .numbers(exploding.unclipped))
                ]
            }
            print(jsonLine(fields))
        } else {
            func describe(_ values: [Double], _ when: String) {
                guard let r = ratio(values) else { return }
                print(
                    String(
                        format: "%@ %@: |dL/dh_1| = %.3g, |dL/dh_%d| = %.3g, ratio %.3g", kind.rawValue, when,
                        values[0], length, values[values.count - 1], r))
            }
            describe(flow.initial, "at initialisation")
            describe(flow.trained, "after \(steps) steps")
            if !flow.trainingLosses.isEmpty {
                let recent = flow.trainingLosses.suffix(100)
                print(
                    String(
                        format: "  training loss: %.3f at the first step, %.3f over the last %d",
                        flow.trainingLosses[0],
                        recent.reduce(0, +) / Double(recent.count), recent.count))
            }
            if let exploding, let r = ratio(exploding.initial) {
                print(
                    String(
                        format:
                            "ReLU RNN with W_hh x 3, next-character task: |dL/dh_1| / |dL/dh_%d| = %.3g at initialisation",
                        length, r))
                let show = { (losses: [Double]) in
                    losses.suffix(3).map { String(format: "%.3g", $0) }.joined(separator: ", ")
                }
                print("  SGD with clipping at 1, last losses: \(show(exploding.clipped))")
                print(
                    "  SGD without clipping, last losses: \(show(exploding.unclipped))"
                        + (exploding.unclipped.last?.isFinite == false ? " (diverged)" : ""))
            }
            print("plot: \(path)")
        }
    }
}
