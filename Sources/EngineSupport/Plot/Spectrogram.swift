/// A time–frequency image (a spectrogram: frames across, bins up) with a title, a time axis in
/// seconds, a frequency-bin axis, and under it a strip of labels placed at their times (a CTC
/// alignment: the characters where the model emits them).
public struct SpectrogramPlot {
    /// values[frame][bin]; shaded from the smallest (white) to the largest (dark blue).
    public var values: [[Float]]
    /// Seconds per frame (the hop).
    public var secondsPerFrame: Double
    /// (frame, text) marks for the strip under the image.
    public var marks: [(frame: Int, text: String)]
    public var title: String
    public var binAxis: String

    public init(
        values: [[Float]], secondsPerFrame: Double, marks: [(frame: Int, text: String)] = [], title: String = "",
        binAxis: String = "mel bin"
    ) {
        self.values = values
        self.secondsPerFrame = secondsPerFrame
        self.marks = marks
        self.title = title
        self.binAxis = binAxis
    }

    private static let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)

    public func render() -> RGBImage {
        let frames = values.count, bins = values.map(\.count).max() ?? 0
        let xScale = max(1, min(4, 1600 / max(frames, 1))), yScale = 3
        let left = 60, top = title.isEmpty ? 15 : 45
        let plotWidth = frames * xScale, plotHeight = bins * yScale
        let strip = marks.isEmpty ? 0 : 30
        let width = left + plotWidth + 20, height = top + plotHeight + strip + 60
        var image = RGBImage(width: max(width, 300), height: height)
        if !title.isEmpty {
            image.drawText(
                title, x: max(0, (image.width - RGBImage.textWidth(title, scale: 2)) / 2), y: 12, color: Self.ink,
                scale: 2)
        }
        let all = values.flatMap { $0 }.filter(\.isFinite)
        let low = all.min() ?? 0, high = all.max() ?? 1
        let range = max(high - low, 1e-6)
        for (f, column) in values.enumerated() {
            for (b, value) in column.enumerated() {
                let shade = HeatMap.color((value - low) / range)
                for dy in 0..<yScale {
                    for dx in 0..<xScale {
                        image.set(left + f * xScale + dx, top + plotHeight - 1 - (b * yScale + dy), shade)
                    }
                }
            }
        }
        // Frame, bin ticks, time ticks every 0.5 s.
        for x in left...(left + plotWidth) { image.set(x, top + plotHeight, Self.ink) }
        for y in top...(top + plotHeight) { image.set(left - 1, y, Self.ink) }
        for bin in stride(from: 0, through: bins, by: max(20, 1)) {
            let y = top + plotHeight - bin * yScale
            let text = String(bin)
            image.drawText(text, x: left - 6 - RGBImage.textWidth(text, scale: 1), y: y - 4, color: Self.ink)
        }
        image.drawText(
            binAxis, x: 6, y: top + (plotHeight + RGBImage.textWidth(binAxis, scale: 1)) / 2, color: Self.ink,
            vertical: true)
        let seconds = Double(frames) * secondsPerFrame
        let step = seconds > 6 ? 1.0 : 0.5
        var tick = 0.0
        while tick <= seconds + 1e-9 {
            let x = left + Int(tick / secondsPerFrame) * xScale
            for y in (top + plotHeight)...(top + plotHeight + 4) { image.set(x, y, Self.ink) }
            let text = step < 1 ? String(format: "%.1f", tick) : String(Int(tick))
            image.drawText(
                text, x: x - RGBImage.textWidth(text, scale: 1) / 2, y: top + plotHeight + strip + 8, color: Self.ink)
            tick += step
        }
        image.drawText(
            "time (s)", x: left + plotWidth / 2 - 24, y: top + plotHeight + strip + 24, color: Self.ink, scale: 2)
        for mark in marks {
            let x = left + mark.frame * xScale
            for y in (top + plotHeight + 2)...(top + plotHeight + 8) { image.set(x, y, (214, 39, 40)) }
            image.drawText(
                mark.text == " " ? "_" : mark.text, x: x - 5, y: top + plotHeight + 11, color: (214, 39, 40), scale: 2)
        }
        return image
    }
}
