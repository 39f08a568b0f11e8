import ArgumentParser
import Foundation
import RNNEngine

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show the BLAS library, kernel, threads, CPU features and a measured sgemm speed.")

    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Threads for OpenBLAS and the engine.") var threads: Int = 2

    func run() throws {
        Engine.setThreads(threads)
        let report = SystemReport.collect()
        if json {
            print(try report.jsonLine())
        } else {
            print(report.text)
        }
    }
}
