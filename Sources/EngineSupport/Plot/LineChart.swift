import Foundation

/// A line chart rasterised into an `RGBImage`: a title, labelled axes with tick values, a grid,
/// one polyline per series and a legend when there is more than one. The y axis is logarithmic
/// when asked, or by default when the data are positive and span more than two decades.
public struct LineChart {
    public struct Series {
        public var points: [(x: Double, y: Double)]
        public var color: (UInt8, UInt8, UInt8)
        public var name: String
        public init(points: [(x: Double, y: Double)], color: (UInt8, UInt8, UInt8), name: String = "") {
            self.points = points
            self.color = color
            self.name = name
        }
    }

    public var series: [Series]
    public var title = ""
    public var xLabel = ""
    public var yLabel = ""
    /// nil: logarithmic when the data are positive and span more than two decades.
    public var logarithmicY: Bool?
    public var width = 800, height = 500

    /// Colours that tell lines apart (matplotlib's first ones).
    public static let palette: [(UInt8, UInt8, UInt8)] = [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)
    ]

    public init(series: [Series], title: String = "", xLabel: String = "", yLabel: String = "") {
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    private static let text = 2  // font scale: 10 × 14 pixel characters
    private static let ink: (UInt8, UInt8, UInt8) = (30, 30, 30)

    public func render() -> RGBImage {
        var image = RGBImage(width: width, height: height)
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let scale = Self.text
        if !title.isEmpty {
            image.drawText(
                title, x: max(0, (width - RGBImage.textWidth(title, scale: scale)) / 2), y: 10, color: Self.ink,
                scale: scale)
        }
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(),
            let minY = all.map(\.y).min(), let maxY = all.map(\.y).max()
        else { return image }
        let logarithmic = logarithmicY ?? (minY > 0 && maxY / minY > 100)
        let yAxis = logarithmic ? Axis.logarithmic(minY, maxY) : Axis.linear(minY, maxY)
        let xAxis = Axis.linear(minX, maxX)
        let tickWidth = yAxis.ticks.map { RGBImage.textWidth(Self.label($0, axis: yAxis), scale: scale) }.max() ?? 0

        // Plot area.
        let left = 14 * 2 + 12 + tickWidth + 8, right = width - 25
        let top = title.isEmpty ? 20 : 45, bottom = height - (xLabel.isEmpty ? 40 : 62)
        // Data sit a few pixels inside the frame, so that a point at an end of the range (the
        // one validation of a short run) is not drawn on the axis or cut by the image's edge.
        let inset = 10
        func pixel(_ x: Double, _ y: Double) -> (Int, Int) {
            (
                left + inset + Int((xAxis.position(x) * Double(right - left - 2 * inset)).rounded()),
                bottom - inset - Int((yAxis.position(y) * Double(bottom - top - 2 * inset)).rounded())
            )
        }
        let grid: (UInt8, UInt8, UInt8) = (228, 228, 228)
        for tick in yAxis.ticks {
            let (_, y) = pixel(minX, tick)
            for px in left...right { image.set(px, y, grid) }
            let text = Self.label(tick, axis: yAxis)
            image.drawText(
                text, x: left - 8 - RGBImage.textWidth(text, scale: scale), y: y - 7, color: Self.ink, scale: scale)
        }
        for tick in xAxis.ticks {
            let (x, _) = pixel(tick, yAxis.low)
            for py in top...bottom { image.set(x, py, grid) }
            let text = Self.label(tick, axis: xAxis)
            image.drawText(
                text, x: x - RGBImage.textWidth(text, scale: scale) / 2, y: bottom + 8, color: Self.ink, scale: scale)
        }
        for px in left...right { image.set(px, bottom, Self.ink) }
        for py in top...bottom { image.set(left, py, Self.ink) }
        if !xLabel.isEmpty {
            image.drawText(
                xLabel, x: (left + right - RGBImage.textWidth(xLabel, scale: scale)) / 2, y: height - 22,
                color: Self.ink, scale: scale)
        }
        if !yLabel.isEmpty {
            image.drawText(
                yLabel, x: 8, y: (top + bottom + RGBImage.textWidth(yLabel, scale: scale)) / 2,
                color: Self.ink, scale: scale, vertical: true)
        }

        var drawn: [(Int, Int)] = []  // the data's pixels, which the legend must not cover
        for s in series {
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logarithmic || $0.y > 0) }
            for (a, b) in zip(points, points.dropFirst()) {
                let (p, q) = (pixel(a.x, a.y), pixel(b.x, b.y))
                drawLine(&image, p, q, s.color)
                let steps = max(abs(q.0 - p.0), abs(q.1 - p.1)) / 4 + 1
                for k in 0...steps { drawn.append((p.0 + (q.0 - p.0) * k / steps, p.1 + (q.1 - p.1) * k / steps)) }
            }
            // A sparse series (validations) gets a marker at each point: a lone point is visible.
            if points.count <= Self.markedPoints {
                for point in points {
                    let (x, y) = pixel(point.x, point.y)
                    drawMarker(&image, x, y, s.color)
                    drawn.append((x, y))
                }
            }
        }
        drawLegend(&image, left: left, right: right, top: top, bottom: bottom, avoiding: drawn)
        return image
    }

    /// Series of at most this many points get a marker at each.
    static let markedPoints = 40

    /// The series' names with their colours, when there are several: in the first corner of the
    /// plot (top right, top left, bottom right, bottom left) where it covers no data.
    private func drawLegend(
        _ image: inout RGBImage, left: Int, right: Int, top: Int, bottom: Int, avoiding drawn: [(Int, Int)]
    ) {
        let named = series.filter { !$0.name.isEmpty }
        guard named.count > 1 else { return }
        let scale = Self.text
        let textWidth = named.map { RGBImage.textWidth($0.name, scale: scale) }.max() ?? 0
        let boxWidth = 12 + 30 + 8 + textWidth + 12, lineHeight = 22
        let boxHeight = named.count * lineHeight + 12
        let corners = [
            (right - boxWidth - 10, top + 10), (left + 10, top + 10),
            (right - boxWidth - 10, bottom - boxHeight - 10), (left + 10, bottom - boxHeight - 10)
        ]
        let margin = 4
        let free = corners.first { corner in
            !drawn.contains {
                $0.0 >= corner.0 - margin && $0.0 < corner.0 + boxWidth + margin
                    && $0.1 >= corner.1 - margin && $0.1 < corner.1 + boxHeight + margin
            }
        }
        let (x0, y0) = free ?? corners[0]
        for y in y0..<(y0 + named.count * lineHeight + 12) {
            for x in x0..<(x0 + boxWidth) {
                let edge = y == y0 || y == y0 + named.count * lineHeight + 11 || x == x0 || x == x0 + boxWidth - 1
                image.set(x, y, edge ? (160, 160, 160) : (255, 255, 255))
            }
        }
        for (index, s) in named.enumerated() {
            let y = y0 + 8 + index * lineHeight
            for x in (x0 + 12)..<(x0 + 42) {
                image.set(x, y + 7, s.color)
                image.set(x, y + 8, s.color)
            }
            image.drawText(s.name, x: x0 + 50, y: y, color: Self.ink, scale: scale)
        }
    }

    /// A tick value as text: as few decimals as the tick spacing needs; powers of ten on a
    /// logarithmic axis; an exponent where the number would be long.
    static func label(_ value: Double, axis: Axis) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 {
            let exponent = Int(floor(log10(magnitude)))
            let mantissa = value / pow(10, Double(exponent))
            let head =
                abs(mantissa - mantissa.rounded()) < 1e-9
                ? String(Int(mantissa.rounded())) : String(format: "%.1f", mantissa)
            return "\(head)e\(exponent)"
        }
        let decimals = max(0, -Int(floor(log10(axis.step * (axis.logarithmic ? magnitude : 1)) + 1e-9)))
        return String(format: "%.\(min(decimals, 6))f", value)
    }

    /// Bresenham's line, two pixels thick.
    private func drawLine(_ image: inout RGBImage, _ p0: (Int, Int), _ p1: (Int, Int), _ color: (UInt8, UInt8, UInt8)) {
        var (x0, y0) = p0
        let (x1, y1) = p1
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            image.set(x0, y0, color)
            image.set(x0, y0 + 1, color)
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * error
            if e2 >= dy {
                error += dy
                x0 += sx
            }
            if e2 <= dx {
                error += dx
                y0 += sy
            }
        }
    }

    /// A filled disc of radius 4.
    private func drawMarker(_ image: inout RGBImage, _ x: Int, _ y: Int, _ color: (UInt8, UInt8, UInt8)) {
        for dy in -4...4 { for dx in -4...4 where dx * dx + dy * dy <= 18 { image.set(x + dx, y + dy, color) } }
    }
}

