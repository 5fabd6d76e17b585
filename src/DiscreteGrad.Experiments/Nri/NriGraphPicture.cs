using DiscreteGrad.Experiments.Reporting;
using ScottPlot;

namespace DiscreteGrad.Experiments.Nri;

/// <summary>
/// One trajectory's layout with two trees drawn over it: the vertex tracks of all frames (faint), the vertices at the
/// last frame (numbered dots), the true tree (thick grey lines) and the inferred tree (thin coloured lines: solid where the
/// edge is also true, dashed where it is not).
/// </summary>
public static class NriGraphPicture
{
    /// <summary>Saves the picture as PNG (and SVG beside it); returns the paths.</summary>
    /// <param name="path">PNG path.</param>
    /// <param name="title">Title.</param>
    /// <param name="positions">Positions [n, T, 2] (vertex, frame, coordinate), flattened.</param>
    /// <param name="n">Vertices.</param>
    /// <param name="truth">True tree [m], edge-list order, 0/1.</param>
    /// <param name="inferred">Inferred tree [m], edge-list order, 0/1.</param>
    public static IReadOnlyList<string> Save(string path, string title, double[] positions, int n, double[] truth, double[] inferred)
    {
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(inferred);
        Guard.AtLeast(n, 2, nameof(n));
        int m = n * (n - 1) / 2;
        if (truth.Length != m || inferred.Length != m)
            throw new ArgumentException($"truth and inferred must have n (n - 1) / 2 = {m} entries (got {truth.Length}, {inferred.Length}).", nameof(truth));
        if (positions.Length % (2 * n) != 0 || positions.Length == 0)
            throw new ArgumentException($"positions must have n * T * 2 entries for n = {n} (got {positions.Length}).", nameof(positions));
        int frames = positions.Length / (2 * n);
        double X(int i, int t) => positions[(i * frames + t) * 2];
        double Y(int i, int t) => positions[(i * frames + t) * 2 + 1];

        using var plot = new Plot();
        var inferredColor = ReportPlotStyle.Colors[0];
        for (int i = 0; i < n; i++)
        {
            var track = plot.Add.ScatterLine(Enumerable.Range(0, frames).Select(t => X(i, t)).ToArray(), Enumerable.Range(0, frames).Select(t => Y(i, t)).ToArray());
            track.Color = Colors.Gray.WithAlpha(0.35);
            track.LineWidth = 1;
        }
        int last = frames - 1, e = 0, correct = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++, e++)
            {
                if (truth[e] != 0)
                {
                    var line = plot.Add.Line(X(i, last), Y(i, last), X(j, last), Y(j, last));
                    line.Color = Colors.Gray.WithAlpha(0.6);
                    line.LineWidth = 7;
                }
                if (inferred[e] != 0)
                {
                    var line = plot.Add.Line(X(i, last), Y(i, last), X(j, last), Y(j, last));
                    line.Color = inferredColor;
                    line.LineWidth = 2.5f;
                    if (truth[e] == 0) line.LinePattern = LinePattern.Dashed;
                    else correct++;
                }
            }
        for (int i = 0; i < n; i++)
        {
            var dot = plot.Add.Marker(X(i, last), Y(i, last));
            dot.MarkerShape = MarkerShape.FilledCircle;
            dot.MarkerSize = 16;
            dot.Color = ReportPlotStyle.Colors[1];
            var label = plot.Add.Text(i.ToString(System.Globalization.CultureInfo.InvariantCulture), X(i, last), Y(i, last));
            label.LabelFontColor = Colors.White;
            label.LabelFontSize = 10;
            label.LabelBold = true;
            label.LabelAlignment = Alignment.MiddleCenter;
        }
        plot.Title($"{title}: {correct} of {n - 1} edges correct");
        plot.Axes.SquareUnits();
        plot.HideGrid();
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "true tree", LineColor = Colors.Gray.WithAlpha(0.6), LineWidth = 7 });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "inferred (MAP) tree; dashed: not in the true tree", LineColor = inferredColor, LineWidth = 2.5f });
        plot.ShowLegend(Edge.Bottom);
        return ReportPlotStyle.Save(plot, path, 640, 700);
    }
}
