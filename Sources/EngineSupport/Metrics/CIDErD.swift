import Foundation

/// CIDEr-D, the captioning metric of the COCO evaluation code: for each image, the TF-IDF
/// weighted n-gram vectors (n = 1…4) of the candidate and of each reference, compared by a
/// cosine in which the candidate's weights are clipped at the reference's, damped by a Gaussian
/// of the length difference (σ = 6), averaged over references and orders, × 10; then averaged
/// over images. Document frequencies come from the references of the whole test set. Captions
/// are split on whitespace: lowercase them and strip punctuation first, as the COCO tokenizer
/// does. As in that code, the "length" the penalty compares is the candidate's count of
/// bigrams (its token count minus one).
public func corpusCIDErD(candidates: [String], references: [[String]], sigma: Double = 6) -> (
    score: Double, perImage: [Double]
) {
    precondition(candidates.count == references.count, "\(candidates.count) candidates for \(references.count) images")
    guard !candidates.isEmpty else { return (0, []) }
    let order = 4
    let counts = { (text: String) in ngramCounts(splitOnPythonWhitespace(text.unicodeScalars), maxOrder: order) }
    let candidateCounts = candidates.map(counts)
    let referenceCounts = references.map { $0.map(counts) }
    var documentFrequency: [[String]: Double] = [:]
    for image in referenceCounts {
        for ngram in Set(image.flatMap(\.keys)) { documentFrequency[ngram, default: 0] += 1 }
    }
    let logImages = log(Double(references.count))

    /// The TF-IDF vector per order, its norms, and the bigram count.
    func vectors(_ counts: [[String]: Int]) -> (vectors: [[[String]: Double]], norms: [Double], length: Int) {
        var vectors = [[[String]: Double]](repeating: [:], count: order)
        var norms = [Double](repeating: 0, count: order)
        var length = 0
        for (ngram, count) in counts {
            let n = ngram.count - 1
            let weight = Double(count) * (logImages - log(max(1, documentFrequency[ngram] ?? 0)))
            vectors[n][ngram] = weight
            norms[n] += weight * weight
            if n == 1 { length += count }
        }
        return (vectors, norms.map { $0.squareRoot() }, length)
    }

    var perImage: [Double] = []
    for (candidate, imageReferences) in zip(candidateCounts, referenceCounts) {
        let (vector, norm, length) = vectors(candidate)
        var total = [Double](repeating: 0, count: order)
        for reference in imageReferences {
            let (referenceVector, referenceNorm, referenceLength) = vectors(reference)
            let delta = Double(length - referenceLength)
            for n in 0..<order {
                var value = 0.0
                for (ngram, weight) in vector[n] {
                    let referenceWeight = referenceVector[n][ngram] ?? 0
                    value += min(weight, referenceWeight) * referenceWeight
                }
                if norm[n] != 0 && referenceNorm[n] != 0 { value /= norm[n] * referenceNorm[n] }
                total[n] += value * exp(-(delta * delta) / (2 * sigma * sigma))
            }
        }
        let mean = total.reduce(0, +) / Double(order)
        perImage.append(imageReferences.isEmpty ? 0 : 10 * mean / Double(imageReferences.count))
    }
    return (perImage.reduce(0, +) / Double(perImage.count), perImage)
}
