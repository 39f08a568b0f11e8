import CKernels

/// A 2-D convolution over NCHW images: PyTorch's `nn.Conv2d` (groups 1, dilation 1), weight
/// `<name>.weight` (O, C, kh, kw) and `<name>.bias` (O), initialised uniform ±1/√(C·kh·kw) as
/// its default amounts to. Zero padding on every side.
///
/// Stride 1 on an AVX2/FMA CPU, the forward pass and the input gradient read each zero-bordered
/// image (or output gradient) in place (the engine's direct kernel); otherwise, and for the
/// weight gradient, im2col + GEMM: each image's patches are laid out as a (C·kh·kw, Ho·Wo)
/// matrix; the patches of a group of images side by side make one sgemm with the (O, C·kh·kw)
/// weight (a product per image is too thin for the deep layers' small grids). The images of a
/// batch are spread over the engine's threads.
public final class Conv2d {
    public let weight: Parameter
    public let bias: Parameter?
    public let geometry: ConvolutionGeometry

    public init(
        inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
        bias: Bool = true, name: String, store: ParameterStore, rng: inout RandomGenerator
    ) {
        precondition(
            inputChannels > 0 && outputChannels > 0 && kernelSize > 0 && stride > 0 && padding >= 0,
            "convolution sizes must be positive")
        geometry = ConvolutionGeometry(kernel: kernelSize, stride: stride, padding: padding)
        let bound = 1 / Float(inputChannels * kernelSize * kernelSize).squareRoot()
        weight = store.declare(name + ".weight", shape: [outputChannels, inputChannels, kernelSize, kernelSize]) {
            rng.fillUniform($0, -bound, bound)
        }
        self.bias =
            bias ? store.declare(name + ".bias", shape: [outputChannels]) { rng.fillUniform($0, -bound, bound) } : nil
    }

    /// The convolution, then `activation` (ReLU fused: PyTorch's Conv2d followed by ReLU).
    public func callAsFunction(_ x: Variable, activation: ConvolutionActivation = .identity, tape: Tape) -> Variable {
        conv2d(
            x, weight: weight, bias: bias, stride: geometry.stride, padding: geometry.padding, activation: activation,
            tape: tape)
    }
}

/// What a convolution applies to its outputs in the same pass. Fusing ReLU saves a full read and
/// write of the activations each way, and the separate gradient buffer of the pre-activations:
/// the backward pass masks the output gradient while it lays it out for the weight product.
public enum ConvolutionActivation: Sendable, Equatable {
    case identity, relu
}

/// Kernel, stride and padding of a square window, and the output size they give.
public struct ConvolutionGeometry: Sendable, Equatable {
    public let kernel: Int, stride: Int, padding: Int

