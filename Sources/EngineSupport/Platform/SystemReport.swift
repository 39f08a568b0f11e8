import Foundation
import RNNEngine

/// What `zoo info` shows: the BLAS library and kernel, threads, CPU, versions and a measured
/// sgemm speed, so a slow setup is visible before a long training run.
public struct SystemReport: Codable {
    public var blasConfiguration: String
    public var blasKernel: String
    public var blasKernelIsSlow: Bool
    public var recommendedKernel: String?
    public var openblasCoretypeVariable: String?
    public var threads: Int
    public var cpuModel: String
    public var cpuCores: Int
    public var cpuFeatures: [String]
    /// The engine's own kernels: "avx512" or "avx2_fma" where the CPU has them, else "baseline".
    public var engineKernels: String
    public var zooVersion: String
    public var swiftVersion: String
    public var libpngVersion: String
    public var sgemmGflops: Double
    public var recurrentSgemmGflops: Double

    enum CodingKeys: String, CodingKey {
        case blasConfiguration = "blas"
        case blasKernel = "kernel"
        case blasKernelIsSlow = "kernel_is_generic"
        case recommendedKernel = "recommended_kernel"
        case openblasCoretypeVariable = "openblas_coretype"
        case threads
        case cpuModel = "cpu"
        case cpuCores = "cpu_cores"
        case cpuFeatures = "cpu_features"
        case engineKernels = "engine_kernels"
        case zooVersion = "zoo_version"
        case swiftVersion = "swift_version"
        case libpngVersion = "libpng_version"
        case sgemmGflops = "sgemm_gflops"
        case recurrentSgemmGflops = "recurrent_sgemm_gflops"
    }

    /// The CPU features that matter for the kernels, in a fixed order.
    static let interestingFeatures = [
        "sse4_2", "avx", "f16c", "fma", "avx2", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16", "amx_tile"
    ]

    public static func collect(measure: Bool = true) -> SystemReport {
        let features = OpenBLASKernel.cpuFeatures
        return SystemReport(
            blasConfiguration: BLAS.configuration,
            blasKernel: BLAS.coreName,
            blasKernelIsSlow: OpenBLASKernel.isSlowKernel(core: BLAS.coreName),
            recommendedKernel: OpenBLASKernel.recommendedCore(),
            openblasCoretypeVariable: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
            threads: Engine.threads,
            cpuModel: OpenBLASKernel.cpuModel,
            cpuCores: AvailableProcessors.count,
            cpuFeatures: interestingFeatures.filter(features.contains),
            engineKernels: Engine.kernels,
            zooVersion: RNNEngine.zooVersion,
            swiftVersion: compilerVersion,
            libpngVersion: EngineSupport.libpngVersion,
            sgemmGflops: measure ? peakSgemmGflops() : 0,
            recurrentSgemmGflops: measure ? measureSgemm(m: 32, n: 2048, k: 512) : 0)
    }

    static var compilerVersion: String {
        #if compiler(>=6.3)
            return "6.3 or later"
        #elseif compiler(>=6.2)
            return "6.2"
        #elseif compiler(>=6.1)
            return "6.1"
        #else
            return "6.0"
        #endif
    }

    /// The sgemm rate `zoo info` reports and `zoo bench` prints as `sgemm_peak_gflops`: a
    /// 1024³ product on the engine's threads, best of three.
    public static func peakSgemmGflops() -> Double { measureSgemm(m: 1024, n: 1024, k: 1024) }

    /// Best-of-three GFLOP/s of C (m×n) = A (m×k) · Bᵀ on the engine's threads, as the engine
    /// runs its own products; each trial 10 Gflop (about 0.1 s on two cores), after one untimed
    /// product. Without it, a worker's first product (OpenBLAS setting up its buffers on that
    /// thread) could be slow enough for the team to sit it out through all three trials, and
    /// `zoo info --threads 2` printed one thread's rate in half the runs.
    public static func measureSgemm(m: Int, n: Int, k: Int) -> Double {
        var rng = RandomGenerator(seed: 1)
        let a = Tensor(zeros: [m, k]), b = Tensor(zeros: [n, k]), c = Tensor(zeros: [m, n])
        rng.fillUniform(a, -1, 1)
        rng.fillUniform(b, -1, 1)
        func product() {
            BLAS.parallelSgemm(transB: true, m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: k, c: c.data, ldc: n)
        }
        product()
        let flops = 2.0 * Double(m * n * k)
        let repeats = max(1, Int(1e10 / flops))
        var best = 0.0
        for _ in 0..<3 {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats { product() }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, flops * Double(repeats) / seconds / 1e9)
        }
        return best
    }

    public var text: String {
        var lines = [
            "zoo \(zooVersion) (Swift \(swiftVersion))",
            "BLAS:      \(blasConfiguration)",
            "libpng:    \(libpngVersion)",
            "kernel:    \(blasKernel)" + (openblasCoretypeVariable.map { " (OPENBLAS_CORETYPE=\($0))" } ?? ""),
            "threads:   \(threads)",
            "CPU:       \(cpuModel), \(cpuCores) cores",
            "features:  \(cpuFeatures.joined(separator: " "))",
            "engine:    "
                + (engineKernels == "baseline"
                    ? "baseline kernels (no AVX2/FMA: recurrent product through BLAS)"
                    : (engineKernels == "avx512" ? "AVX-512" : "AVX2/FMA")
                        + " kernels (packed recurrent product, vector gate steps and optimizer)"),
            String(
                format: "sgemm:     %.1f GFLOP/s (1024³), %.1f GFLOP/s (recurrent shape 32×2048×512)", sgemmGflops,
                recurrentSgemmGflops)
        ]
        if blasKernelIsSlow, let recommendedKernel {
            lines.append(
                "warning:   '\(blasKernel)' is a generic kernel; run with OPENBLAS_CORETYPE=\(recommendedKernel)")
        }
        return lines.joined(separator: "\n")
    }

    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
