import Foundation
import Synchronization

/// A fixed team of threads for the engine's fork-join loops: the caller and `size − 1`
/// persistent workers.
///
/// The recurrent time loop forks and joins several times per timestep, so a hand-off must cost
/// about a microsecond when every member has a core: a waiting thread (an idle worker, or the
/// caller joining) first spins. But the machine may be shared (more threads than cores, another
/// run, a busy neighbour), and a spinning thread then takes the core from the very thread it
/// waits for. So the spin is short; after it the waiter yields its core on every poll
/// (`sched_yield`), and after a few milliseconds it sleeps until woken. OpenBLAS runs
/// single-threaded inside each member (`Engine.setThreads`), so its own pool never spins
/// against the team for the same cores.
final class ThreadTeam: @unchecked Sendable {
    let size: Int
    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    /// Held by the thread whose fork is under way. A `run` that finds it taken (called from
    /// inside a member's body, or from another thread meanwhile) runs every member's share
    /// itself, one after another: same result, no corruption of the fork in progress.
    private let busy = Atomic<Bool>(false)
    private var task: ((Int) -> Void)?
    private var workers: [WorkerSlot] = []
    /// The caller, asleep until the last worker finishes (see `run`).
    private let caller = WorkerSlot()

    /// Polls of pure spinning (a few microseconds), then polls that yield the core, before a
    /// waiter sleeps. A yield returns at once when no other thread wants the core.
    private static let spinPolls = 2_000
    private static let yieldPolls = 2_000

    private final class WorkerSlot: @unchecked Sendable {
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    init(size: Int) {
        self.size = max(1, size)
        for index in 1..<self.size {
            let slot = WorkerSlot()
            workers.append(slot)
            // Workers keep the team alive: a team lives as long as the process.
            let thread = Thread { self.workerLoop(index: index, slot: slot) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body(member)` on every member (0 is the caller) and returns when all have finished.
    func run(_ body: (Int) -> Void) {
        if size == 1 { body(0); return }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for member in 0..<size { body(member) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { escapable in
            task = escapable
            pending.store(size - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            for slot in workers where slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                slot.wake.signal()
            }
            escapable(0)
            wait(slot: caller) { pending.load(ordering: .acquiring) == 0 }
            task = nil
        }
    }

    private func workerLoop(index: Int, slot: WorkerSlot) {
        var seen = 0   // the generation at creation: a worker that starts late must not skip the first fork
        while true {
            wait(slot: slot) { generation.load(ordering: .acquiring) != seen }
            seen += 1   // the caller waits for every member, so generations come one at a time
            task?(index)
            // The last one to finish wakes the caller if it went to sleep.
            if pending.subtract(1, ordering: .acquiringAndReleasing).newValue == 0,
               caller.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                caller.wake.signal()
            }
        }
    }

    /// Returns once `ready()` holds: spins, then yields, then sleeps on `slot` until the thread
    /// that makes `ready()` true finds `slot.sleeping` set and signals.
    private func wait(slot: WorkerSlot, until ready: () -> Bool) {
        var polls = 0
        while !ready() {
            polls += 1
            if polls < Self.spinPolls { BLAS.spinPause(); continue }
            if polls < Self.spinPolls + Self.yieldPolls { sched_yield(); continue }
            // Sleep; re-check after announcing it so a change in between is not missed.
            slot.sleeping.store(true, ordering: .sequentiallyConsistent)
            if ready() {
                if slot.sleeping.exchange(false, ordering: .acquiringAndReleasing) { return }
                slot.wake.wait()   // the other side saw us sleeping and signals: take that signal
                return
            }
            slot.wake.wait()
            polls = 0
        }
    }
}

