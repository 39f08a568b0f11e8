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
///
/// A fork's `size` shares are claimed, not assigned: the caller and every worker that arrives
/// take shares until none is left, and the join waits only for the shares someone took. A
/// worker whose core another process holds (the scheduler may not run it for milliseconds)
/// therefore never holds up a fork it has not started: the caller runs that share too.
///
/// A worker descheduled in the middle of a share does hold up the join, for as long as the
/// other process keeps its core (milliseconds, where a timestep takes tens of microseconds).
/// When a join waits that long, the workers still inside a share sit out the forks of the
/// next 50 ms (longer if it happens again soon; the caller and the others run their shares),
/// then rejoin: on a machine where every member has a core such waits are rare.
final class ThreadTeam: @unchecked Sendable {
    let size: Int
    private let generation = Atomic<Int>(0)
    /// Shares handed out in the current fork (≥ `size`: none left). Starts with none left.
    private let claimed = Atomic<Int>(Int.max / 2)
    /// Shares finished in the current fork.
    private let finished = Atomic<Int>(0)
    /// Held by the thread whose fork is under way. A `run` that finds it taken (called from
    /// inside a share's body, or from another thread meanwhile) runs every share itself, one
    /// after another: same result, no corruption of the fork in progress.
    private let busy = Atomic<Bool>(false)
    /// Set by `retire`: the workers have ended or are ending, and forks run on the caller.
    private let retired = Atomic<Bool>(false)
    private var task: ((Int) -> Void)?
    private var workers: [WorkerSlot] = []
    /// The caller, asleep until the last share finishes (see `run`).
    private let caller = WorkerSlot()

    /// Polls of pure spinning (a few microseconds), then polls that yield the core, before a
    /// waiter sleeps. A yield returns at once when no other thread wants the core.
    private static let spinPolls = 2_000
    private static let yieldPolls = 2_000
    /// A join that waits longer than this plus twice the caller's own shares means a member
    /// lost its core mid-share (a late wake-up alone, in a virtual machine, measured up to ~1 ms
    /// more than the caller's shares; another process's time slice is several).
    private static let stallNanoseconds: UInt64 = 1_000_000
    /// How long such a member sits out: 50 ms, doubled (up to 0.8 s) each time it stalls again
    /// within a second of rejoining, as it does while another process keeps its core busy.
    private static let benchNanoseconds: UInt64 = 50_000_000
    private static let longestBenchNanoseconds: UInt64 = 800_000_000

    private final class WorkerSlot: @unchecked Sendable {
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
        /// Inside a share.
        let working = Atomic<Bool>(false)
        /// Takes no share before this time (`DispatchTime` nanoseconds).
        let benchedUntil = Atomic<UInt64>(0)
        /// The length of its last bench and when it ended (kept by the caller).
        var benchLength: UInt64 = 0, benchEnded: UInt64 = 0
    }

