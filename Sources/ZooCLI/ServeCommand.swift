import ArgumentParser
import Foundation
import RNNEngine
import Synchronization
import ZooServer

/// `zoo serve`: the trained models as a web page and a JSON API.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the trained models as a web page and a JSON API.",
        discussion: """
            Loads every model it finds (runs/<task>/best.safetensors, or the checkpoints given) and \
            serves the page at / and the API under /v1/ (GET /openapi.json describes it). A task \
            without a model says how to train one. Ctrl-C or SIGTERM lets the requests in flight \
            finish, then exits.
            """)

    @Option(help: "Address to listen on; anything beyond this machine is your explicit choice.")
    var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(
        help: ArgumentHelp(
            "Require `Authorization: Bearer KEY` on the API (or set ZOO_API_KEY). (default: none)",
            valueName: "key"))
    var apiKey: String?
    @Option(help: "Language-model checkpoint. (default: runs/language-model/best.safetensors, if there)")
    var languageModel: String?
    @Option(help: "Translation checkpoint. (default: runs/translation/best.safetensors, if there)")
    var translation: String?
    @Option(help: "Speech checkpoint. (default: runs/speech/best.safetensors, if there)")
    var speech: String?
    @Option(help: "Captioning checkpoint. (default: runs/captioning/best.safetensors, if there)")
    var captioning: String?
    @Option(help: "Inferences that run at once (each task keeps this many copies of its model).")
    var concurrent = 2
    @Option(help: "Requests that may wait for a free inference; beyond them the answer is 503.")
    var queue = 32
    @Option(
        help: "Translations or captions that arrive together are decoded as one batch of at most N (1: each alone).")
    var maxBatch = 16
    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        guard (1...65535).contains(port) else {
            throw ValidationError("--port must be between 1 and 65535, not \(port)")
        }
        guard concurrent >= 1 else { throw ValidationError("--concurrent must be at least 1, not \(concurrent)") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1, not \(maxBatch)") }
        guard queue >= 0 else { throw ValidationError("--queue must not be negative, not \(queue)") }
    }

    func run() throws {
        threads.apply()
        var checkpoints: [ServedTask: String] = [:]
        var lines: [String] = []
        for (task, given) in [
            (ServedTask.languageModel, languageModel), (.translation, translation), (.speech, speech),
            (.captioning, captioning)
        ] {
            let path = given ?? "runs/\(task.runName)/best.safetensors"
            if FileManager.default.fileExists(atPath: path) {
                checkpoints[task] = path
                lines.append("  \(task.rawValue): \(path)")
            } else if given != nil {
                throw RunError("\(path): no such checkpoint")
            } else {
                lines.append("  \(task.rawValue): no model (train one with `\(task.trainCommand)`)")
            }
        }
        let models: ServedModels
        do {
            models = try ServedModels(checkpoints: checkpoints, copies: concurrent)
        } catch {
            throw RunError("\(error)")
        }
        let key = apiKey ?? ProcessInfo.processInfo.environment["ZOO_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        let server = ZooServer(
            models: models,
            configuration: ServerConfiguration(
                host: host, port: port, apiKey: key, concurrentInferences: concurrent, queuedInferences: queue,
                maximumBatch: maxBatch))
        let header = lines
        let failure = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { address in
                    print("zoo serve: models\n" + header.joined(separator: "\n"))
                    print("zoo serve: open \(address)" + (key == nil ? "" : " (the API needs the key)"))
                    fflush(nil)
                }
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw RunError("cannot serve on \(host):\(port): \(error)") }
    }
}
