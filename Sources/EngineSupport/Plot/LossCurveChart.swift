import RNNEngine

/// The training loop's `loss.png`: training loss in the first colour, validation loss in the
/// second, against steps.
public struct LossCurveChart: LossCurvePlotter {
    public init() {}

    public func plot(_ curves: LossCurves, to path: String) throws {
        var chart = LineChart(
            series: [LineChart.Series(points: curves.training, color: LineChart.palette[0], name: "training")],
            title: curves.title, xLabel: "step", yLabel: "loss (\(curves.unit))")
        if !curves.validation.isEmpty {
            chart.series.append(
                LineChart.Series(points: curves.validation, color: LineChart.palette[1], name: "validation"))
        }
        try chart.render().writePNG(to: path)
    }
}
