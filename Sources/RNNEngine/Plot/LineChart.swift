/// A minimal line chart (axes, grid, one polyline per series) rasterised into an `RGBImage`:
/// enough for loss curves, without a font dependency. Ranges are printed by the caller.
public struct LineChart {
    public struct Series {
        public var points: [(x: Double, y: Double)]
        public var color: (UInt8, UInt8, UInt8)
        public init(points: [(x: Double, y: Double)], color: (UInt8, UInt8, UInt8)) {
            self.points = points
            self.color = color
        }
    }

    public var series: [Series]
    public var width = 640, height = 400

    public init(series: [Series]) { self.series = series }

    public func render() -> RGBImage {
        var image = RGBImage(width: width, height: height)
        let margin = 30
        let all = series.flatMap(\.points)
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(),
              let minY = all.map(\.y).min(), let maxY = all.map(\.y).max() else { return image }
        let spanX = max(maxX - minX, 1e-9), spanY = max(maxY - minY, 1e-9)
        let plotW = width - 2 * margin, plotH = height - 2 * margin
        func pixel(_ p: (x: Double, y: Double)) -> (Int, Int) {
            (margin + Int((p.x - minX) / spanX * Double(plotW)),
             height - margin - Int((p.y - minY) / spanY * Double(plotH)))
        }
        let grid: (UInt8, UInt8, UInt8) = (225, 225, 225), axis: (UInt8, UInt8, UInt8) = (60, 60, 60)
        for k in 0...4 {
            let y = margin + k * plotH / 4, x = margin + k * plotW / 4
            for px in margin...(margin + plotW) { image.set(px, y, grid) }
            for py in margin...(margin + plotH) { image.set(x, py, grid) }
        }
        for px in margin...(margin + plotW) { image.set(px, height - margin, axis) }
        for py in margin...(margin + plotH) { image.set(margin, py, axis) }
        for s in series {
            for (a, b) in zip(s.points, s.points.dropFirst()) {
                drawLine(&image, pixel(a), pixel(b), s.color)
            }
            if s.points.count == 1 { let (x, y) = pixel(s.points[0]); image.set(x, y, s.color) }
        }
        return image
    }

    /// Bresenham's line, two pixels thick.
    private func drawLine(_ image: inout RGBImage, _ p0: (Int, Int), _ p1: (Int, Int), _ color: (UInt8, UInt8, UInt8)) {
        var (x0, y0) = p0
        let (x1, y1) = p1
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var error = dx + dy
        while true {
            image.set(x0, y0, color); image.set(x0, y0 + 1, color)
            if x0 == x1 && y0 == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x0 += sx }
            if e2 <= dx { error += dx; y0 += sy }
        }
    }
}
