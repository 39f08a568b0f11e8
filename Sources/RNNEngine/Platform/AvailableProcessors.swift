import CKernels
import Foundation

/// How many CPUs this process may really use: the CPUs of its affinity mask (`taskset`,
/// `docker --cpuset-cpus`), lowered by a cgroup CPU quota (`docker --cpus`, a Kubernetes
/// limit) rounded up. More threads than that only wait for each other.
public enum AvailableProcessors {
    public static let count: Int = {
        var count = affinityCount() ?? ProcessInfo.processInfo.activeProcessorCount
        if let quota = cgroupQuota() { count = min(count, max(1, Int(quota.rounded(.up)))) }
        return max(1, sharedAmongRanks(count))
    }()

    /// Under mpirun, ranks are normally bound to their own cores (the mask above says so); a
    /// job started with `--bind-to none` leaves every rank the whole machine, which the ranks
    /// on one host then share (OMPI_COMM_WORLD_LOCAL_SIZE of them), or they oversubscribe it.
    static func sharedAmongRanks(_ count: Int) -> Int {
        guard let text = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"],
            let ranks = Int(text), ranks > 1, count >= ProcessInfo.processInfo.processorCount
        else { return count }
        return max(1, count / ranks)
    }

    /// CPUs in the affinity mask, from sched_getaffinity.
    static func affinityCount() -> Int? {
        let count = Int(zoo_affinity_cpu_count())
        return count > 0 ? count : nil
    }

    /// CPUs' worth of time per period a cgroup allows, or nil for no limit: cgroup v2's
    /// `cpu.max` ("quota period" or "max period"), else v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
    static func cgroupQuota(root: String = "/sys/fs/cgroup") -> Double? {
        if let text = try? String(contentsOfFile: root + "/cpu.max", encoding: .utf8) {
            return quota(cgroupV2: text)
        }
        guard let quotaText = try? String(contentsOfFile: root + "/cpu/cpu.cfs_quota_us", encoding: .utf8),
            let periodText = try? String(contentsOfFile: root + "/cpu/cpu.cfs_period_us", encoding: .utf8),
            let quota = Double(quotaText.trimmingCharacters(in: .whitespacesAndNewlines)),
            let period = Double(periodText.trimmingCharacters(in: .whitespacesAndNewlines)),
            quota > 0, period > 0
        else { return nil }
        return quota / period
    }

    /// Parses cgroup v2's `cpu.max`.
    static func quota(cgroupV2 text: String) -> Double? {
        let fields = text.split(whereSeparator: { $0.isWhitespace })
        guard fields.count == 2, fields[0] != "max", let quota = Double(fields[0]), let period = Double(fields[1]),
            quota > 0, period > 0
        else { return nil }
        return quota / period
    }
}
