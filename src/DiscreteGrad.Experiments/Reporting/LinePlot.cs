using ScottPlot;

namespace DiscreteGrad.Experiments.Reporting;

/// <summary>One line of a <see cref="LinePlot"/>, with an optional shaded band (e.g. mean +- std over seeds).</summary>
/// <param name="Label">Legend text.</param>
/// <param name="X">x values.</param>
/// <param name="Y">y values (the line), same length as <paramref name="X"/>.</param>
/// <param name="Lower">Lower edge of the band, or null for no band.</param>
/// <param name="Upper">Upper edge of the band, or null for no band.</param>
public sealed record LineSeries(string Label, double[] X, double[] Y, double[]? Lower = null, double[]? Upper = null);

/// <summary>Layout of a <see cref="LinePlot"/>.</summary>
/// <param name="Title">Title above the plot.</param>
/// <param name="XLabel">x axis label.</param>
/// <param name="YLabel">y axis label.</param>
/// <param name="LogY">Draw y on a log10 scale (values &lt;= 0 or non-finite are left out).</param>
/// <param name="Width">PNG width in pixels.</param>
/// <param name="Height">PNG height in pixels.</param>
public sealed record LinePlotLayout(string Title, string XLabel, string YLabel, bool LogY = false, int Width = 800, int Height = 520);

/// <summary>Line plots with shaded bands, saved as PNG with ScottPlot 5.</summary>
public static class LinePlot
{
    /// <summary>Draws the series (each with its band, if any) and saves a PNG, creating the directory.</summary>
    public static void SavePng(string path, LinePlotLayout layout, IReadOnlyList<LineSeries> series)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(series);
        if (layout.Width < 100 || layout.Height < 100)
            throw new ArgumentOutOfRangeException(nameof(layout), "the PNG must be at least 100 x 100 pixels.");
        foreach (var s in series) Check(s);

        using var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            var color = palette.GetColor(i);
            if (s.Lower is not null && s.Upper is not null)
            {
                var band = Points(s.X, s.Lower, s.Upper, layout.LogY);
                if (band.Count > 1)
                {
                    var fill = plot.Add.FillY(band.Select(b => b.X).ToArray(), band.Select(b => b.Lo).ToArray(), band.Select(b => b.Hi).ToArray());
                    fill.FillColor = color.WithAlpha(0.18);
                    fill.LineWidth = 0;
                }
            }
            var line = Points(s.X, s.Y, s.Y, layout.LogY);
            var scatter = plot.Add.ScatterLine(line.Select(b => b.X).ToArray(), line.Select(b => b.Lo).ToArray());
            scatter.Color = color;
            scatter.LineWidth = 2;
            scatter.LegendText = s.Label;
        }

        plot.Title(layout.Title);
        plot.XLabel(layout.XLabel);
        plot.YLabel(layout.YLabel);
        if (layout.LogY)
        {
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                IntegerTicksOnly = true,
                LabelFormatter = y => "1e" + Math.Round(y).ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.15);
            plot.Grid.MinorLineColor = Colors.Black.WithAlpha(0.05);
            plot.Grid.MinorLineWidth = 1;
        }
        plot.ShowLegend(Alignment.UpperRight);

        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        plot.SavePng(path, layout.Width, layout.Height);
    }

    private static void Check(LineSeries s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.X.Length != s.Y.Length)
            throw new ArgumentException($"series '{s.Label}': X and Y must have the same length ({s.X.Length} vs {s.Y.Length}).");
        if ((s.Lower is null) != (s.Upper is null))
            throw new ArgumentException($"series '{s.Label}': give both Lower and Upper, or neither.");
        if (s.Lower is not null && (s.Lower.Length != s.X.Length || s.Upper!.Length != s.X.Length))
            throw new ArgumentException($"series '{s.Label}': Lower and Upper must have the length of X ({s.X.Length}).");
    }

    /// <summary>The points to draw, in plot coordinates (log10 for a log axis), leaving out undrawable ones.</summary>
    private static List<(double X, double Lo, double Hi)> Points(double[] x, double[] lo, double[] hi, bool logY)
    {
        var result = new List<(double, double, double)>(x.Length);
        for (int i = 0; i < x.Length; i++)
        {
            double a = lo[i], b = hi[i];
            if (logY)
            {
                if (!(a > 0) || !(b > 0)) continue;
                a = Math.Log10(a);
                b = Math.Log10(b);
            }
            if (!double.IsFinite(x[i]) || !double.IsFinite(a) || !double.IsFinite(b)) continue;
            result.Add((x[i], a, b));
        }
        return result;
    }
}
