using System.Text;
using DiscreteGrad.Experiments.Reporting;
using ScottPlot;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>CSV files, the PNG (one bar panel per temperature and a summary panel) and the report section of the
/// temperature experiment.</summary>
public static class TemperatureReport
{
    /// <summary>
    /// Writes distributions.csv (per tau and category: score, softmax, mean soft sample and its standard error, argmax share,
    /// tempered-categorical share), summary.csv (one row per tau) and figure-temperature.png into <paramref name="outDir"/>.
    /// </summary>
    public static void Write(TemperatureResults results, string outDir)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        Directory.CreateDirectory(outDir);
        var dist = Path.Combine(outDir, "distributions.csv");
        using (var csv = new CsvWriter(dist, new[] { "tau", "category", "score", "softmax", "mean_soft", "mean_soft_se", "argmax_share",
                   "tempered_share" }))
        {
            foreach (var r in results.PerTau)
                for (int k = 0; k < results.Scores.Length; k++)
                    csv.WriteRow(r.Tau, k, results.Scores[k], results.Softmax[k], r.MeanSoft[k], r.StandardError[k], r.ArgmaxShares[k], r.Tempered[k]);
        }
        var summary = Path.Combine(outDir, "summary.csv");
        using (var csv = new CsvWriter(summary, new[] { "tau", "tv_mean_soft_softmax", "noise_level", "tv_mean_soft_uniform", "mean_max",
                   "tv_argmax_softmax", "tv_tempered_softmax" }))
        {
            var uniform = Uniform(results.Scores.Length);
            foreach (var r in results.PerTau)
                csv.WriteRow(r.Tau, TemperatureExperiment.TotalVariation(r.MeanSoft, results.Softmax), r.NoiseLevel,
                    TemperatureExperiment.TotalVariation(r.MeanSoft, uniform), r.MeanMax,
                    TemperatureExperiment.TotalVariation(r.ArgmaxShares, results.Softmax), TemperatureExperiment.TotalVariation(r.Tempered, results.Softmax));
        }
        SavePng(Path.Combine(outDir, PngFile), results);
    }

    /// <summary>File name of the figure in the cell's folder.</summary>
    public const string PngFile = "figure-temperature.png";

    /// <summary>Headers of <see cref="Rows"/>.</summary>
    public static IReadOnlyList<string> Headers { get; } = new[]
    {
        "τ", "TV(mean soft, softmax)", "MC noise ½ΣSE", "TV(mean soft, uniform)", "mean max p", "TV(argmax, softmax)",
        "TV(Cat(softmax(s/τ)), softmax)",
    };

    /// <summary>The table rows (one per tau) shared by the markdown section and the console.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Rows(TemperatureResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var uniform = Uniform(results.Scores.Length);
        return results.PerTau.Select(r => (IReadOnlyList<string>)new[]
        {
            R(r.Tau),
            F(TemperatureExperiment.TotalVariation(r.MeanSoft, results.Softmax), 4),
            F(r.NoiseLevel, 4),
            F(TemperatureExperiment.TotalVariation(r.MeanSoft, uniform), 4),
            F(r.MeanMax),
            F(TemperatureExperiment.TotalVariation(r.ArgmaxShares, results.Softmax), 4),
            F(TemperatureExperiment.TotalVariation(r.Tempered, results.Softmax), 4),
        }).ToArray();
    }

    private static double[] Uniform(int k) => Enumerable.Repeat(1.0 / k, k).ToArray();

    /// <summary>Categories by decreasing score (the order of the bars).</summary>
    public static int[] ByScore(IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
    }

    private static void SavePng(string path, TemperatureResults results)
    {
        var colors = new[] { Colors.Gray, ReportPlotStyle.Series(1).Color, ReportPlotStyle.Series(0).Color };
        var names = new[] { "softmax(s)", "mean Gumbel-softmax sample", "Cat(softmax(s/τ)) histogram" };
        var order = ByScore(results.Scores);
        double ymax = results.PerTau.SelectMany(r => r.MeanSoft.Concat(r.Tempered)).Concat(results.Softmax).Max();
        var plots = new List<Plot>();
        try
        {
            foreach (var r in results.PerTau)
            {
                var plot = new Plot();
                var series = new[] { results.Softmax, r.MeanSoft, r.Tempered };
                var bars = new List<Bar>();
                for (int j = 0; j < order.Length; j++)
                    for (int s = 0; s < series.Length; s++)
                        bars.Add(new Bar
                        {
                            Position = j + (s - 1) * 0.27,
                            Value = series[s][order[j]],
                            Size = 0.27,
                            FillColor = colors[s],
                            LineWidth = 0,
                        });
                plot.Add.Bars(bars);
                plot.Title($"τ = {R(r.Tau)}");
                plot.XLabel("category (by decreasing score)");
                plot.YLabel("probability");
                plot.Axes.SetLimits(-0.6, order.Length - 0.4, 0, ymax * 1.08);
                var ticks = new ScottPlot.TickGenerators.NumericManual();
                for (int j = 0; j < order.Length; j++) ticks.AddMajor(j, (order[j] + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                plot.Axes.Bottom.TickGenerator = ticks;
                // The legend on every panel, below it: the panels keep data areas of one size.
                for (int s = 0; s < names.Length; s++)
                    plot.Legend.ManualItems.Add(new LegendItem { LabelText = names[s], FillColor = colors[s] });
                ReportPlotStyle.PlaceLegend(plot, Edge.Bottom);
                plots.Add(plot);
            }
            plots.Add(SummaryPanel(results));
            ReportPlotStyle.SavePanels(plots, path, columns: 4, panelWidth: 440, panelHeight: 360);
        }
        finally
        {
            foreach (var p in plots) p.Dispose();
        }
    }

    private static Plot SummaryPanel(TemperatureResults results)
    {
        var x = results.PerTau.Select(r => Math.Log10(r.Tau)).ToArray();
        var uniform = Uniform(results.Scores.Length);
        var series = new[]
        {
            new LineSeries("TV(mean soft, softmax)", x, results.PerTau.Select(r => TemperatureExperiment.TotalVariation(r.MeanSoft, results.Softmax)).ToArray()),
            new LineSeries("TV(mean soft, uniform)", x, results.PerTau.Select(r => TemperatureExperiment.TotalVariation(r.MeanSoft, uniform)).ToArray()),
            new LineSeries("TV(Cat(softmax(s/τ)), softmax)", x, results.PerTau.Select(r => TemperatureExperiment.TotalVariation(r.Tempered, results.Softmax)).ToArray()),
            new LineSeries("mean max p", x, results.PerTau.Select(r => r.MeanMax).ToArray()),
        };
        var plot = LinePlot.Create(new LinePlotLayout("summary over τ", "τ (log scale)", "value", Legend: Edge.Bottom), series);
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        foreach (var r in results.PerTau) ticks.AddMajor(Math.Log10(r.Tau), R(r.Tau));
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsY(0, 1.05);
        return plot;
    }

    /// <summary>The report section: setup, figure, per-tau table and the reading of the numbers.</summary>
    public static string Markdown(TemperatureResults results, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(results);
        var c = results.Config;
        var sb = new StringBuilder();
        sb.Append($"{c.Categories} scores s ~ N(0, {R(c.ScoreScale)}²) (seed {c.Seed}); for each τ, {c.Samples} Gumbel-softmax samples " +
                  "y = softmax((s + g) / τ), g ~ Gumbel(0, 1) (`discrete.functional.gumbel_softmax`, float64, the same standard Gumbel draws at every τ), " +
                  $"and, for the slides' reading of \"sampling at temperature τ\", {c.Samples} draws from Cat(softmax(s / τ)) " +
                  "(Gumbel-max on s / τ). Bars are ordered by decreasing score; the labels are the category numbers.\n\n");
        sb.Append("Scores: ").Append(string.Join(", ", results.Scores.Select(s => F(s, 3)))).Append("; softmax(s): ")
          .Append(string.Join(", ", results.Softmax.Select(p => F(p, 3)))).Append(".\n\n");
        sb.Append($"![temperature experiment]({pngPath})\n\n");
        sb.Append("Columns: TV = total variation distance ½ Σ |p − q|. \"MC noise ½ΣSE\": ½ Σ_k of the standard error of the mean soft sample; " +
                  "a TV that is pure Monte Carlo noise is about 0.8 of it. \"TV(argmax, softmax)\": the share of samples whose largest entry " +
                  "is each category (argmax((s + g) / τ) = argmax(s + g), so τ plays no part). The last column is the slides' experiment.\n\n");
        sb.Append(MarkdownTable.Render(Headers, Rows(results)));
        sb.Append('\n').Append(Reading(results)).Append('\n');
        return sb.ToString();
    }

    /// <summary>What the numbers show, stated from the numbers themselves.</summary>
    public static string Reading(TemperatureResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var uniform = Uniform(results.Scores.Length);
        var sorted = results.PerTau.OrderBy(r => r.Tau).ToArray();
        var lo = sorted[0];
        var hi = sorted[^1];
        double tvLo = TemperatureExperiment.TotalVariation(lo.MeanSoft, results.Softmax);
        double tvHi = TemperatureExperiment.TotalVariation(hi.MeanSoft, uniform);
        double maxDevHi = hi.MeanSoft.Max(m => Math.Abs(m - 1.0 / results.Scores.Length));
        var sb = new StringBuilder("Reading (computed from the table):\n\n");
        sb.Append($"- τ = {R(lo.Tau)}: the soft samples are one-hot (mean max p = {F(lo.MeanMax, 4)}) and their mean is softmax(s) up to Monte Carlo " +
                  $"noise: TV = {F(tvLo, 4)} = {F(tvLo / lo.NoiseLevel, 2)} × the noise level ½ΣSE = {F(lo.NoiseLevel, 4)}.\n");
        sb.Append($"- τ = {R(hi.Tau)}: the mean soft sample is uniform up to {G(maxDevHi)} per category (TV to uniform {G(tvHi)}); " +
                  $"every sample is itself nearly uniform (mean max p = {F(hi.MeanMax, 4)}, vs 1/{results.Scores.Length}).\n");
        var one = results.PerTau.FirstOrDefault(r => r.Tau == 1.0);
        if (one is not null)
            sb.Append($"- τ = 1: the mean soft sample is not softmax(s) (TV {F(TemperatureExperiment.TotalVariation(one.MeanSoft, results.Softmax), 4)}, " +
                      $"{F(TemperatureExperiment.TotalVariation(one.MeanSoft, results.Softmax) / one.NoiseLevel, 0)} × the noise level): a soft sample " +
                      "is flatter than a one-hot one, so its mean is flatter than softmax(s). Only the hard samples (the argmax column) " +
                      "follow softmax(s), at every τ.\n");
        sb.Append("- The slides say that at τ = 1 the samples follow softmax(s), that smaller τ over-represents the likely categories " +
                  "(only the argmax at τ = 0.001) and that larger τ flattens the distribution towards uniform. That is the last column, " +
                  "sampling from Cat(softmax(s/τ)) (softmax with temperature, i.e. Gumbel-max with scale β = τ): its TV to softmax(s) is " +
                  $"{string.Join(", ", sorted.Select(r => $"{F(TemperatureExperiment.TotalVariation(r.Tempered, results.Softmax), 3)} (τ = {R(r.Tau)})"))}. " +
                  "For the mean of Gumbel-softmax samples the low-τ end is the other way round: τ → 0 recovers softmax(s) exactly, not the argmax.\n");
        return sb.ToString();
    }
}
