import Foundation
import RNNEngine

/// A translation's attention as a heat map: one row per output token, one column per source
/// token, the words on the axes.
public enum AttentionMapWriter {
    public static func image(_ translation: TranslatedSentence) -> RGBImage {
        let rows = Array(translation.attention.prefix(translation.targetTokens.count))
        return HeatMap(
            values: rows, rowLabels: Array(translation.targetTokens.prefix(rows.count)),
            columnLabels: translation.sourceTokens, title: "Attention while translating",
            columnAxis: "source", rowAxis: "output"
        ).render()
    }

    public static func write(_ translation: TranslatedSentence, to path: String) throws {
        try image(translation).writePNG(to: path)
    }
}