    public init(kernel: Int, stride: Int, padding: Int) {
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// The output length along an input length (PyTorch's floor((n + 2p − k) / s) + 1).
    public func outputLength(_ n: Int) -> Int { (n + 2 * padding - kernel) / stride + 1 }
}

/// out (N, O, Ho, Wo) = activation(conv(x (N, C, H, W), weight (O, C, k, k)) + bias).
public func conv2d(
    _ x: Variable, weight: Variable, bias: Variable?, stride: Int = 1, padding: Int = 0,
    activation: ConvolutionActivation = .identity, tape: Tape
) -> Variable {
    precondition(
        x.shape.count == 4 && weight.shape.count == 4 && x.shape[1] == weight.shape[1]
            && weight.shape[2] == weight.shape[3],
        "conv2d needs x (N, C, H, W) and weight (O, C, k, k), got \(x.shape) and \(weight.shape)")
    let N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    let O = weight.shape[0], k = weight.shape[2]
    let geometry = ConvolutionGeometry(kernel: k, stride: stride, padding: padding)
    let Ho = geometry.outputLength(H), Wo = geometry.outputLength(W)
    precondition(Ho > 0 && Wo > 0, "conv2d: a \(H)×\(W) image is smaller than the \(k)×\(k) kernel")
    let out = Tensor(uninitialized: [N, O, Ho, Wo])
    let patches = Patches(channels: C, height: H, width: W, geometry: geometry, outputHeight: Ho, outputWidth: Wo)
    let relu = activation == .relu
    if stride == 1 && PackedColumns.kernelEnabled {
        convolveDirectly(
            x.value.data, into: out.data, images: N, patches: patches, weight: weight.value, bias: bias?.value,
            relu: relu)
    } else {
        convolveThroughPatches(
            x.value.data, into: out.data, images: N, patches: patches, weight: weight.value, bias: bias?.value,
            relu: relu)
    }
    let result = Variable(out, requiresGrad: tape.needsGradient(x, weight, bias))
    if result.requiresGrad {
        tape.record {
            guard let dOut = result.grad?.data else { return }
            conv2dBackward(dOut, x: x, weight: weight, bias: bias, output: out, patches: patches, relu: relu)
        }
    }
    return result
}

/// The gradients of `conv2d` from dOut (N, O, Ho, Wo): the weight's and the bias's summed over
/// the images, the input's through the direct kernel (stride 1) or im2col's transpose. With
/// ReLU fused, dOut is zero where the output was.
private func conv2dBackward(
    _ dOut: UnsafeMutablePointer<Float>, x: Variable, weight: Variable, bias: Variable?, output out: Tensor,
    patches: Patches, relu: Bool
) {
    let N = x.shape[0], C = patches.channels, H = patches.height, W = patches.width
    let O = weight.shape[0], k = patches.geometry.kernel, stride = patches.geometry.stride,
        padding = patches.geometry.padding
    let K = patches.rows, P = patches.positions
    let Ho = out.shape[2], Wo = out.shape[3]
    let team = Engine.team, shares = Engine.shares(work: N, grain: 1)
    // The weight gradient sums over images: in groups of images side by side, (K, g·P), as
    // wide as a couple of megabytes of patches (a per-image product of a shallow layer is a
    // thin (O, K) GEMM over one image).
    let group = patches.imagesPerGroup(count: N)
    // Each member sums its images' weight and bias gradients apart; the partial sums are added after.
    let partials = (0..<shares).map { _ in weight.requiresGrad ? Tensor(zeros: [O, K]) : Tensor(zeros: [0]) }
    let biasPartials = (0..<shares).map { _ in bias?.requiresGrad == true ? Tensor(zeros: [O]) : Tensor(zeros: [0]) }
    let dx = x.requiresGrad ? x.gradient().data : nil  // created here, not by racing members
    // The input gradient of a stride-1 convolution through the direct kernel (it needs
    // a border of k − 1 − padding around dY: not for padding wider than the kernel).
    let border = k - 1 - padding
    let flipped =
        dx != nil && stride == 1 && border >= 0 && PackedColumns.kernelEnabled
        ? DirectKernel(weight.value.data, outputs: O, inputs: C, size: k, flipped: true) : nil
    team.run(shares: shares) { member in
        let images = memberRange(member, of: shares, count: N, align: 1)
        guard !images.isEmpty else { return }
        let bordered = flipped.map { _ in BorderedImage(planes: O, height: Ho, width: Wo, border: border) }
        let columns = Tensor(uninitialized: [K, group * P]), gradients = Tensor(uninitialized: [O, group * P])
        for first in Swift.stride(from: images.lowerBound, to: images.upperBound, by: group) {
            let g = min(group, images.upperBound - first), ld = g * P
            // dY of the group as (O, g·P), the layout of the forward product; with ReLU,
            // zero where the output was (PyTorch's relu backward).
            for q in 0..<g {
                for o in 0..<O {
                    let plane = ((first + q) * O + o) * P
                    gatherOutputGradient(
                        gradients.data + o * ld + q * P, from: dOut + plane,
                        outputs: relu ? out.data + plane : nil, count: P)
                }
            }
            if biasPartials[member].count > 0 {
                let db = biasPartials[member].data
                for o in 0..<O { db[o] += laneSum(gradients.data + o * ld, count: ld) }
            }
            if weight.requiresGrad {
                for q in 0..<g {
                    patches.gather(x.value.data + (first + q) * C * H * W, into: columns.data + q * P, ld: ld)
                }
                BLAS.sgemm(
                    transB: true, m: O, n: K, k: ld, a: gradients.data, lda: ld, b: columns.data, ldb: ld,
                    beta: 1, c: partials[member].data, ldc: K)
            }
            if let dx, let flipped, let bordered {
                for q in 0..<g {
                    bordered.fill(from: gradients.data + q * P, planeStride: ld)
                    bordered.convolve(
                        flipped, bias: nil, relu: false, accumulate: true,
                        into: dx + (first + q) * C * H * W, tiles: 0..<flipped.tiles)
                }
            } else if let dx {
                BLAS.sgemm(
                    transA: true, m: K, n: ld, k: O, a: weight.value.data, lda: K, b: gradients.data, ldb: ld,
                    beta: 0, c: columns.data, ldc: ld)
                for q in 0..<g { patches.scatterAdd(columns.data + q * P, into: dx + (first + q) * C * H * W, ld: ld) }
            }
        }
    }
    if weight.requiresGrad {
        let dW = weight.gradient()
        for partial in partials { dW.add(partial) }
    }
    if let bias, bias.requiresGrad {
        let db = bias.gradient()
        for partial in biasPartials { db.add(partial) }
    }
}

/// The forward pass through im2col and BLAS (any stride; the CPUs without AVX2/FMA). Each
/// member takes a run of images and multiplies them in groups: the patches of g images side by
/// side, (K, g·P), make one GEMM with g times the columns of a per-image product. An image wide
/// enough on its own (g = 1) is multiplied straight into the output, whose (O, P) layout is that
/// product's: no copy, which matters for the shallow, wide layers.
private func convolveThroughPatches(
    _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, images N: Int, patches: Patches,
    weight: Tensor, bias: Tensor?, relu: Bool
) {
    let O = weight.shape[0], K = patches.rows, P = patches.positions
    let imageSize = patches.channels * patches.height * patches.width
    let group = P >= 2048 ? 1 : patches.imagesPerGroup(count: N)
    let shares = Engine.shares(work: N, grain: 1)
    Engine.team.run(shares: shares) { member in
        let images = memberRange(member, of: shares, count: N, align: 1)
        guard !images.isEmpty else { return }
        let columns = Tensor(uninitialized: [K, group * P])
        let products = group > 1 ? Tensor(uninitialized: [O, group * P]) : nil
        for first in Swift.stride(from: images.lowerBound, to: images.upperBound, by: group) {
            let g = min(group, images.upperBound - first), ld = g * P
            for q in 0..<g { patches.gather(x + (first + q) * imageSize, into: columns.data + q * P, ld: ld) }
            let target = products?.data ?? out + first * O * P
            BLAS.sgemm(m: O, n: ld, k: K, a: weight.data, lda: K, b: columns.data, ldb: ld, beta: 0, c: target, ldc: ld)
            for q in 0..<g {
                for o in 0..<O {
                    finishOutputs(
                        out + ((first + q) * O + o) * P, from: target + o * ld + q * P, count: P,
                        bias: bias?.data[o] ?? 0, relu: relu)
                }
            }
        }
    }
}

/// The forward pass of a stride-1 convolution through the engine's direct kernel. Members take
/// whole images; with fewer images than members (captioning one picture) they share each
/// image's output channels instead.
private func convolveDirectly(
    _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, images N: Int, patches: Patches,
    weight: Tensor, bias: Tensor?, relu: Bool
) {
    let C = patches.channels, H = patches.height, W = patches.width, P = patches.positions
    let kernel = DirectKernel(
        weight.data, outputs: weight.shape[0], inputs: C, size: patches.geometry.kernel, flipped: false)
    let flops = 2 * N * kernel.outputs * C * patches.geometry.kernel * patches.geometry.kernel * P
    let shares = Engine.shares(work: flops, grain: Engine.productGrain)
    Engine.team.run(shares: shares) { member in
        let shareImages = N >= shares
        let images = shareImages ? memberRange(member, of: shares, count: N, align: 1) : 0..<N
        let tiles = shareImages ? 0..<kernel.tiles : memberRange(member, of: shares, count: kernel.tiles, align: 1)
        guard !images.isEmpty, !tiles.isEmpty else { return }
        let image = BorderedImage(planes: C, height: H, width: W, border: patches.geometry.padding)
        for n in images {
            image.fill(from: x + n * C * H * W, planeStride: H * W)
            image.convolve(
                kernel, bias: bias?.data, relu: relu, accumulate: false, into: out + n * kernel.outputs * P,
                tiles: tiles)
        }
    }
}

/// Weights packed for the direct kernel: (O, C, k, k) as they are, or flipped and transposed to
/// (C, O, k, k) for the input gradient (a stride-1 convolution's input gradient is the
/// convolution of the output gradient, bordered by k − 1 − padding, with the kernel rotated
/// half a turn and its channel roles swapped).
private struct DirectKernel {
    let outputs: Int, size: Int
    let packed: Tensor
    var tiles: Int { zoo_conv_row_tiles(outputs) }

