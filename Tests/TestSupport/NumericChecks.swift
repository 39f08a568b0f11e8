import Foundation
import RNNEngine
import XCTest

/// Asserts |a − b| ≤ absolute + relative · |b| elementwise, reporting the worst element.
public func assertClose(
    _ a: Tensor, _ b: Tensor, relative: Float = 1e-5, absolute: Float = 1e-6,
    _ message: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "\(message): sizes \(a.shape) vs \(b.shape)", file: file, line: line)
    guard a.count == b.count else { return }
    var worst = 0, worstExcess: Float = -.infinity
    for k in 0..<a.count {
        if a[k] == b[k] { continue }  // equal, infinities included
        // A NaN on either side is as far off as it gets.
        let excess = a[k].isNaN || b[k].isNaN ? Float.infinity : abs(a[k] - b[k]) - (absolute + relative * abs(b[k]))
        if excess > worstExcess {
            worstExcess = excess
            worst = k
        }
    }
    XCTAssertLessThanOrEqual(
        worstExcess, 0, "\(message): element \(worst): \(a[worst]) vs \(b[worst])", file: file, line: line)
}

/// Checks the gradients that `loss` computes for `variables` against central finite differences.
///
/// `loss` builds the scalar loss on the tape it is given; it runs once recording (the analytic
/// gradients) and twice per checked element without recording. Randomness inside `loss` must
/// be seeded inside it, so every run draws the same dropout masks.
public func checkGradients(
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
