import ArgumentParser
import RNNEngine

/// The `zoo` command: train, evaluate and run recurrent networks on the CPU.
public struct ZooCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "Train, evaluate and run recurrent neural networks on the CPU.",
        subcommands: [TrainCommand.self, EvalCommand.self, SampleCommand.self, DataCommand.self,
                      InfoCommand.self, BenchCommand.self])

    public init() {}

    /// Entry point of the executable: picks the fast OpenBLAS kernel first (this may re-execute
    /// the process), then parses the command line.
    public static func main() {
        OpenBLASKernel.reexecuteWithFasterKernelIfNeeded()
        do {
            var command = try parseAsRoot(Array(CommandLine.arguments.dropFirst()))
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
