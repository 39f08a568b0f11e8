/// A layer whose weights can be packed once for the inference steps of a decoding (a
/// recurrent cell, a linear layer): BLAS repacks a weight at every product, which for the few
/// rows of a decoder's step costs more than the product itself.
public protocol PackableForDecoding: AnyObject {
    /// Runs `body` with the weights packed for products of `rows` rows; they must not change
    /// inside it. Calls that record gradients ignore the packing.
    func decoding<T>(rows: Int, _ body: () throws -> T) rethrows -> T
}

/// Runs `body` with every layer's weights packed for decoding.
public func decoding<T>(with layers: [any PackableForDecoding], rows: Int, _ body: () throws -> T) rethrows -> T {
    guard let first = layers.first else { return try body() }
    return try first.decoding(rows: rows) { try decoding(with: Array(layers.dropFirst()), rows: rows, body) }
}
