// Max and average pooling over NCHW images with a square window: PyTorch's `nn.MaxPool2d` and
// `nn.AvgPool2d` (padding counted in the average, `count_include_pad=True`; max pooling treats
// padding as −∞).

/// Max over each window; the gradient goes to the (first) largest element of the window.
public func maxPool2d(_ x: Variable, kernelSize: Int, stride: Int? = nil, padding: Int = 0, tape: Tape) -> Variable {
    let geometry = ConvolutionGeometry(kernel: kernelSize, stride: stride ?? kernelSize, padding: padding)
    let (N, C, H, W, Ho, Wo) = poolShapes(x, geometry)
    let out = Tensor(uninitialized: [N, C, Ho, Wo])
    let argmax = IndexBuffer(count: out.count)  // the input index each output took
    let chosen = argmax.pointer
    let plain = geometry.kernel == 2 && geometry.stride == 2 && geometry.padding == 0
    parallelChunks(N * C, minimumPerChunk: 8) { planes in
        for plane in planes {
            let input = x.value.data + plane * H * W
            if plain {
                maxPool2x2Plane(
                    input, width: W, outputHeight: Ho, outputWidth: Wo,
                    out: out.data + plane * Ho * Wo, chosen: chosen + plane * Ho * Wo)
                continue
            }
            for oy in 0..<Ho {
                for ox in 0..<Wo {
                    let o = (plane * Ho + oy) * Wo + ox
                    var best = -Float.infinity, bestIndex = -1
                    forEachWindowPixel(geometry, oy, ox, H, W) { index in
                        if input[index] > best || bestIndex < 0 {
                            best = input[index]
                            bestIndex = index
                        }
                    }
                    out.data[o] = best
                    chosen[o] = Int32(bestIndex)
                }
            }
        }
    }
    return opResult(out, of: x, tape: tape) { dOut, dx in
        let chosen = argmax.pointer
        parallelChunks(N * C, minimumPerChunk: 8) { planes in
            for plane in planes {
                for p in 0..<(Ho * Wo) {
                    let o = plane * Ho * Wo + p
                    if chosen[o] >= 0 { dx[plane * H * W + Int(chosen[o])] += dOut[o] }
                }
            }
        }
    }
}

/// The common 2×2 window with stride 2 and no padding over one plane: the four candidates of
/// eight outputs at a time from two input rows, compared in order so that the first largest
/// wins, as in the general loop.
private func maxPool2x2Plane(
    _ input: UnsafePointer<Float>, width W: Int, outputHeight Ho: Int, outputWidth Wo: Int,
    out: UnsafeMutablePointer<Float>, chosen: UnsafeMutablePointer<Int32>
) {
    let lanes = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
    let raw = UnsafeRawPointer(input), size = MemoryLayout<Float>.stride
    for oy in 0..<Ho {
        let top = 2 * oy * W
        var ox = 0
        while ox + 8 <= Wo {
            let first = top + 2 * ox
            let upper = raw.loadUnaligned(fromByteOffset: first * size, as: SIMD16<Float>.self)
            let lower = raw.loadUnaligned(fromByteOffset: (first + W) * size, as: SIMD16<Float>.self)
            let base = lanes &+ Int32(first)
            var best = upper.evenHalf, index = base
            @inline(__always) func consider(_ candidate: SIMD8<Float>, _ offset: Int) {
                let larger = candidate .> best
                best.replace(with: candidate, where: larger)
                index.replace(with: base &+ Int32(offset), where: larger)
            }
            consider(upper.oddHalf, 1)
            consider(lower.evenHalf, W)
            consider(lower.oddHalf, W + 1)
            UnsafeMutableRawPointer(out + oy * Wo + ox).storeBytes(of: best, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(chosen + oy * Wo + ox).storeBytes(of: index, as: SIMD8<Int32>.self)
            ox += 8
        }
        while ox < Wo {
            let first = top + 2 * ox
            var bestIndex = first
            if input[first + 1] > input[bestIndex] { bestIndex = first + 1 }
            if input[first + W] > input[bestIndex] { bestIndex = first + W }
            if input[first + W + 1] > input[bestIndex] { bestIndex = first + W + 1 }
            out[oy * Wo + ox] = input[bestIndex]
            chosen[oy * Wo + ox] = Int32(bestIndex)
            ox += 1
        }
    }
}

/// Mean over each window (k·k elements, padding included).
public func avgPool2d(_ x: Variable, kernelSize: Int, stride: Int? = nil, padding: Int = 0, tape: Tape) -> Variable {
    let geometry = ConvolutionGeometry(kernel: kernelSize, stride: stride ?? kernelSize, padding: padding)
    let (N, C, H, W, Ho, Wo) = poolShapes(x, geometry)
    let scale = 1 / Float(kernelSize * kernelSize)
    let out = Tensor(uninitialized: [N, C, Ho, Wo])
    for plane in 0..<(N * C) {
        let input = x.value.data + plane * H * W
        for oy in 0..<Ho {
            for ox in 0..<Wo {
                var s: Float = 0
                forEachWindowPixel(geometry, oy, ox, H, W) { s += input[$0] }
                out.data[(plane * Ho + oy) * Wo + ox] = s * scale
            }
        }
    }
    return opResult(out, of: x, tape: tape) { dOut, dx in
        for plane in 0..<(N * C) {
            for oy in 0..<Ho {
                for ox in 0..<Wo {
                    let d = dOut[(plane * Ho + oy) * Wo + ox] * scale
                    forEachWindowPixel(geometry, oy, ox, H, W) { dx[plane * H * W + $0] += d }
                }
            }
        }
    }
}

private func poolShapes(_ x: Variable, _ g: ConvolutionGeometry) -> (Int, Int, Int, Int, Int, Int) {
    precondition(x.shape.count == 4, "pooling needs (N, C, H, W), got \(x.shape)")
    precondition(
        g.kernel > 0 && g.stride > 0 && g.padding >= 0 && 2 * g.padding <= g.kernel,
        "pooling: padding must be at most half the window, as in PyTorch")
    let H = x.shape[2], W = x.shape[3]
    let Ho = g.outputLength(H), Wo = g.outputLength(W)
    precondition(Ho > 0 && Wo > 0, "pooling: a \(H)×\(W) image is smaller than the \(g.kernel)×\(g.kernel) window")
    return (x.shape[0], x.shape[1], H, W, Ho, Wo)
}

/// Calls `body(y · W + x)` for each input pixel inside window (oy, ox).
@inline(__always)
private func forEachWindowPixel(
    _ g: ConvolutionGeometry, _ oy: Int, _ ox: Int, _ H: Int, _ W: Int, _ body: (Int) -> Void
) {
    for i in 0..<g.kernel {
        let y = oy * g.stride - g.padding + i
        guard y >= 0 && y < H else { continue }
        for j in 0..<g.kernel {
            let x = ox * g.stride - g.padding + j
            if x >= 0 && x < W { body(y * W + x) }
        }
    }
}

/// Indices kept for a backward pass, written by several threads at once (an array could not be).
final class IndexBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>
    init(count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}
