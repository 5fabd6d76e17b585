using System.Text;
using DiscreteGrad.Experiments.Reporting;
using ScottPlot;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>CSV files, the PNG (a grid of simplex panels) and the report section of the simplex figure.</summary>
public static class SimplexReport
{
    /// <summary>
    /// Writes samples.csv (every sample of every panel), summary.csv (one row per panel) and figure-simplex.png into
    /// <paramref name="outDir"/>.
    /// </summary>
    public static void Write(SimplexConfig config, IReadOnlyList<SimplexPanel> panels, string outDir)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(panels);
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        Directory.CreateDirectory(outDir);
        var samples = Path.Combine(outDir, "samples.csv");
        using (var csv = new CsvWriter(samples, new[] { "row", "tau", "beta", "p1", "p2", "p3" }))
        {
            foreach (var p in panels)
                for (int i = 0; i < p.Points.GetLength(0); i++)
                    csv.WriteRow(p.Setting.Row, p.Setting.Tau, p.Setting.Beta, p.Points[i, 0], p.Points[i, 1], p.Points[i, 2]);
        }
        var summary = Path.Combine(outDir, "summary.csv");
        using (var csv = new CsvWriter(summary, new[] { "row", "tau", "beta", "near_corner_fraction", "corner1", "corner2", "corner3",
                   "corner_tv_to_uniform", "argmax1", "argmax2", "argmax3", "mean_max" }))
        {
            foreach (var p in panels)
                csv.WriteRow(p.Setting.Row, p.Setting.Tau, p.Setting.Beta, p.NearCornerFraction, p.CornerShares[0], p.CornerShares[1],
                    p.CornerShares[2], p.CornerTvToUniform, p.ArgmaxShares[0], p.ArgmaxShares[1], p.ArgmaxShares[2], p.MeanMax);
        }
        SavePng(Path.Combine(outDir, PngFile), config, panels);
    }

    /// <summary>File name of the figure in the cell's folder.</summary>
    public const string PngFile = "figure-simplex.png";

    /// <summary>The table rows (one per panel) shared by the markdown section and the console.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> Rows(IReadOnlyList<SimplexPanelSummary> panels)
    {
        ArgumentNullException.ThrowIfNull(panels);
        return panels.Select(p => (IReadOnlyList<string>)new[]
        {
            p.Setting.Row == "tau" ? "τ↓" : "β↑", R(p.Setting.Tau), R(p.Setting.Beta),
            F(p.MeanMax), F(p.NearCornerFraction),
            double.IsNaN(p.CornerShares[0]) ? "–" : string.Join("/", p.CornerShares.Select(c => F(c, 2))),
            double.IsNaN(p.CornerTvToUniform) ? "–" : F(p.CornerTvToUniform),
            string.Join("/", p.ArgmaxShares.Select(c => F(c, 2))),
        }).ToArray();
    }

    /// <summary>Headers of <see cref="Rows"/>.</summary>
    public static IReadOnlyList<string> Headers(double threshold) => new[]
    {
        "row", "τ", "β", "mean max p", $"max p > {R(threshold)}", "corners 1/2/3", "TV(corners, unif.)", "argmax 1/2/3",
    };

    private static void SavePng(string path, SimplexConfig config, IReadOnlyList<SimplexPanel> panels)
    {
        var plots = new List<Plot>();
        try
        {
            foreach (var p in panels) plots.Add(Panel(config, p));
            int columns = Math.Max(config.Taus.Length, config.Betas.Length);
            // Pad the shorter row with empty panels so the beta row starts on a new line.
            var ordered = new List<Plot>();
            var top = plots.Take(config.Taus.Length).ToList();
            var bottom = plots.Skip(config.Taus.Length).ToList();
            ordered.AddRange(top);
            for (int i = top.Count; i < columns; i++) ordered.Add(Blank(plots));
            ordered.AddRange(bottom);
            ReportPlotStyle.SavePanels(ordered, path, columns, panelWidth: 330, panelHeight: 350);
        }
        finally
        {
            foreach (var p in plots) p.Dispose();
        }
    }

    private static Plot Blank(List<Plot> owned)
    {
        var p = new Plot();
        p.Layout.Frameless();
        p.HideGrid();
        owned.Add(p);
        return p;
    }

    private static Plot Panel(SimplexConfig config, SimplexPanel panel)
    {
        var plot = new Plot();
        double h = Math.Sqrt(3) / 2;
        var outline = plot.Add.ScatterLine(new[] { 0.0, 1.0, 0.5, 0.0 }, new[] { 0.0, 0.0, h, 0.0 });
        outline.Color = Colors.Black;
        outline.LineWidth = 1.5f;

        // softmax(theta) (where every beta = 0 sample lies), for reference; drawn first so the samples stay visible.
        var probs = Softmax(config.Theta);
        var (sx, sy) = SimplexSamples.ToPlane(probs[0], probs[1], probs[2]);
        var star = plot.Add.Marker(sx, sy);
        star.MarkerShape = MarkerShape.Cross;
        star.MarkerSize = 10;
        star.MarkerLineWidth = 1.5f;
        star.Color = Colors.Black;

        int n = panel.Points.GetLength(0);
        var xs = new double[n];
        var ys = new double[n];
        for (int i = 0; i < n; i++) (xs[i], ys[i]) = SimplexSamples.ToPlane(panel.Points[i, 0], panel.Points[i, 1], panel.Points[i, 2]);
        var color = ReportPlotStyle.Series(panel.Setting.Row == "tau" ? 1 : 0).Color;
        var markers = plot.Add.Markers(xs, ys);
        markers.MarkerShape = MarkerShape.FilledCircle;
        markers.MarkerSize = 3;
        markers.Color = color.WithAlpha(0.25);

        Label(plot, $"1 (θ={R(config.Theta[0])})", 0.5, h + 0.03, Alignment.LowerCenter);
        Label(plot, $"2 (θ={R(config.Theta[1])})", 0.0, -0.03, Alignment.UpperLeft);
        Label(plot, $"3 (θ={R(config.Theta[2])})", 1.0, -0.03, Alignment.UpperRight);
        string Percent(double x) => (100 * x).ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
        string corners = double.IsNaN(panel.CornerShares[0]) ? "" : $"  (corners {string.Join("/", panel.CornerShares.Select(Percent))} %)";
        Label(plot, $"max p > {R(config.CornerThreshold)}: {Percent(panel.NearCornerFraction)}%{corners}", 0.5, -0.13, Alignment.UpperCenter);

        // The title as a text inside the data area: a frameless plot draws no title panel.
        var title = plot.Add.Text(panel.Setting.Row == "tau"
            ? $"τ = {R(panel.Setting.Tau)}  (β = {R(panel.Setting.Beta)})"
            : $"β = {R(panel.Setting.Beta)}  (τ = {R(panel.Setting.Tau)})", 0.5, h + 0.2);
        title.LabelFontSize = 16;
        title.LabelBold = true;
        title.LabelAlignment = Alignment.UpperCenter;
        plot.Axes.Frameless();
        plot.HideGrid();
        plot.Axes.SetLimits(-0.08, 1.08, -0.25, h + 0.22);
        return plot;
    }

    private static void Label(Plot plot, string text, double x, double y, Alignment alignment)
    {
        var t = plot.Add.Text(text, x, y);
        t.LabelFontSize = 12;
        t.LabelAlignment = alignment;
    }

    private static double[] Softmax(IReadOnlyList<double> theta)
    {
        double m = theta.Max();
        var e = theta.Select(t => Math.Exp(t - m)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    /// <summary>The report section: setup, figure, per-panel table and the reading of the numbers.</summary>
    public static string Markdown(SimplexConfig config, IReadOnlyList<SimplexPanelSummary> panels, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(panels);
        var probs = Softmax(config.Theta);
        var sb = new StringBuilder();
        sb.Append($"Samples y = softmax((θ + g) / τ), g ~ Gumbel(0, β), θ = ({string.Join(", ", config.Theta.Select(R))}), " +
                  $"{config.Samples} per panel from `discrete.functional.gumbel_softmax` (float64). Top row: τ annealing at β = {R(config.TopBeta)}; " +
                  $"bottom row: β increase at τ = {R(config.BottomTau)}. Every panel uses a fresh generator with seed {config.Seed}, so all " +
                  "panels are the same standard Gumbel draws, only scaled and tempered differently. Corner 1 (top) is the category with " +
                  $"θ = {R(config.Theta[0])}; the cross marks softmax(θ) = ({string.Join(", ", probs.Select(p => F(p)))}).\n\n");
        sb.Append($"![simplex samples]({pngPath})\n\n");
        sb.Append($"Rows: τ↓ = τ annealing, β↑ = β increase. \"Near a corner\": max p > {R(config.CornerThreshold)}. \"corners 1/2/3\": how the near-corner samples split over the 3 corners; " +
                  "TV(corners, unif.) = ½ Σ |share − 1/3| (0 = evenly spread, 2/3 = one corner). \"argmax 1/2/3\": the category of the " +
                  "largest entry over all samples (Gumbel-max with scale β samples softmax(θ/β), whatever τ).\n\n");
        sb.Append(MarkdownTable.Render(Headers(config.CornerThreshold), Rows(panels)));
        sb.Append('\n').Append(Reading(panels, probs)).Append('\n');
        return sb.ToString();
    }

    /// <summary>What the numbers show: the most discrete panel of each row and how evenly its corners are used.</summary>
    public static string Reading(IReadOnlyList<SimplexPanelSummary> panels, IReadOnlyList<double> softmaxTheta)
    {
        ArgumentNullException.ThrowIfNull(panels);
        ArgumentNullException.ThrowIfNull(softmaxTheta);
        var sb = new StringBuilder("Reading (computed from the table):\n\n");
        var tauRow = panels.Where(p => p.Setting.Row == "tau").OrderByDescending(p => p.Setting.Tau).ToArray();
        var betaRow = panels.Where(p => p.Setting.Row == "beta").OrderBy(p => p.Setting.Beta).ToArray();
        if (tauRow.Length > 0)
        {
            bool rising = tauRow.Zip(tauRow.Skip(1)).All(q => q.Second.NearCornerFraction >= q.First.NearCornerFraction);
            var last = tauRow[^1];
            sb.Append($"- τ annealing: the near-corner fraction goes from {F(tauRow[0].NearCornerFraction)} (τ = {R(tauRow[0].Setting.Tau)}) to " +
                      $"{F(last.NearCornerFraction)} (τ = {R(last.Setting.Tau)})" + (rising ? ", rising as τ falls" : ", not monotone in τ") +
                      $"; at the smallest τ the corners split {CornerText(last)} (TV to uniform {F(last.CornerTvToUniform)}), close to " +
                      $"softmax(θ) = {string.Join(" / ", softmaxTheta.Select(p => F(p, 2)))}.\n");
        }
        if (betaRow.Length > 0)
        {
            bool rising = betaRow.Zip(betaRow.Skip(1)).All(q => q.Second.NearCornerFraction >= q.First.NearCornerFraction);
            var last = betaRow[^1];
            sb.Append($"- β increase: the near-corner fraction goes from {F(betaRow[0].NearCornerFraction)} (β = {R(betaRow[0].Setting.Beta)}) to " +
                      $"{F(last.NearCornerFraction)} (β = {R(last.Setting.Beta)})" + (rising ? ", rising with β" : ", not monotone in β") +
                      $"; at the largest β the corners split {CornerText(last)} (TV to uniform {F(last.CornerTvToUniform)}).\n");
        }
        if (tauRow.Length > 0 && betaRow.Length > 0)
        {
            var a = tauRow[^1];
            var b = betaRow[^1];
            bool claim = b.CornerTvToUniform < a.CornerTvToUniform;
            sb.Append(claim
                ? $"- As in the paper, the β increase spreads its discrete samples more evenly over the corners than τ → 0 " +
                  $"(TV to uniform {F(b.CornerTvToUniform)} vs {F(a.CornerTvToUniform)}).\n"
                : $"- Unlike the paper's claim, the β increase does not spread its near-corner samples more evenly than τ → 0 here " +
                  $"(TV to uniform {F(b.CornerTvToUniform)} vs {F(a.CornerTvToUniform)}).\n");
        }
        return sb.ToString();
    }

    private static string CornerText(SimplexPanelSummary p)
        => double.IsNaN(p.CornerShares[0]) ? "(no near-corner samples)" : string.Join("/", p.CornerShares.Select(c => F(c, 2)));
}