    init(_ weight: UnsafePointer<Float>, outputs O: Int, inputs C: Int, size k: Int, flipped: Bool) {
        size = k
        let depth = C * k * k
        if flipped {
            outputs = C
            let turned = Tensor(uninitialized: [C, O, k, k])
            for o in 0..<O {
                for c in 0..<C {
                    for i in 0..<k {
                        for j in 0..<k {
                            turned.data[((c * O + o) * k + (k - 1 - i)) * k + (k - 1 - j)] =
                                weight[((o * C + c) * k + i) * k + j]
                        }
                    }
                }
            }
            packed = Tensor(uninitialized: [O * depth])
            zoo_conv_pack_weights(turned.data, C, O * k * k, packed.data)
        } else {
            outputs = O
            packed = Tensor(uninitialized: [O * depth])
            zoo_conv_pack_weights(weight, O, depth, packed.data)
        }
    }
}

/// One image at a time, copied into a zero-bordered buffer that the direct kernel reads in place
/// (no patch matrix, no packing of it), with the 8 floats past the end that a short segment's
/// load may touch.
private final class BorderedImage {
    let planes: Int, height: Int, width: Int, border: Int
    let buffer: Tensor
    var paddedHeight: Int { height + 2 * border }
    var paddedWidth: Int { width + 2 * border }