    init(size: Int) {
        self.size = max(1, size)
        for _ in 1..<self.size {
            let slot = WorkerSlot()
            workers.append(slot)
            // Workers keep the team alive until it is retired.
            let thread = Thread { self.workerLoop(slot: slot) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body(share)` for every share 0..<size, each exactly once and on one thread (the
    /// shares of a fork may run concurrently), and returns when all have finished.
    func run(_ body: (Int) -> Void) {
        if size == 1 {
            body(0)
            return
        }
        if retired.load(ordering: .acquiring) {
            for share in 0..<size { body(share) }
            return
        }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for share in 0..<size { body(share) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { escapable in
            task = escapable
            finished.store(0, ordering: .relaxed)
            // Opens the fork and publishes the task: a claim that sees the reset sees the task.
            claimed.store(0, ordering: .releasing)
            generation.add(1, ordering: .sequentiallyConsistent)
            for slot in workers where slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                slot.wake.signal()
            }
            let start = DispatchTime.now().uptimeNanoseconds
            runShares(slot: nil)
            joinShares(sharesFrom: start)
            task = nil
        }
    }

    /// Takes shares of the open fork until none is left. A claim succeeds only while a fork is
    /// open, and `task` stays set until every claimed share has finished, so reading it after
    /// a successful claim is safe. The one finishing the last share wakes a sleeping caller.
    private func runShares(slot: WorkerSlot?) {
        while true {
            slot?.working.store(true, ordering: .relaxed)
            let share = claimed.add(1, ordering: .acquiringAndReleasing).oldValue
            guard share < size else {
                slot?.working.store(false, ordering: .relaxed)
                return
            }
            // Called in place, not bound to a name: the closure must not outlive the share, or
            // `withoutActuallyEscaping` in `run` finds it escaped.
            task?(share)
            slot?.working.store(false, ordering: .relaxed)
            if finished.add(1, ordering: .acquiringAndReleasing).newValue == size,
                caller.sleeping.exchange(false, ordering: .sequentiallyConsistent)
            {
                caller.wake.signal()
            }
        }
    }

    /// Ends the workers: a team that `Engine.setThreads` replaced kept its threads (and a core's
    /// worth of spinning at each fork it no longer got) for the life of the process. Whoever
    /// still holds the team may call `run`; its shares then run on the calling thread.
    func retire() {
        guard !retired.exchange(true, ordering: .sequentiallyConsistent) else { return }
        generation.add(1, ordering: .sequentiallyConsistent)  // no fork opens: claims stay closed
        for slot in workers where slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            slot.wake.signal()
        }
    }

    private func workerLoop(slot: WorkerSlot) {
        var seen = 0
        while true {
            wait(slot: slot) { generation.load(ordering: .acquiring) != seen }
            if retired.load(ordering: .acquiring) { return }
            seen = generation.load(ordering: .acquiring)  // forks it slept through are over
            let benched = slot.benchedUntil.load(ordering: .relaxed)
            if benched != 0 {  // sits out: asleep, and not marked so, the caller does not wake it
                let now = DispatchTime.now().uptimeNanoseconds
                if now < benched { usleep(UInt32((benched - now) / 1000)) }
                slot.benchedUntil.store(0, ordering: .relaxed)
                continue
            }
            runShares(slot: slot)
        }
    }

    /// The caller's wait for the shares others took (spin, yield, sleep as in `wait`). While it
    /// yields it watches the clock, and after a stall — a wait longer than twice the caller's own shares, plus
    /// `stallNanoseconds` — benches the workers still inside a share.
    private func joinShares(sharesFrom sharesStart: UInt64) {
        var polls = 0, start: UInt64 = 0, allowed: UInt64 = 0, benched = false
        while finished.load(ordering: .acquiring) != size {
            polls += 1
            if polls < Self.spinPolls {
                BLAS.spinPause()
                continue
            }
            if benched || polls >= Self.spinPolls + Self.yieldPolls {  // on to sleeping, as any waiter
                wait(slot: caller) { finished.load(ordering: .acquiring) == size }
                return
            }
            let now = DispatchTime.now().uptimeNanoseconds
            if start == 0 {
                start = now
                allowed = Self.stallNanoseconds + 2 * (now - sharesStart)
            }
            if now - start > allowed {
                for slot in workers where slot.working.load(ordering: .relaxed) {
                    let again = slot.benchEnded != 0 && now < slot.benchEnded + 1_000_000_000
                    slot.benchLength =
                        again ? min(2 * slot.benchLength, Self.longestBenchNanoseconds) : Self.benchNanoseconds
                    slot.benchEnded = now + slot.benchLength
                    slot.benchedUntil.store(slot.benchEnded, ordering: .relaxed)
                }
                benched = true
            }
            sched_yield()
        }
    }

    /// Returns once `ready()` holds: spins, then yields, then sleeps on `slot` until the thread
    /// that makes `ready()` true finds `slot.sleeping` set and signals.
    private func wait(slot: WorkerSlot, until ready: () -> Bool) {
        var polls = 0
        while !ready() {
            polls += 1
            if polls < Self.spinPolls {
                BLAS.spinPause()
                continue
            }
            if polls < Self.spinPolls + Self.yieldPolls {
                sched_yield()
                continue
            }
            // Sleep; re-check after announcing it so a change in between is not missed.
            slot.sleeping.store(true, ordering: .sequentiallyConsistent)
            if ready() {
                if slot.sleeping.exchange(false, ordering: .acquiringAndReleasing) { return }
                slot.wake.wait()  // the other side saw us sleeping and signals: take that signal
                return
            }
            slot.wake.wait()
            polls = 0
        }
    }
}
