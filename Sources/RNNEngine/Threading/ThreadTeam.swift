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
/// A fork has as many shares as its work pays for (`run(shares:)`, at most `size`). Share s
/// belongs to member s (the caller is member 0), so a member works on the same part of the
/// data at every fork and finds it in its core's cache: on a machine with many cores the
/// recurrent weights of one timestep fit in their L2 caches only split this way. Members beyond
/// the fork's shares stay out of it. A share is claimed before it runs, though, not assigned: a
/// member done with its own takes the shares of members that have not started theirs yet, and
/// the join waits only for the shares someone took. A worker whose core another process holds
/// (the scheduler may not run it for milliseconds) therefore never holds up a fork it has not
/// started: the caller runs that share too.
///
/// A worker descheduled in the middle of a share does hold up the join, for as long as the
/// other process keeps its core (milliseconds, where a timestep takes tens of microseconds).
/// When a join waits that long, the workers still inside a share sit out the forks of the
/// next 50 ms (longer if it happens again soon; the caller and the others run their shares),
/// then rejoin: on a machine where every member has a core such waits are rare.
final class ThreadTeam: @unchecked Sendable {
    let size: Int
    /// The number of the latest fork: waiting workers poll it.
    private let generation = PaddedCounter()
    /// The shares of the current fork, and how many of them have finished.
    private let forkShares = PaddedCounter()
    private let finished = PaddedCounter()
    /// One per share: 2f while share s of fork f is open, 2f + 1 once someone has claimed it.
    /// A claim names its fork, so a late worker cannot take a share of a later one.
    private let stamps: [PaddedCounter]
    /// The most shares of any fork since `resetWidestFork` (tests check the sizing of forks).
    private let widest = Atomic<Int>(0)
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
        stamps = (0..<self.size).map { _ in PaddedCounter(-1) }
        for member in 1..<self.size {
            let slot = WorkerSlot()
            workers.append(slot)
            // Workers keep the team alive until it is retired.
            let thread = Thread { self.workerLoop(slot: slot, member: member) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body(share)` for every share 0..<shares (at most `size`), each exactly once and on
    /// one thread (the shares of a fork may run concurrently), and returns when all have
    /// finished. One share runs on the caller, without a fork.
    func run(shares requested: Int? = nil, _ body: (Int) -> Void) {
        let shares = min(size, max(1, requested ?? size))
        if widest.load(ordering: .relaxed) < shares { widest.store(shares, ordering: .relaxed) }
        if shares == 1 {
            body(0)
            return
        }
        if retired.load(ordering: .acquiring) {
            for share in 0..<shares { body(share) }
            return
        }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for share in 0..<shares { body(share) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { escapable in
            task = escapable
            finished.value.store(0, ordering: .relaxed)
            forkShares.value.store(shares, ordering: .relaxed)
            // Only the caller holding `busy` opens forks (`retire` may move the number on too:
            // then the workers' claims fail and the caller runs every share).
            let fork = generation.value.load(ordering: .relaxed) + 1
            // Opens the shares; released, so a claim that sees its stamp sees the task.
            for share in 0..<shares { stamps[share].value.store(2 * fork, ordering: .releasing) }
            generation.value.store(fork, ordering: .sequentiallyConsistent)
            for slot in workers.prefix(shares - 1)
            where slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                slot.wake.signal()
            }
            let start = DispatchTime.now().uptimeNanoseconds
            runShares(member: 0, fork: fork, slot: nil)
            joinShares(shares, sharesFrom: start)
            task = nil
        }
    }

    /// The most shares any fork had since the last `resetWidestFork`.
    var widestFork: Int { widest.load(ordering: .relaxed) }
    func resetWidestFork() { widest.store(0, ordering: .relaxed) }

    /// Claims share `share` of fork `fork`: true for exactly one claimer, and only while that
    /// fork is open (its stamps say so until every share is claimed).
    @inline(__always)
    private func claim(_ share: Int, fork: Int) -> Bool {
        let stamp = stamps[share]
        return stamp.value.load(ordering: .relaxed) == 2 * fork
            && stamp.value.compareExchange(expected: 2 * fork, desired: 2 * fork + 1, ordering: .acquiringAndReleasing)
                .exchanged
    }

    /// Runs `member`'s own share of the fork, then claims the shares whose members have not
    /// come for them. `task` stays set until every claimed share has finished, so reading it
    /// after a successful claim is safe. The one finishing the last share wakes a sleeping caller.
    private func runShares(member: Int, fork: Int, slot: WorkerSlot?) {
        let shares = forkShares.value.load(ordering: .relaxed)  // a later fork's: its claims fail
        guard member < shares else { return }
        for offset in 0..<shares {
            let share = (member + offset) % shares
            guard claim(share, fork: fork) else { continue }
            slot?.working.store(true, ordering: .relaxed)
            // Called in place, not bound to a name: the closure must not outlive the share, or
            // `withoutActuallyEscaping` in `run` finds it escaped.
            task?(share)
            slot?.working.store(false, ordering: .relaxed)
            if finished.value.add(1, ordering: .acquiringAndReleasing).newValue == shares,
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
        generation.value.add(1, ordering: .sequentiallyConsistent)  // wakes the workers to end
        for slot in workers where slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            slot.wake.signal()
        }
    }

    private func workerLoop(slot: WorkerSlot, member: Int) {
        var seen = 0
        while true {
            // Forks without a share for this member pass by without ending the wait, so that a
            // member the recent work is too small for goes on to sleep (and is not woken).
            wait(slot: slot) {
                let latest = generation.value.load(ordering: .acquiring)
                if latest == seen { return false }
                if retired.load(ordering: .acquiring) || member < forkShares.value.load(ordering: .relaxed) {
                    return true
                }
                seen = latest
                return false
            }
            if retired.load(ordering: .acquiring) { return }
            seen = generation.value.load(ordering: .acquiring)  // forks it slept through are over
            let benched = slot.benchedUntil.load(ordering: .relaxed)
            if benched != 0 {  // sits out: asleep, and not marked so, the caller does not wake it
                let now = DispatchTime.now().uptimeNanoseconds
                if now < benched { usleep(UInt32((benched - now) / 1000)) }
                slot.benchedUntil.store(0, ordering: .relaxed)
                continue
            }
            runShares(member: member, fork: seen, slot: slot)
        }
    }

    /// The caller's wait for the shares others took (spin, yield, sleep as in `wait`). While it
    /// yields it watches the clock, and after a stall — a wait longer than twice the caller's own shares, plus
    /// `stallNanoseconds` — benches the workers still inside a share.
    private func joinShares(_ shares: Int, sharesFrom sharesStart: UInt64) {
        var polls = 0, start: UInt64 = 0, allowed: UInt64 = 0, benched = false
        while finished.value.load(ordering: .acquiring) != shares {
            polls += 1
            if polls < Self.spinPolls {
                BLAS.spinPause()
                continue
            }
            if benched || polls >= Self.spinPolls + Self.yieldPolls {  // on to sleeping, as any waiter
                wait(slot: caller) { finished.value.load(ordering: .acquiring) == shares }
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

/// An atomic Int alone on its cache line: the fork's counters are written by every member, and
/// sharing a line with what the waiting members poll would move it between cores at each claim.
final class PaddedCounter: @unchecked Sendable {
    let value: Atomic<Int>
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    init(_ initial: Int = 0) { value = Atomic(initial) }
}