    init(planes: Int, height: Int, width: Int, border: Int) {
        self.planes = planes
        self.height = height
        self.width = width
        self.border = border
        buffer = Tensor(zeros: [planes * (height + 2 * border) * (width + 2 * border) + 8])
    }

    /// The interior ← planes `planeStride` apart of `height` rows of `width` floats; the border stays zero.
    func fill(from source: UnsafePointer<Float>, planeStride: Int) {
        for c in 0..<planes {
            for y in 0..<height {
                (buffer.data + (c * paddedHeight + y + border) * paddedWidth + border).update(
                    from: source + c * planeStride + y * width, count: width)
            }
        }
    }

    /// out (O, Ho, Wo) = (out +) conv(image, kernel) (+ bias, ReLU) for the kernel's channel tiles `tiles`.
    /// The kernel's position tables for this geometry, built on the first image and reused
    /// for the rest (they were allocated and freed per image and thread).
    private var tables: [Int] = [], tablesKernel = 0

    func convolve(
        _ kernel: DirectKernel, bias: UnsafePointer<Float>?, relu: Bool, accumulate: Bool,
        into out: UnsafeMutablePointer<Float>, tiles: Range<Int>
    ) {
        let outputHeight = paddedHeight - kernel.size + 1, outputWidth = paddedWidth - kernel.size + 1
        if tablesKernel != kernel.size {
            tables = [Int](repeating: 0, count: zoo_conv_table_size(planes, kernel.size, outputHeight, outputWidth))
            tables.withUnsafeMutableBufferPointer {
                zoo_conv_build_tables(
                    planes, paddedHeight, paddedWidth, kernel.size, outputHeight, outputWidth, $0.baseAddress)
            }
            tablesKernel = kernel.size
        }
        tables.withUnsafeBufferPointer {
            zoo_conv_direct(
                buffer.data, planes, kernel.size, $0.baseAddress, kernel.packed.data, kernel.outputs, bias,
                relu ? 1 : 0, accumulate ? 1 : 0, out, outputHeight, outputWidth, tiles.lowerBound, tiles.upperBound)
        }
    }
}

/// y = source + bias, or max(source + bias, 0) with ReLU (source may be y itself).
@inline(__always)
private func finishOutputs(
    _ y: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, count: Int, bias: Float, relu: Bool
) {
    if relu {
        for p in 0..<count { y[p] = max(source[p] + bias, 0) }
    } else {
        for p in 0..<count { y[p] = source[p] + bias }
    }
}

/// target = dOut, or dOut where the ReLU output is positive and 0 elsewhere.
@inline(__always)
private func gatherOutputGradient(
    _ target: UnsafeMutablePointer<Float>, from dOut: UnsafePointer<Float>,
    outputs: UnsafePointer<Float>?, count: Int
) {
    guard let outputs else {
        target.update(from: dOut, count: count)
        return
    }
    // Eight lanes at a time, without branches: the comparison picks dOut or 0.
    let gradients = UnsafeRawPointer(dOut), values = UnsafeRawPointer(outputs)
    var p = 0
    while p + 8 <= count {
        let offset = p * MemoryLayout<Float>.stride
        let d = gradients.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
        let o = values.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(target + p).storeBytes(
            of: SIMD8<Float>().replacing(with: d, where: o .> 0), as: SIMD8<Float>.self)
        p += 8
    }
    while p < count {
        target[p] = outputs[p] > 0 ? dOut[p] : 0
        p += 1
    }
}

/// The im2col layout of one image: row (c, i, j) of the patch matrix holds, for every output
/// position, the input pixel under kernel offset (i, j) of channel c (zero in the padding).
struct Patches {
    let channels: Int, height: Int, width: Int
    let geometry: ConvolutionGeometry
    let outputHeight: Int, outputWidth: Int

