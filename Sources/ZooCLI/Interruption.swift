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

    /// Under mpirun: whether this rank prints the message (rank 0 only).
    private static let speaks = Atomic<Bool>(true)

    static func install() {
        var signals = [SIGINT, SIGTERM]
        underMPI.store(Ranks.mpi != nil, ordering: .relaxed)
        if let mpi = Ranks.mpi {
            // Ctrl-C or SIGTERM to mpirun reaches the ranks as SIGCONT at once, SIGTERM a
            // second later and SIGKILL a second after that (Open MPI's odls_base_sigkill_timeout):
            // the ranks stop at the first, so that rank 0's save has both seconds. A rank never
            // quits at once on a later one, which would leave the others waiting for it.
            signals.append(SIGCONT)
            speaks.store(mpi.rank == 0, ordering: .relaxed)
        }
        for signalNumber in signals {
            signal(signalNumber) { number in
                // Only async-signal-safe work here: an atomic exchange, write(2) of static bytes,
                // _exit(2). No String is built: a signal that lands inside malloc would deadlock.
                let first = Interruption.received.compareExchange(expected: 0, desired: number, ordering: .relaxed)
                    .exchanged
                let underMPI = Interruption.underMPI.load(ordering: .relaxed)
                if !first {
                    if underMPI { return }
                    _exit(128 + number)
                }
                guard Interruption.speaks.load(ordering: .relaxed) else { return }
                if underMPI {
                    let message: StaticString = "\nzoo: stopping every rank after this step\n"
                    _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
                } else {
                    let message: StaticString = "\nzoo: stopping after this step (press Ctrl-C again to quit at once)\n"
                    _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
                }
            }
        }
    }

    private static let underMPI = Atomic<Bool>(false)
}
