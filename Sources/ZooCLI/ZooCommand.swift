import ArgumentParser
import EngineSupport
import Foundation
import RNNEngine

/// The `zoo` command: train, evaluate and run recurrent networks on the CPU.
public struct ZooCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "Train, evaluate and run recurrent neural networks on the CPU.",
        version: zooVersion,
        subcommands: [
            TrainCommand.self, EvalCommand.self, SampleCommand.self, TranslateCommand.self, TranscribeCommand.self,
            TuneCommand.self, CaptionCommand.self, DataCommand.self,
            ScoreCommand.self, GradientsCommand.self, InfoCommand.self, BenchCommand.self, ServeCommand.self
        ])

    public init() {}

    /// `zoo` alone: what to run first.
    public func run() throws {
        print(
            """
            zoo trains, evaluates and runs recurrent neural networks on the CPU.

            Start here (about a minute on 2 cores):
              zoo train lm                          train a small character language model
              zoo sample --prompt "This License"    let it write

            Then (about 6 minutes): an English-to-German translator with attention:
              zoo train translation
              zoo translate "Yesterday the children saw our dog."

            And (10 to 16 minutes each): a speech recogniser and an image captioner on
            data zoo makes itself:
              zoo train speech        then  zoo transcribe runs/speech-data/audio/test/0.wav
              zoo train captioning    then  zoo caption runs/captioning-data/images/test/0.png

            zoo info shows what the engine runs on; zoo --help lists every command, and
            docs/reference.md in the repository documents each option and file format.
            """)
    }

    /// Entry point of the executable: picks the fast OpenBLAS kernel first (this may re-execute
    /// the process), then parses the command line.
    public static func main() {
        OpenBLASKernel.reexecuteWithFasterKernelIfNeeded()
        // A write past the file-size limit (ulimit -f) then fails with EFBIG, which the writers
        // report naming the file, instead of killing the process halfway through a checkpoint.
        signal(SIGXFSZ, SIG_IGN)
        // Under mpirun: MPI starts here, after the re-execution above and before any work.
        Ranks.start()
        do {
            var command = try parseAsRoot(Array(CommandLine.arguments.dropFirst()))
            try command.run()
        } catch {
            guard Ranks.mpi != nil else { exit(withError: error) }
            let code = exitCode(for: error).rawValue
            Ranks.exit(
                message: fullMessage(for: error), code: code,
                interrupted: Interruption.requested && code == Interruption.exitStatus)
        }
        Ranks.finish()
    }
}
