import Foundation
import RNNEngine
import TestSupport
import XCTest

@testable import EngineSupport

/// Every kind of plot renders with its text and decodes as a PNG of the expected size.
final class PlotTests: TemporaryDirectoryTestCase {
    private func inkRows(_ image: RGBImage, in rows: Range<Int>, columns: Range<Int>) -> Int {
        var count = 0
        for y in rows {
            for x in columns {
                let k = 3 * (y * image.width + x)
                if image.pixels[k] < 100 && image.pixels[k + 1] < 100 && image.pixels[k + 2] < 100 { count += 1 }
            }
        }
        return count
    }

    /// A short run's one validation, at the last step and above the training curve, used to sit
    /// on the plot's right edge under the legend: a dot nobody saw.
    func testALoneValidationPointIsVisibleAndTheLegendMovesAway() throws {
        let orange = LineChart.palette[1]
        let chart = LineChart(
            series: [
                LineChart.Series(
                    points: [(1, 2.7046), (2, 2.7063), (3, 2.7033)], color: LineChart.palette[0], name: "training"),
                LineChart.Series(points: [(3, 2.7065)], color: orange, name: "validation")
            ], title: "loss", xLabel: "step", yLabel: "loss")
        let image = chart.render()
        var marker = 0, legendSample = 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let k = 3 * (y * image.width + x)
                guard (image.pixels[k], image.pixels[k + 1], image.pixels[k + 2]) == orange else { continue }
                if x > 700 { marker += 1 } else { legendSample += 1 }
            }
        }
        XCTAssertGreaterThanOrEqual(marker, 40, "the point's marker, right of the legend's sample line")
        XCTAssertGreaterThan(legendSample, 0, "the legend's sample line")
    }

    func testLossChartHasTitleAxesLegendAndDecodes() throws {
        let chart = LineChart(
            series: [
                LineChart.Series(
                    points: (1...50).map { (Double($0), 4 / Double($0)) }, color: LineChart.palette[0], name: "training"
                ),
                LineChart.Series(
                    points: stride(from: 10, through: 50, by: 10).map { (Double($0), 5 / Double($0)) },
                    color: LineChart.palette[1], name: "validation")
            ], title: "loss", xLabel: "step", yLabel: "loss")
        let path = directory + "/loss.png"
        try chart.render().writePNG(to: path)
        let image = try RGBImage(pngFile: path)
        XCTAssertEqual(image.width, 800)
        XCTAssertEqual(image.height, 500)
        XCTAssertGreaterThan(inkRows(image, in: 10..<24, columns: 300..<500), 20, "the title is drawn")
        XCTAssertGreaterThan(inkRows(image, in: 440..<500, columns: 100..<800), 50, "x tick values and label")
        XCTAssertGreaterThan(inkRows(image, in: 40..<440, columns: 0..<30), 20, "the y label, written upwards")
        // The legend's second entry: text in the top right of the plot.
        XCTAssertGreaterThan(inkRows(image, in: 60..<100, columns: 600..<790), 20, "the legend")
    }

    func testLogarithmicAxisForDataOverDecades() {
        let axis = Axis.logarithmic(3e-7, 2.5)
        XCTAssertEqual(axis.ticks.first ?? 0, 1e-7, accuracy: 1e-20)
        XCTAssertEqual(axis.ticks.last ?? 0, 10, accuracy: 1e-9)
        XCTAssertEqual(LineChart.label(1e-5, axis: axis), "1e-5")
        XCTAssertEqual(LineChart.label(0.01, axis: axis), "0.01")
        XCTAssertEqual(LineChart.label(100, axis: axis), "100")
        let linear = Axis.linear(0.3, 4.2)
        XCTAssertEqual(linear.step, 1)
        XCTAssertEqual(linear.ticks, [1, 2, 3, 4])
        XCTAssertEqual(LineChart.label(2.5, axis: Axis.linear(2.1, 2.9)), "2.5")
        var chart = LineChart(series: [
            LineChart.Series(
                points: (0..<64).map { (Double($0), pow(10, -Double($0) / 8)) }, color: LineChart.palette[0])
        ])
        chart.title = "gradient"
        XCTAssertEqual(chart.render().width, 800)
    }

    func testBadPNGsAreNamed() throws {
        let text = directory + "/text.png"
        try "not an image".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RGBImage(pngFile: text)) { XCTAssertTrue("\($0)".contains("text.png"), "\($0)") }
        XCTAssertThrowsError(try RGBImage(pngFile: directory + "/missing.png")) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
        // A valid PNG cut short.
        let whole = directory + "/whole.png"
        try RGBImage(width: 64, height: 64, background: (10, 200, 30)).writePNG(to: whole)
        let data = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = directory + "/cut.png"
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try RGBImage(pngFile: cut)) { XCTAssertTrue("\($0)".contains("cut.png"), "\($0)") }
        let back = try RGBImage(pngFile: whole)
        XCTAssertEqual(Array(back.pixels.prefix(3)), [10, 200, 30])
    }
}
