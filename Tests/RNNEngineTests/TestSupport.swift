import Foundation
import XCTest
@testable import RNNEngine
import CKernels

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

/// Asserts |a − b| ≤ absolute + relative · |b| elementwise, reporting the worst element.
func assertClose(_ a: Tensor, _ b: Tensor, relative: Float = 1e-5, absolute: Float = 1e-6,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(message): sizes \(a.shape) vs \(b.shape)", file: file, line: line)
    guard a.count == b.count else { return }
    var worst = 0, worstExcess: Float = -.infinity
    for k in 0..<a.count {
        if a[k] == b[k] { continue }   // equal, infinities included
        // A NaN on either side is as far off as it gets.
        let excess = a[k].isNaN || b[k].isNaN ? Float.infinity : abs(a[k] - b[k]) - (absolute + relative * abs(b[k]))
        if excess > worstExcess { worstExcess = excess; worst = k }
    }
    XCTAssertLessThanOrEqual(worstExcess, 0, "\(message): element \(worst): \(a[worst]) vs \(b[worst])", file: file, line: line)
}

/// Checks the gradients that `loss` computes for `variables` against central finite differences.
///
/// `loss` builds the scalar loss on the tape it is given; it runs once recording (the analytic
/// gradients) and twice per checked element without recording. Randomness inside `loss` must
/// be seeded inside it, so every run draws the same dropout masks.
func checkGradients(
    of variables: [Variable], maxElementsPerVariable: Int = 40, step: Float = 1e-2,
    tolerance: Float = 2e-2, file: StaticString = #filePath, line: UInt = #line,
    _ throwingLoss: (Tape) throws -> Variable
) {
    func loss(_ tape: Tape) -> Variable {
        do { return try throwingLoss(tape) } catch {
            XCTFail("the loss threw \(error)", file: file, line: line)
            return Variable(Tensor(zeros: [1]))
        }
    }
    let tape = Tape(recording: true, training: true)
    let value = loss(tape)
    tape.backward(from: value)
    for (index, variable) in variables.enumerated() {
        let analytic = variable.grad?.copy() ?? Tensor(zeros: variable.shape)
        let count = variable.value.count
        let stride = max(1, count / maxElementsPerVariable)
        var k = 0
        while k < count {
            let original = variable.value[k]
            func evaluate(_ x: Float) -> Double {
                variable.value[k] = x
                let t = Tape(recording: false, training: true)
                return Double(loss(t).value[0])
            }
            let plus = evaluate(original + step), minus = evaluate(original - step)
            variable.value[k] = original
            let numeric = Float((plus - minus) / Double(2 * step))
            let difference = abs(numeric - analytic[k])
            XCTAssertLessThanOrEqual(
                difference, tolerance * max(1, abs(numeric)),
                "variable \(index) \(variable.shape) element \(k): analytic \(analytic[k]) vs numeric \(numeric)",
                file: file, line: line)
            k += stride
        }
    }
}

/// Σ x ∘ w: a scalar loss whose gradient with respect to x is w.
func weightedSum(_ x: Variable, _ w: Tensor, tape: Tape) -> Variable {
    let out = Variable(Tensor(shape: [1], values: [Float(zip(x.value.buffer, w.buffer).reduce(0.0) { $0 + Double($1.0 * $1.1) })]),
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

/// Runs `body` with the engine's AVX2/FMA kernels (where the CPU has them; `baseline` false) and
/// again with the portable paths (`baseline` true: the baseline compilation of the vector
/// kernels, BLAS for the recurrent product), then restores the CPU's choice.
func forEachKernelCompilation(_ body: (_ baseline: Bool) throws -> Void) rethrows {
    defer { zoo_vector_kernels_use_baseline(0) }
    for baseline in [false, true] {
        zoo_vector_kernels_use_baseline(baseline ? 1 : 0)
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