/// An axis's range and ticks: linear with "nice" steps (1, 2 or 5 × 10^k), or logarithmic with
/// a tick at every power of ten.
struct Axis {
    let low: Double, high: Double
    let logarithmic: Bool
    /// Linear: the tick spacing; logarithmic: 1 (a decade).
    let step: Double
    let ticks: [Double]

    static func linear(_ minimum: Double, _ maximum: Double) -> Axis {
        var (low, high) = (minimum, maximum)
        if high - low < 1e-12 * max(1, abs(high)) {
            low -= max(1, abs(low)) * 0.05
            high += max(1, abs(high)) * 0.05
        }
        let raw = (high - low) / 5
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        let first = (low / step).rounded(.up) * step
        let ticks = stride(from: first, through: high + step * 1e-9, by: step).map { abs($0) < step * 1e-9 ? 0 : $0 }
        return Axis(low: low, high: high, logarithmic: false, step: step, ticks: ticks)
    }

    static func logarithmic(_ minimum: Double, _ maximum: Double) -> Axis {
        let low = floor(log10(minimum)), high = ceil(log10(maximum))
        let decades = max(1, high - low)
        let every = max(1.0, (decades / 8).rounded(.up))  // at most about eight labels
        let ticks = stride(from: low, through: high, by: every).map { pow(10, $0) }
        return Axis(low: pow(10, low), high: pow(10, max(high, low + 1)), logarithmic: true, step: 1, ticks: ticks)
    }

    /// Where `value` falls, from 0 (low) to 1 (high).
    func position(_ value: Double) -> Double {
        logarithmic ? (log10(value) - log10(low)) / (log10(high) - log10(low)) : (value - low) / (high - low)
    }
}