    /// Rows of the patch matrix (C·k·k) and its columns per image (Ho·Wo).
    var rows: Int { channels * geometry.kernel * geometry.kernel }
    var positions: Int { outputHeight * outputWidth }

    /// How many images of a batch of `count` go side by side in one product: a couple of
    /// megabytes of patches.
    func imagesPerGroup(count: Int) -> Int { max(1, min(count, (2 << 20) / max(1, rows * positions))) }

    /// columns (C·k·k, Ho·Wo), rows `ld` apart, ← image (C, H, W).
    func gather(_ image: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let ld = ld ?? outputHeight * outputWidth
        guard geometry.stride == 1 else {
            visit(ld: ld) { row, position, pixel in columns[row + position] = pixel.map { image[$0] } ?? 0 }
            return
        }
        // Stride 1: each output row reads one contiguous run of an input row.
        visitRuns(ld: ld) { row, rowPixel, span, zerosBefore, zerosAfter in
            if zerosBefore > 0 { (columns + row).update(repeating: 0, count: zerosBefore) }
            if let rowPixel, span > 0 {
                (columns + row + zerosBefore).update(from: image + rowPixel, count: span)
            } else if span > 0 {
                (columns + row + zerosBefore).update(repeating: 0, count: span)
            }
            if zerosAfter > 0 { (columns + row + zerosBefore + span).update(repeating: 0, count: zerosAfter) }
        }
    }

    /// image (C, H, W) += columns (C·k·k, Ho·Wo), rows `ld` apart, each entry added back to its pixel.
    func scatterAdd(_ columns: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let ld = ld ?? outputHeight * outputWidth
        guard geometry.stride == 1 else {
            visit(ld: ld) { row, position, pixel in if let pixel { image[pixel] += columns[row + position] } }
            return
        }
        visitRuns(ld: ld) { row, rowPixel, span, zerosBefore, _ in
            guard let rowPixel else { return }
            let source = columns + row + zerosBefore, target = image + rowPixel
            for q in 0..<span { target[q] += source[q] }
        }
    }

    /// Stride 1: calls `body(offset, pixel, span, before, after)` for every output row of every
    /// patch row: the run of `span` input pixels starting at `pixel` (nil for a padding row) fills
    /// columns[offset + before ..< offset + before + span], with `before` and `after` entries of
    /// padding on either side.
    @inline(__always)
    private func visitRuns(ld: Int, _ body: (Int, Int?, Int, Int, Int) -> Void) {
        let k = geometry.kernel, pad = geometry.padding
        let Wo = outputWidth
        for c in 0..<channels {
            for i in 0..<k {
                for j in 0..<k {
                    let row = ((c * k + i) * k + j) * ld
                    // Output columns ox read input column ox − pad + j: inside for ox in [first, last).
                    let first = min(Wo, max(0, pad - j)), last = max(first, min(Wo, width + pad - j))
                    for oy in 0..<outputHeight {
                        let y = oy - pad + i
                        let offset = row + oy * Wo
                        if y >= 0 && y < height {
                            body(offset, (c * height + y) * width + first - pad + j, last - first, first, Wo - last)
                        } else {
                            body(offset, nil, last - first, first, Wo - last)
                        }
                    }
                }
            }
        }
    }

    /// Calls `body(rowOffset, position, pixel)` for every patch entry: `pixel` is the input
    /// index it reads, nil in the padding.
    @inline(__always)
    private func visit(ld: Int, _ body: (Int, Int, Int?) -> Void) {
        let k = geometry.kernel, s = geometry.stride, pad = geometry.padding
        for c in 0..<channels {
            for i in 0..<k {
                for j in 0..<k {
                    let row = ((c * k + i) * k + j) * ld
                    for oy in 0..<outputHeight {
                        let y = oy * s - pad + i
                        let inside = y >= 0 && y < height
                        for ox in 0..<outputWidth {
                            let xx = ox * s - pad + j
                            let position = oy * outputWidth + ox
                            body(row, position, inside && xx >= 0 && xx < width ? (c * height + y) * width + xx : nil)
                        }
                    }
                }
            }
        }
    }
}
