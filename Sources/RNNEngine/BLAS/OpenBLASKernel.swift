import Foundation

/// Choosing OpenBLAS's compute kernel.
///
/// OpenBLAS picks its kernel when the library loads, from the CPU it recognises or from
/// `OPENBLAS_CORETYPE`. Older builds (Debian 12 ships 0.3.21) do not recognise recent CPUs and
/// fall back to a generic SSE kernel that is several times slower. The CLI re-executes itself
/// with the variable set (`reexecuteWithFasterKernelIfNeeded`); a program that imports the
/// library gets one warning on stderr instead. A user who set the variable keeps their choice.
public enum OpenBLASKernel {
    /// Kernels that use AVX2/FMA or AVX-512: the ones that reach this CPU's peak.
    static let vectorCores: Set<String> = [
        "haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", "excavator"
    ]

    /// The CPU's feature flags as Linux reports them (`avx2`, `fma`, `avx512f`, ...).
    public static let cpuFeatures: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }()

    /// The CPU's model name, for `zoo info`.
    public static let cpuModel: String = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }()

    /// The kernel this CPU should run, or nil when it has neither AVX2 nor AVX-512.
    public static func recommendedCore(features: Set<String> = cpuFeatures) -> String? {
        let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]
        if avx512.allSatisfy(features.contains) { return "SkylakeX" }
        if features.contains("avx2") && features.contains("fma") { return "Haswell" }
        return nil
    }

    /// True when OpenBLAS runs a generic kernel although the CPU could run a vector one.
    public static func isSlowKernel(core: String, features: Set<String> = cpuFeatures) -> Bool {
        recommendedCore(features: features) != nil && !vectorCores.contains(core.lowercased())
    }

    public static var userChoseCore: Bool { ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil }

    /// Prepares OpenBLAS on first use: warns once when it runs a slow kernel, and makes it
    /// single-threaded. The engine's team parallelises the large products itself; leaving
    /// OpenBLAS's own threads on until the team first exists made a product's rounding depend on
    /// what the process had run before (one thread and two sum in different orders).
    static let preparedOnce: Void = {
        BLAS.threads = 1
        let core = BLAS.coreName
        if !userChoseCore, isSlowKernel(core: core), let better = recommendedCore() {
            let message =
                "warning: OpenBLAS runs its generic '\(core)' kernel on a CPU that supports "
                + "\(better); matrix products will be several times slower. "
                + "Set OPENBLAS_CORETYPE=\(better) before starting the program.\n"
            FileHandle.standardError.write(message.data(using: .utf8)!)
        }
    }()

    /// Replaces the current process with itself run with `OPENBLAS_CORETYPE` set, when OpenBLAS
    /// chose a generic kernel on a CPU that supports a faster one. Returns if nothing is to be
    /// done (or exec failed, in which case the library's warning follows on first use).
    public static func reexecuteWithFasterKernelIfNeeded() {
        if userChoseCore { return }
        let core = BLAS.coreName
        guard isSlowKernel(core: core), let better = recommendedCore() else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // exec failed: carry on with the slow kernel; the warning tells the user.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
