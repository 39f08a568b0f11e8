/// A matrix of values in [0, 1] as a grid of shaded cells (white → dark blue), with a title,
/// a label for every row and column, axis titles and a colour bar: attention maps
/// (output tokens × input tokens) and any other weights over two sequences.
public struct HeatMap {
    /// values[row][column], expected in [0, 1] (clamped).
    public var values: [[Float]]
    public var rowLabels: [String]
    public var columnLabels: [String]
    public var title: String
    /// Axis titles: what the columns and the rows are.
    public var columnAxis: String
    public var rowAxis: String
    /// Pixels per cell side.
    public var cellSize = 28

    public init(
        values: [[Float]], rowLabels: [String], columnLabels: [String], title: String = "",
        columnAxis: String = "", rowAxis: String = ""
    ) {
        self.values = values
        self.rowLabels = rowLabels
        self.columnLabels = columnLabels
        self.title = title
        self.columnAxis = columnAxis
        self.rowAxis = rowAxis
    }

    private static let scale = 2  // 10 × 14 pixel characters
    private static let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)

    /// The shade of a weight: white at 0, dark blue at 1.
    public static func color(_ value: Float) -> (UInt8, UInt8, UInt8) {
        let v = max(0, min(1, value.isFinite ? value : 0))
        func channel(_ low: Float) -> UInt8 { UInt8((255 - (255 - low) * v).rounded()) }
        return (channel(8), channel(48), channel(107))
    }

    public func render() -> RGBImage {
        let rows = values.count, columns = values.map(\.count).max() ?? 0
        let s = Self.scale, cell = cellSize
        let rowLabelWidth = (rowLabels.map { RGBImage.textWidth($0, scale: s) }.max() ?? 0)
        let columnLabelHeight = (columnLabels.map { RGBImage.textWidth($0, scale: s) }.max() ?? 0)
        let titleHeight = title.isEmpty ? 10 : 40
        let left = 10 + (rowAxis.isEmpty ? 0 : 24) + rowLabelWidth + 8
        let top = titleHeight + (columnAxis.isEmpty ? 0 : 24) + columnLabelHeight + 8
        let barWidth = 16, barGap = 20, barLabel = RGBImage.textWidth("1.0", scale: s)
        let width = max(
            left + columns * cell + barGap + barWidth + 8 + barLabel + 10, RGBImage.textWidth(title, scale: s) + 20)
        let height = max(top + rows * cell + 10, top + 80)
        var image = RGBImage(width: width, height: height)
        if !title.isEmpty {
            image.drawText(
                title, x: max(0, (width - RGBImage.textWidth(title, scale: s)) / 2), y: 12, color: Self.ink, scale: s)
        }
        if !columnAxis.isEmpty {
            image.drawText(
                columnAxis, x: left + (columns * cell - RGBImage.textWidth(columnAxis, scale: s)) / 2, y: titleHeight,
                color: Self.ink, scale: s)
        }
        if !rowAxis.isEmpty {
            image.drawText(
                rowAxis, x: 8, y: top + (rows * cell + RGBImage.textWidth(rowAxis, scale: s)) / 2,
                color: Self.ink, scale: s, vertical: true)
        }
        // Column labels read bottom to top, ending just above their column.
        for (c, label) in columnLabels.enumerated() where c < columns {
            image.drawText(
                label, x: left + c * cell + (cell - 14) / 2, y: top - 6, color: Self.ink, scale: s, vertical: true)
        }
        for (r, label) in rowLabels.enumerated() where r < rows {
            image.drawText(
                label, x: left - 8 - RGBImage.textWidth(label, scale: s), y: top + r * cell + (cell - 14) / 2,
                color: Self.ink, scale: s)
        }
        for (r, row) in values.enumerated() {
            for (c, value) in row.enumerated() {
                let shade = Self.color(value)
                for y in (top + r * cell)..<(top + (r + 1) * cell) {
                    for x in (left + c * cell)..<(left + (c + 1) * cell) { image.set(x, y, shade) }
                }
            }
        }
        // Frame, then the colour bar from 1 (top) to 0.
        for x in left...(left + columns * cell) {
            image.set(x, top, Self.ink)
            image.set(x, top + rows * cell, Self.ink)
        }
        for y in top...(top + rows * cell) {
            image.set(left, y, Self.ink)
            image.set(left + columns * cell, y, Self.ink)
        }
        let barLeft = left + columns * cell + barGap, barHeight = max(rows * cell, 60)
        for y in 0..<barHeight {
            let shade = Self.color(1 - Float(y) / Float(max(barHeight - 1, 1)))
            for x in barLeft..<(barLeft + barWidth) { image.set(x, top + y, shade) }
        }
        image.drawText("1.0", x: barLeft + barWidth + 6, y: top, color: Self.ink, scale: s)
        image.drawText("0.0", x: barLeft + barWidth + 6, y: top + barHeight - 14, color: Self.ink, scale: s)
        return image
    }
}
