import CKernels
import Foundation
import TestSupport
import XCTest

@testable import RNNEngine

/// The directory of the committed PyTorch golden files.
let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden").path

func loadGolden(_ name: String) throws -> SafeTensorsFile {
    try SafeTensors.read(path: goldenDirectory + "/" + name)
}

extension SafeTensorsFile {
    func tensor(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
        try XCTUnwrap(tensors[name], "golden tensor '\(name)' missing", file: file, line: line)
    }
}

/// Σ x ∘ w: a scalar loss whose gradient with respect to x is w.
func weightedSum(_ x: Variable, _ w: Tensor, tape: Tape) -> Variable {
    let out = Variable(
        Tensor(shape: [1], values: [Float(zip(x.value.buffer, w.buffer).reduce(0.0) { $0 + Double($1.0 * $1.1) })]),
        requiresGrad: tape.needsGradient(x))
    if out.requiresGrad {
        tape.record {
            guard let d = out.grad?[0] else { return }
            let g = x.gradient()
            for k in 0..<g.count { g.data[k] += d * w.data[k] }
        }
    }
    return out
}

func randomTensor(_ shape: [Int], _ rng: inout RandomGenerator, scale: Float = 1) -> Tensor {
    let t = Tensor(zeros: shape)
    rng.fillUniform(t, -scale, scale)
    return t
}

/// Runs `body` with the engine's own kernels as the CPU allows (the packed product in its
/// AVX-512 compilation where the CPU has it), with the AVX2/FMA ones alone (`baseline` false
/// both times), and again with the portable paths (`baseline` true: the baseline compilation of
/// the vector kernels, BLAS for the recurrent product), then restores the CPU's choice.
func forEachKernelCompilation(_ body: (_ baseline: Bool) throws -> Void) rethrows {
    defer {
        zoo_vector_kernels_use_baseline(0)
        zoo_vector_kernels_use_avx512(1)
    }
    let avx512 = zoo_cpu_has_avx512() != 0
    for (baseline, wide) in [(false, true), (false, false), (true, false)] {
        if wide && !avx512 { continue }
        zoo_vector_kernels_use_baseline(baseline ? 1 : 0)
        zoo_vector_kernels_use_avx512(wide ? 1 : 0)
        try body(baseline)
    }
}

/// Runs the backward pass from `outputs` as if the loss were Σ_i Σ w_i ∘ outputs_i (weights
/// at infinite outputs left out, as the golden script does).
func backward(from outputs: [Variable], weights: [Tensor], tape: Tape) {
    let seed = Variable(Tensor(shape: [1], values: [0]), requiresGrad: true)
    tape.record {
        for (y, w) in zip(outputs, weights) {
            let g = y.gradient()
            for k in 0..<g.count where y.value[k].isFinite { g.data[k] += w.data[k] }
        }
    }
    tape.backward(from: seed)
}

/// A parameter store holding the golden file's tensors `<prefix><name>` under their names.
func loadParameters(_ store: ParameterStore, from golden: SafeTensorsFile, prefix: String) throws {
    var file = SafeTensorsFile()
    for (name, _) in store.namedTensors {
        file.names.append(name)
        file.tensors[name] = try golden.tensor(prefix + name)
    }
    try store.load(file, path: "golden")
}
