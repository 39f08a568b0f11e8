import ArgumentParser
import EngineSupport
import Foundation
import ImageCaptioning
import RNNEngine
import SpeechRecognition
import Translation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Throughput of the reference workloads, as JSON lines.",
        discussion: """
            Prints the workloads of the PyTorch reference, scripts/reference/torch_bench.py in the \
            repository, with the same \
            names and fields, plus the achieved GFLOP/s and the measured sgemm peak. Compare the two \
            in one shell session, as ratios. Build in release mode first.
            """)

    @Option(help: "Run one workload: \(BenchCommand.names.joined(separator: ", ")). (default: all)") var only: String?
    @Option(parsing: .unconditional, help: "Timed seconds per workload.") var seconds: Double = 3
    @Option(parsing: .unconditional, help: "Threads for OpenBLAS and the engine, as the PyTorch reference's --threads.")
    var threads: Int = 2
    @Flag(help: "Print the workload names, one a line, and exit.") var list = false

    /// The engine's workloads and the task models'.
    static var names: [String] {
        BenchmarkWorkloads.names + [TranslationBenchmark.name, SpeechBenchmark.name, CaptionBenchmark.name]
    }

    func validate() throws {
        if let only, !Self.names.contains(only) {
            throw ValidationError("unknown workload '\(only)'; choose one of \(Self.names.joined(separator: ", "))")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive, not \(threads)") }
    }

    func run() throws {
        if list {
            Self.names.forEach { print($0) }
            return
        }
        // Not capped: measuring more threads than CPUs is a benchmark's business.
        Engine.setThreads(threads)
        let peak = SystemReport.peakSgemmGflops()
        for workload in BenchmarkWorkloads.languageModels where only == nil || only == workload.name {
            for line in BenchmarkWorkloads.runLanguageModel(workload, seconds: seconds, sgemmPeak: peak) {
                print(line)
                fflush(nil)
            }
        }
        if only == nil || only == "ctc-loss" {
            print(BenchmarkWorkloads.runCTC(seconds: seconds))
            fflush(nil)
        }
        if only == nil || only == TranslationBenchmark.name {
            for line in try TranslationBenchmark.run(seconds: seconds) {
                print(line)
                fflush(nil)
            }
        }
        if only == nil || only == SpeechBenchmark.name {
            for line in try SpeechBenchmark.run(seconds: seconds) {
                print(line)
                fflush(nil)
            }
        }
        if only == nil || only == CaptionBenchmark.name {
            for line in try CaptionBenchmark.run(seconds: seconds) {
                print(line)
                fflush(nil)
            }
        }
    }
}
