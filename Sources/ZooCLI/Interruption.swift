import Foundation
import Synchronization

/// Ctrl-C (SIGINT) and SIGTERM during training: the first asks the run to stop cleanly at the
/// end of its current step (it saves and says how to resume); a second one exits at once.
enum Interruption {
    /// The signal received first, 0 before any.
    private static let received = Atomic<Int32>(0)

    static var requested: Bool { received.load(ordering: .relaxed) != 0 }

    /// The exit status of a run stopped by the signal: 128 + its number, as shells report it.
    static var exitStatus: Int32 { 128 + received.load(ordering: .relaxed) }

    static func install() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber) { number in
                // Only async-signal-safe work here: an atomic exchange, write(2) of static bytes,
                // _exit(2). No String is built: a signal that lands inside malloc would deadlock.
                let first = Interruption.received.compareExchange(expected: 0, desired: number, ordering: .relaxed)
                    .exchanged
                if !first { _exit(128 + number) }
                let message: StaticString = "\nzoo: stopping after this step (press Ctrl-C again to quit at once)\n"
                _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
            }
        }
    }
}
