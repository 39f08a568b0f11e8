import ArgumentParser
import EngineSupport
import Foundation
import RNNEngine

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the BLAS library, kernel, threads, CPU features and a measured sgemm speed.")

    @Flag(help: "Print one JSON object.") var json = false
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        threads.apply()
        let report = SystemReport.collect()
        if json {
            print(try report.jsonLine())
        } else {
            print(report.text)
        }
    }
}
