using System.Text;
using DiscreteGrad.Experiments.Reporting;
using ScottPlot;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>CSV files, the PNG (four panels) and the report section of the beta-vs-tau toy.</summary>
public static class BetaToyReport
{
    /// <summary>
    /// Writes curves.csv (per step and beta: mean and std over runs of |dL/dtheta|, theta_1 - theta_2 and p_1),
    /// summary.csv (<see cref="BetaToy.Summarize"/> per beta) and figure-beta-toy.png (four panels) into <paramref name="outDir"/>;
    /// returns the summaries.
    /// </summary>
    public static IReadOnlyList<BetaToySummary> Write(BetaToyConfig config, IReadOnlyList<BetaToyTrace> traces, string outDir)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(traces);
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        Directory.CreateDirectory(outDir);
        var curves = Path.Combine(outDir, "curves.csv");
        using (var csv = new CsvWriter(curves, new[] { "step", "beta", "grad_norm_mean", "grad_norm_std", "theta_gap_mean",
                   "theta_gap_std", "p1_mean", "p1_std" }))
        {
            foreach (var tr in traces)
            {
                var g = BetaToy.OverRuns(tr.GradNorm);
                var d = BetaToy.OverRuns(tr.ThetaGap);
                var p = BetaToy.OverRuns(tr.Prob1);
                for (int t = 0; t < tr.Steps; t++)
                    csv.WriteRow(t, tr.Beta, g.Mean[t], g.Std[t], d.Mean[t], d.Std[t], p.Mean[t], p.Std[t]);
            }
        }
        var summaries = traces.Select(BetaToy.Summarize).ToArray();
        var summary = Path.Combine(outDir, "summary.csv");
        using (var csv = new CsvWriter(summary, new[] { "beta", "early_grad_mean", "early_grad_std", "late_grad_mean", "late_grad_std",
                   "early_p1_mean", "early_p1_std", "final_gap_mean", "final_gap_std", "final_p1_mean" }))
        {
            foreach (var s in summaries)
                csv.WriteRow(s.Beta, s.EarlyGradMean, s.EarlyGradStd, s.LateGradMean, s.LateGradStd, s.EarlyProb1Mean, s.EarlyProb1Std,
                    s.FinalGapMean, s.FinalGapStd, s.FinalProb1Mean);
        }
        SavePng(Path.Combine(outDir, PngFile), config, traces);
        return summaries;
    }

    /// <summary>File name of the figure in the cell's folder.</summary>
    public const string PngFile = "figure-beta-toy.png";

    /// <summary>Bin width (in steps) of the plotted curves: max(1, steps / 50).</summary>
    public static int BinWidth(int steps) => Math.Max(1, steps / 50);

    /// <summary>
    /// Averages each run's values over consecutive bins of <paramref name="bin"/> steps (the last bin may be shorter), then
    /// takes mean and std over runs per bin; x is the bin's middle step.
    /// </summary>
    public static (double[] X, double[] Mean, double[] Std) Binned(double[,] values, int bin)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThan(bin, 1);
        int runs = values.GetLength(0), steps = values.GetLength(1), bins = (steps + bin - 1) / bin;
        var binned = new double[runs, bins];
        var x = new double[bins];
        for (int b = 0; b < bins; b++)
        {
            int from = b * bin, to = Math.Min(steps, from + bin);
            x[b] = (from + to - 1) / 2.0;
            for (int r = 0; r < runs; r++)
            {
                double s = 0;
                for (int t = from; t < to; t++) s += values[r, t];
                binned[r, b] = s / (to - from);
            }
        }
        var (mean, std) = BetaToy.OverRuns(binned);
        return (x, mean, std);
    }

    private static void SavePng(string path, BetaToyConfig config, IReadOnlyList<BetaToyTrace> traces)
    {
        int bin = BinWidth(config.Steps);
        LineSeries Series(BetaToyTrace tr, double[,] values, bool positive)
        {
            var (x, m, s) = Binned(values, bin);
            // On the log axis a band edge <= 0 cannot be drawn; mean / (1 + std/mean) keeps the band's lower edge positive
            // with the same relative width as the upper edge.
            var lo = m.Select((v, i) => positive && v - s[i] <= 0 ? v * v / (v + s[i]) : v - s[i]).ToArray();
            var hi = m.Select((v, i) => v + s[i]).ToArray();
            return new LineSeries($"β = {R(tr.Beta)}", x, m, lo, hi);
        }
        string binText = bin == 1 ? "" : $", {bin}-step bins";
        var panels = new List<Plot>
        {
            LinePlot.Create(new LinePlotLayout($"|dL/dθ| (mean ± std over {config.Runs} runs{binText})", "SGD step", "|dL/dθ|", LogY: true),
                traces.Select(t => Series(t, t.GradNorm, true)).ToArray()),
            LinePlot.Create(new LinePlotLayout("θ₁ − θ₂", "SGD step", "θ₁ − θ₂"),
                traces.Select(t => Series(t, t.ThetaGap, false)).ToArray()),
            LinePlot.Create(new LinePlotLayout($"p(class 1) = softmax(θ/τ)₁, τ = {R(config.Tau)}", "SGD step", "p₁"),
                traces.Select(t => Series(t, t.Prob1, false)).ToArray()),
            LinePlot.Create(new LinePlotLayout("|dL/dθ| against saturation (bin means)", "θ₁ − θ₂ (mean over runs)", "|dL/dθ|", LogY: true),
                traces.Select(t => new LineSeries($"β = {R(t.Beta)}", Binned(t.ThetaGap, bin).Mean, Binned(t.GradNorm, bin).Mean)).ToArray()),
        };
        try
        {
            ReportPlotStyle.SavePanels(panels, path, columns: 2, panelWidth: 640, panelHeight: 440);
        }
        finally
        {
            foreach (var p in panels) p.Dispose();
        }
    }

    /// <summary>The report section: setup, figure, per-beta table and the reading of the numbers.</summary>
    public static string Markdown(BetaToyConfig config, IReadOnlyList<BetaToySummary> summaries, string pngPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(summaries);
        int w = BetaToy.Window(config.Steps);
        var sb = new StringBuilder();
        sb.Append($"Model: y = softmax((θ + ε) / τ) with θ ∈ R², ε ~ Gumbel(0, β), τ = {R(config.Tau)}; loss = cross-entropy to the constant " +
                  $"target (1, 0), i.e. −log y₁; its gradient is dL/dθ = (y − (1, 0)) / τ. Plain SGD, learning rate {R(config.LearningRate)}, " +
                  $"{config.Steps} steps from θ = ({R(config.Initial.Theta1)}, {R(config.Initial.Theta2)}), {config.Runs} independent runs " +
                  $"per β (one noise draw per run and step). Every β uses a fresh generator with seed {config.Seed}, so all β see the same " +
                  "standard Gumbel draws, scaled by β. p₁ is the noise-free softmax(θ/τ)₁.\n\n");
        sb.Append($"![beta toy]({pngPath})\n\n");
        sb.Append($"Curves: mean over runs of the run's average over {BetaToyReport.BinWidth(config.Steps)}-step bins; bands: ± one std over runs " +
                  "(on the log axis the lower edge is mean²/(mean + std) where mean − std ≤ 0). Bottom right: the bin means of |dL/dθ| " +
                  "against the bin means of θ₁ − θ₂ (one point per bin), i.e. the gradient at a given degree of saturation.\n\n");
        sb.Append($"Windows: early = steps 0–{w - 1}, late = steps {config.Steps - w}–{config.Steps - 1}; a run's value is its mean over the " +
                  "window; mean ± std over runs.\n\n");
        sb.Append(MarkdownTable.Render(
            new[] { "β", "|dL/dθ| early", "|dL/dθ| late", "p₁ after early window", "θ₁ − θ₂ final", "1 − p₁ final", "late |dL/dθ| / late at β = 0" },
            summaries.Select(s => (IReadOnlyList<string>)new[]
            {
                R(s.Beta), Pm(s.EarlyGradMean, s.EarlyGradStd, config.Runs, G), Pm(s.LateGradMean, s.LateGradStd, config.Runs, G),
                Pm(s.EarlyProb1Mean, s.EarlyProb1Std, config.Runs, x => F(x)), Pm(s.FinalGapMean, s.FinalGapStd, config.Runs, x => F(x, 2)), G(1 - s.FinalProb1Mean),
                Ratio(s, summaries),
            })));
        sb.Append('\n').Append(Reading(summaries)).Append('\n');
        return sb.ToString();
    }

    /// <summary>A std below 1e-9 of |mean| is rounding noise of a deterministic quantity: 0.</summary>
    private static double Denoised(double std, double mean) => std <= 1e-9 * Math.Abs(mean) ? 0 : std;

    private static string Ratio(BetaToySummary s, IReadOnlyList<BetaToySummary> all)
    {
        var zero = all.FirstOrDefault(x => x.Beta == 0);
        return zero is null || zero.LateGradMean == 0 ? "–" : F(s.LateGradMean / zero.LateGradMean, 2);
    }

    /// <summary>What the numbers show, stated from the numbers themselves (orderings of the late gradient and the early spread).</summary>
    public static string Reading(IReadOnlyList<BetaToySummary> summaries)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        var sorted = summaries.OrderBy(s => s.Beta).ToArray();
        var sb = new StringBuilder("Reading (computed from the table):\n\n");
        bool lateIncreasing = sorted.Zip(sorted.Skip(1)).All(p => p.Second.LateGradMean > p.First.LateGradMean);
        var lo = sorted[0];
        var hi = sorted[^1];
        sb.Append($"- Late in training the gradient magnitude at β = {R(hi.Beta)} is {F(hi.LateGradMean / lo.LateGradMean, 2)}× that at β = {R(lo.Beta)}; " +
                  (lateIncreasing ? "it increases monotonically with β." : "it is not monotone in β over this grid.") + "\n");
        bool spreadIncreasing = sorted.Zip(sorted.Skip(1)).All(p => p.Second.EarlyGradStd >= p.First.EarlyGradStd);
        sb.Append($"- Early in training the spread over runs of |dL/dθ| is {G(Denoised(lo.EarlyGradStd, lo.EarlyGradMean))} at β = {R(lo.Beta)} and {G(Denoised(hi.EarlyGradStd, hi.EarlyGradMean))} at β = {R(hi.Beta)}" +
                  (spreadIncreasing ? " (non-decreasing in β): less noise for smaller β, as in the paper." : " (not monotone in β).") + "\n");
        var bestEarly = sorted.MaxBy(s => s.EarlyProb1Mean)!;
        sb.Append($"- After the early window the mean p₁ is highest at β = {R(bestEarly.Beta)} ({F(bestEarly.EarlyProb1Mean)}) and " +
                  $"{F(lo.EarlyProb1Mean)} at β = {R(lo.Beta)}" +
                  (bestEarly.Beta > lo.Beta
                      ? ": in the mean, noise speeds this toy up from the start (E[1 − y₁] grows with β once θ₁ > θ₂), so the paper's " +
                        "\"lower β works well early\" shows here only as lower variance, not as faster progress.\n"
                      : ".\n"));
        return sb.ToString();
    }
}
