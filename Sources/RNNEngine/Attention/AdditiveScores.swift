import CKernels

/// The additive attention score in one op: scores[b, t, s] = v · tanh(keys[b, s] + queries[b, t]) + c,
/// for keys (B, S, A), queries (B, T, A), v (1, A) and an optional bias c (1).
///
/// Written out as broadcast add → tanh → linear it makes and walks a (B, T, S, A) tensor three
/// times forward and three times backward; here each (b, t) block is added, squashed with the
/// vector tanh and dotted with v in one pass, and the backward pass is one pass too. The tanh
/// values are kept for the backward pass.
func additiveScores(keys: Variable, queries: Variable, energy v: Variable, bias: Variable?, tape: Tape) -> Variable {
    let B = keys.shape[0], S = keys.shape[1], A = keys.shape[2], T = queries.shape[1]
    precondition(
        queries.shape == [B, T, A] && v.value.count == A,
        "additive scores need keys (B, S, A), queries (B, T, A), v (A)")
    let recording = tape.needsGradient(keys, queries, v, bias)
    // The tanh values are kept for the backward pass; without one (decoding), each (b, t, s)
    // line is squashed in one A-long buffer on the stack: nothing allocated per step.
    let hidden = recording ? Tensor(uninitialized: [B, T, S, A]) : nil
    let scores = Tensor(uninitialized: [B, T, S])
    let k = keys.value.data, q = queries.value.data, w = v.value.data
    let c = bias?.value.data[0] ?? 0
    parallelChunks(B * T) { rows in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: hidden == nil ? A : 0) { line in
            for row in rows {
                let b = row / T, query = q + row * A
                for s in 0..<S {
                    let key = k + (b * S + s) * A
                    let target = hidden.map { $0.data + (row * S + s) * A } ?? line.baseAddress!
                    for a in 0..<A { target[a] = key[a] + query[a] }
                    zoo_tanh(target, target, A)
                    scores.data[row * S + s] = laneDot(target, w, count: A) + c
                }
            }
        }
    }
    let result = Variable(scores, requiresGrad: recording)
    if let hidden {
        tape.record {
            guard let dScores = result.grad?.data else { return }
            // Per share: its own partial dv; the items (b) are split, so dk and dq rows are its own.
            let shares = min(B, Engine.shares(work: B * T * S * A, grain: 16_384))
            let partials = (0..<shares).map { _ in Tensor(zeros: [A]) }
            let dk = keys.requiresGrad ? keys.gradient().data : nil
            let dq = queries.requiresGrad ? queries.gradient().data : nil
            Engine.team.run(shares: shares) { member in
                let items = memberRange(member, of: shares, count: B, align: 1)
                guard !items.isEmpty else { return }
                let dv = partials[member].data
                var dPre = [Float](repeating: 0, count: A)
                for b in items {
                    for t in 0..<T {
                        let row = b * T + t
                        for s in 0..<S {
                            let g = dScores[row * S + s]
                            let h = hidden.data + (row * S + s) * A
                            for a in 0..<A {
                                dv[a] += g * h[a]
                                dPre[a] = g * w[a] * (1 - h[a] * h[a])
                            }
                            if let dk {
                                let target = dk + (b * S + s) * A
                                for a in 0..<A { target[a] += dPre[a] }
                            }
                            if let dq {
                                let target = dq + row * A
                                for a in 0..<A { target[a] += dPre[a] }
                            }
                        }
                    }
                }
            }
            if v.requiresGrad {
                let dv = v.gradient()
                for partial in partials { dv.add(partial) }
            }
            if let bias, bias.requiresGrad {
                var total: Float = 0
                for i in 0..<(B * T * S) { total += dScores[i] }
                bias.gradient().data[0] += total
            }
        }
    }
    return result
}
