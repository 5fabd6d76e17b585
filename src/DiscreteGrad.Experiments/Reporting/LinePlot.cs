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
/// <param name="Width">PNG width in pixels (the legend beside the data area included).</param>
/// <param name="Height">PNG height in pixels.</param>
/// <param name="Legend">The edge outside the data area where the legend goes.</param>
/// <param name="SkipConstant">Leave out series whose every y value is the same (<see cref="LinePlot.IsConstant"/>): a setting
/// logged as a metric, such as a fixed tau or beta, is no curve.</param>
/// <param name="FitTail">Fit the y axis to the points (bands included) in the last 90% of the x range
/// (<see cref="LinePlot.TailStart"/>), plus a 5% margin, so that the end of a long run is readable; the first tenth, where
/// a loss falls fastest, is still drawn and may leave the plot at its top or bottom.</param>
public sealed record LinePlotLayout(string Title, string XLabel, string YLabel, bool LogY = false, int Width = 900, int Height = 520,
    Edge Legend = Edge.Right, bool SkipConstant = false, bool FitTail = false);

/// <summary>Line plots with shaded bands in the reports' <see cref="ReportPlotStyle"/>, saved as PNG and SVG with ScottPlot 5.</summary>
public static class LinePlot
{
    /// <summary>
    /// Draws the series (each with its band, if any) and saves a PNG and an SVG beside it, creating the directory; returns
    /// the paths written, none when <see cref="LinePlotLayout.SkipConstant"/> left no series to draw.
    /// </summary>
    public static IReadOnlyList<string> SavePng(string path, LinePlotLayout layout, IReadOnlyList<LineSeries> series)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(series);
        if (layout.Width < 100 || layout.Height < 100)
            throw new ArgumentOutOfRangeException(nameof(layout), "the PNG must be at least 100 x 100 pixels.");
        if (layout.SkipConstant && series.All(IsConstant)) return Array.Empty<string>();
        using var plot = Create(layout, series);
        return ReportPlotStyle.Save(plot, path, layout.Width, layout.Height);
    }

    /// <summary>
    /// Whether a series is trivial to plot: all its finite y values are one value (and its band, if any, has no width
    /// there). A series with fewer than two finite values counts as constant.
    /// </summary>
    public static bool IsConstant(LineSeries series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var ys = series.Y.Where(double.IsFinite).ToArray();
        if (ys.Length < 2) return true;
        if (ys.Any(y => y != ys[0])) return false;
        return series.Lower is null || series.Upper is null
            || (series.Lower.Where(double.IsFinite).All(v => v == ys[0]) && series.Upper.Where(double.IsFinite).All(v => v == ys[0]));
    }

    /// <summary>
    /// Builds the plot of <see cref="SavePng"/> without saving it (the caller owns and disposes it), e.g. to place it as
    /// one panel of a grid (<see cref="ReportPlotStyle.SavePanels"/>). <see cref="LinePlotLayout.Width"/> and
    /// <see cref="LinePlotLayout.Height"/> are not used here.
    /// </summary>
    /// <param name="layout">Title, axis labels, log-y, the legend's edge, whether constant series are left out.</param>
    /// <param name="series">The lines, each with its band, if any; series i has the look <see cref="ReportPlotStyle.Series"/>(i),
    /// also when series before it are left out.</param>
    public static Plot Create(LinePlotLayout layout, IReadOnlyList<LineSeries> series)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(series);
        foreach (var s in series) Check(s);

        var plot = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (layout.SkipConstant && IsConstant(s)) continue;
            var color = ReportPlotStyle.Series(i).Color;
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
            ReportPlotStyle.Apply(scatter, i);
            // Earlier series are drawn wider (up to 2.5 px more), so a later series that coincides with one leaves it
            // visible as a halo.
            scatter.LineWidth = 2.0f + Math.Min(2.5f, 0.4f * (series.Count - 1 - i));
            scatter.LegendText = s.Label;
        }

        plot.Title(layout.Title);
        plot.XLabel(layout.XLabel);
        plot.YLabel(layout.YLabel);
        if (layout.LogY)
        {
            var ys = series.Where(sr => !(layout.SkipConstant && IsConstant(sr)))
                .SelectMany(sr => Points(sr.X, sr.Lower ?? sr.Y, sr.Upper ?? sr.Y, true).SelectMany(q => new[] { q.Lo, q.Hi })).ToArray();
            if (ys.Length > 0)
            {
                var ticks = new ScottPlot.TickGenerators.NumericManual();
                foreach (var (position, label, major) in LogTicks(ys.Min(), ys.Max()))
                {
                    if (major) ticks.AddMajor(position, label);
                    else ticks.AddMinor(position);
                }
                plot.Axes.Left.TickGenerator = ticks;
            }
            plot.Grid.MajorLineColor = Colors.Black.WithAlpha(0.15);
            plot.Grid.MinorLineColor = Colors.Black.WithAlpha(0.05);
            plot.Grid.MinorLineWidth = 1;
        }
        if (layout.FitTail && TailStart(series) is double from)
        {
            var tail = series.Where(sr => !(layout.SkipConstant && IsConstant(sr)))
                .SelectMany(sr => Points(sr.X.Select(x => x >= from ? x : double.NaN).ToArray(), sr.Lower ?? sr.Y, sr.Upper ?? sr.Y, layout.LogY))
                .ToArray();
            if (tail.Length > 0)
            {
                double lo = tail.Min(q => Math.Min(q.Lo, q.Hi)), hi = tail.Max(q => Math.Max(q.Lo, q.Hi));
                double pad = hi > lo ? 0.05 * (hi - lo) : Math.Max(1e-9, 0.05 * Math.Abs(hi));
                plot.Axes.SetLimitsY(lo - pad, hi + pad);
            }
        }
        ReportPlotStyle.PlaceLegend(plot, layout.Legend);
        return plot;
    }

    /// <summary>
    /// Ticks of a log10 axis whose data span [lo, hi] (in log10 units). The labelled (major) ticks are the first of these
    /// sets that puts at least three labels in the span: m x 10^k for m in {1}, {1, 2, 5}, {1, ..., 9}, {1.0, 1.1, ..., 9.9};
    /// the next finer set gives the unlabelled minor ticks; at the finest set only every n-th tick is labelled, so that at
    /// most <see cref="MaxLogLabels"/> labels are drawn. Positions are log10 values; labels are the values themselves.
    /// </summary>
    public static IReadOnlyList<(double Position, string Label, bool Major)> LogTicks(double lo, double hi)
    {
        if (!double.IsFinite(lo) || !double.IsFinite(hi) || hi < lo)
            throw new ArgumentException($"need finite lo <= hi (got {lo}, {hi}).");
        double pad = Math.Max(0.02, 0.05 * (hi - lo));
        lo -= pad;
        hi += pad;
        int k0 = (int)Math.Floor(lo), k1 = (int)Math.Ceiling(hi);
        var levels = new[]
        {
            new[] { 1.0 },
            new[] { 1.0, 2, 5 },
            Enumerable.Range(1, 9).Select(m => (double)m).ToArray(),
            Enumerable.Range(10, 90).Select(m => m / 10.0).ToArray(),
        };
        for (int level = 0; level < levels.Length; level++)
        {
            var minorSet = level + 1 < levels.Length ? levels[level + 1] : levels[level];
            var result = new List<(double, string, bool)>();
            for (int k = k0; k <= k1; k++)
            {
                foreach (var m in minorSet.Union(levels[level]).OrderBy(x => x))
                {
                    double v = m * Math.Pow(10, k), pos = Math.Log10(v);
                    if (pos < lo || pos > hi) continue;
                    bool major = levels[level].Contains(m);
                    result.Add((pos, major ? v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture) : "", major));
                }
            }
            int labels = result.Count(t => t.Item3);
            if (level < levels.Length - 1 && labels < 3) continue;
            if (labels > MaxLogLabels && level == levels.Length - 1)
            {
                int every = (int)Math.Ceiling(labels / (double)MaxLogLabels);
                var thinned = new List<(double, string, bool)>(result.Count);
                int j = 0;
                foreach (var t in result)
                {
                    bool keep = t.Item3 && j++ % every == 0;
                    thinned.Add((t.Item1, keep ? t.Item2 : "", keep));
                }
                return thinned;
            }
            return result;
        }
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>
    /// The x from which the last <c>1 - fraction</c> of the series' finite x range starts: lo + fraction (hi - lo) over all
    /// x values (where <see cref="LinePlotLayout.FitTail"/> starts); null when no series has a finite x.
    /// </summary>
    public static double? TailStart(IReadOnlyList<LineSeries> series, double fraction = 0.1)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (!(fraction >= 0 && fraction < 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "must be in [0, 1).");
        var xs = series.SelectMany(s => s.X).Where(double.IsFinite).ToArray();
        return xs.Length == 0 ? null : xs.Min() + fraction * (xs.Max() - xs.Min());
    }

    /// <summary>Most labels on a log axis (see <see cref="LogTicks"/>).</summary>
    public const int MaxLogLabels = 10;

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
