import ArgumentParser
import RNNEngine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Throughput of the reference workloads, as JSON lines.")
    @Option(help: "Run one workload (e.g. lstm-lm, gru-lm, ctc-loss).") var only: String?
    @Option(help: "Timed seconds per workload.") var seconds: Double = 3
    @Option(help: "Threads for OpenBLAS and the engine.") var threads: Int = 2
    func run() throws {}
}
