using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Reporting;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>Paths of the files written by <see cref="PolynomialReport.WriteAll"/>.</summary>
/// <param name="CurvesCsv">Learning curves of every run.</param>
/// <param name="FinalCsv">Final values of every run.</param>
/// <param name="SummaryCsv">Mean +- std per (estimator, p).</param>
/// <param name="Plots">The PNGs in the output folder, one per p.</param>
/// <param name="DocsPlots">Copies of the PNGs next to the markdown report (empty when no report was written).</param>
/// <param name="Markdown">The markdown report, or null.</param>
public sealed record PolynomialReportFiles(string CurvesCsv, string FinalCsv, string SummaryCsv, IReadOnlyList<string> Plots,
    IReadOnlyList<string> DocsPlots, string? Markdown);

/// <summary>CSV files, PNG plots and the markdown report of the polynomial-programming experiment.</summary>
public static class PolynomialReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Writes curves.csv, final.csv, summary.csv and one PNG per p into <paramref name="outDir"/>; when
    /// <paramref name="markdownPath"/> is given, also copies the PNGs next to it and writes the markdown report there.
    /// </summary>
    /// <param name="results">The experiment's results.</param>
    /// <param name="outDir">Output folder (created).</param>
    /// <param name="markdownPath">Markdown report path, or null for none.</param>
    /// <param name="commandLine">The command that produced the results, recorded in the report.</param>
    /// <param name="note">Optional free text placed near the top of the report (e.g. why the grid deviates from the defaults).</param>
    /// <remarks>The PNGs are named after the markdown file (polynomial.md: polynomial-p1.5.png, ...), or "polynomial-p..."
    /// without one, so several reports can share a folder.</remarks>
    public static PolynomialReportFiles WriteAll(PolynomialResults results, string outDir, string? markdownPath, string commandLine,
        string? note = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        Directory.CreateDirectory(outDir);
        var curves = Path.Combine(outDir, "curves.csv");
        var final = Path.Combine(outDir, "final.csv");
        var summary = Path.Combine(outDir, "summary.csv");
        WriteCurvesCsv(results, curves);
        WriteFinalCsv(results, final);
        WriteSummaryCsv(results, summary);
        var prefix = markdownPath is null ? "polynomial" : Path.GetFileNameWithoutExtension(markdownPath);
        var plots = WritePlots(results, outDir, prefix);
        var docsPlots = new List<string>();
        if (markdownPath is not null)
        {
            var docsDir = Path.GetDirectoryName(Path.GetFullPath(markdownPath))!;
            Directory.CreateDirectory(docsDir);
            foreach (var png in plots)
            {
                var target = Path.Combine(docsDir, Path.GetFileName(png));
                if (Path.GetFullPath(target) != Path.GetFullPath(png)) File.Copy(png, target, overwrite: true);
                docsPlots.Add(target);
            }
            File.WriteAllText(markdownPath, Markdown(results, commandLine, docsPlots.Select(p => Path.GetRelativePath(docsDir, p)).ToArray(), note),
                new UTF8Encoding(false));
        }
        return new PolynomialReportFiles(curves, final, summary, plots, docsPlots, markdownPath);
    }

    /// <summary>curves.csv: step, estimator, p, seed, train_loss, exact_loss, excess_loss (= exact_loss - min f).</summary>
    public static void WriteCurvesCsv(PolynomialResults results, string path)
    {
        using var csv = new CsvWriter(path, new[] { "step", "estimator", "p", "seed", "train_loss", "exact_loss", "excess_loss" });
        foreach (var r in results.Runs)
            foreach (var pt in r.Curve)
                csv.WriteRow(pt.Step, EstimatorNames.Display(r.Spec.Estimator), r.Spec.Power, r.Spec.Seed, pt.TrainLoss, pt.ExactLoss, pt.ExcessLoss);
    }

    /// <summary>final.csv: per run the initial and final exact expected loss, the final excess loss, the final training loss
    /// (mean of the last FinalWindow steps) and the run's wall time.</summary>
    public static void WriteFinalCsv(PolynomialResults results, string path)
    {
        using var csv = new CsvWriter(path, new[] { "estimator", "p", "seed", "steps", "initial_exact_loss", "final_exact_loss",
            "final_excess_loss", "final_train_loss", "final_mean_q", "seconds" });
        foreach (var r in results.Runs)
            csv.WriteRow(EstimatorNames.Display(r.Spec.Estimator), r.Spec.Power, r.Spec.Seed, results.Config.Steps, r.InitialExactLoss,
                r.FinalExactLoss, r.FinalExcessLoss, r.FinalTrainLoss, r.FinalMeanQ, r.Elapsed.TotalSeconds);
    }

    /// <summary>summary.csv: per (estimator, p) the mean and sample std over seeds.</summary>
    public static void WriteSummaryCsv(PolynomialResults results, string path)
    {
        using var csv = new CsvWriter(path, new[] { "estimator", "p", "runs", "exact_mean", "exact_std", "train_mean", "train_std",
            "excess_mean", "excess_std", "q_mean", "q_std", "seconds_per_run" });
        foreach (var s in results.Summary)
            csv.WriteRow(EstimatorNames.Display(s.Estimator), s.Power, s.Runs, s.ExactMean, s.ExactStd, s.TrainMean, s.TrainStd,
                s.ExcessMean, s.ExcessStd, s.QMean, s.QStd, s.SecondsPerRun);
    }

    /// <summary>File name of the plot of one power, e.g. "polynomial-p1.5.png" for the prefix "polynomial".</summary>
    public static string PlotFileName(double power, string prefix = "polynomial") => $"{prefix}-p{power.ToString("R", Inv)}.png";

    /// <summary>
    /// One PNG per p: the excess exact expected loss E[f] - min f against the step, log-scale y, one line per estimator:
    /// the geometric mean over seeds with a band of +- one sample std of log10 over seeds.
    /// </summary>
    public static IReadOnlyList<string> WritePlots(PolynomialResults results, string outDir, string prefix = "polynomial")
    {
        var paths = new List<string>();
        var cfg = results.Config;
        foreach (var p in cfg.Powers)
        {
            var series = new List<LineSeries>();
            foreach (var e in cfg.Estimators)
            {
                var runs = results.Runs.Where(r => r.Spec.Estimator == e && r.Spec.Power == p).ToArray();
                if (runs.Length == 0) continue;
                int points = runs.Min(r => r.Curve.Count);
                var x = new double[points];
                var y = new double[points];
                var lo = new double[points];
                var hi = new double[points];
                for (int i = 0; i < points; i++)
                {
                    x[i] = runs[0].Curve[i].Step;
                    var logs = runs.Select(r => Math.Log10(r.Curve[i].ExcessLoss)).ToArray();
                    double m = Statistics.Mean(logs), s = Statistics.SampleStd(logs);
                    y[i] = Math.Pow(10, m);
                    lo[i] = Math.Pow(10, m - s);
                    hi[i] = Math.Pow(10, m + s);
                }
                series.Add(new LineSeries(EstimatorNames.Display(e), x, y, lo, hi));
            }
            var path = Path.Combine(outDir, PlotFileName(p, prefix));
            var optimum = PolynomialObjective.Optimum(cfg.Target, p);
            LinePlot.SavePng(path, new LinePlotLayout(
                $"Polynomial programming, p = {p.ToString(Inv)}, N = {cfg.Dimension}, c = {cfg.Target.ToString(Inv)}, tau = {cfg.Tau.ToString(Inv)}",
                "step",
                $"E[loss] - {cfg.Target.ToString(Inv)}^{p.ToString(Inv)}  (optimum {optimum.ToString("G4", Inv)})",
                LogY: true, LegendAtLowerLeft: true), series);   // the curves start together at the top left
            paths.Add(path);
        }
        return paths;
    }

    /// <summary>"mean ± std" with a fixed number of decimals.</summary>
    public static string MeanStd(double mean, double std, int decimals = 6)
        => $"{mean.ToString("F" + decimals, Inv)} ± {std.ToString("F" + decimals, Inv)}";

    /// <summary>"mean ± std" in scientific notation with three significant digits.</summary>
    public static string MeanStdSci(double mean, double std) => $"{mean.ToString("0.00e+00", Inv)} ± {std.ToString("0.00e+00", Inv)}";

    /// <summary>A markdown table: rows estimators, columns p, cells chosen by <paramref name="cell"/>.</summary>
    public static string Table(PolynomialResults results, Func<PolynomialSummaryRow, string> cell)
    {
        var cfg = results.Config;
        var headers = new[] { "estimator" }.Concat(cfg.Powers.Select(p => $"p = {p.ToString(Inv)}")).ToArray();
        var rows = cfg.Estimators.Select(e =>
            (IReadOnlyList<string>)new[] { EstimatorNames.Display(e) }.Concat(cfg.Powers.Select(p => cell(results.Cell(e, p)))).ToArray());
        return MarkdownTable.Render(headers, rows);
    }

    /// <summary>The ranking of the estimators by mean final exact expected loss for one p, lowest first.</summary>
    public static IReadOnlyList<PolynomialSummaryRow> Ranking(PolynomialResults results, double power)
        => results.Summary.Where(r => r.Power == power).OrderBy(r => r.ExactMean).ToArray();

    /// <summary>The markdown report.</summary>
    /// <param name="results">The experiment's results.</param>
    /// <param name="commandLine">The exact command that produced them.</param>
    /// <param name="plotLinks">Relative links of the PNGs, one per p.</param>
    /// <param name="note">Optional free text placed after the title.</param>
    public static string Markdown(PolynomialResults results, string commandLine, IReadOnlyList<string> plotLinks, string? note = null)
    {
        var cfg = results.Config;
        var sb = new StringBuilder();
        string pList = string.Join(", ", cfg.Powers.Select(p => p.ToString(Inv)));
        sb.Append("# Polynomial programming (ReinMax paper, seed 003)\n\n");
        sb.Append("_Generated by `discretegrad polynomial`; rerun the command below to regenerate this file, the PNGs and the CSVs._\n\n");
        if (!string.IsNullOrWhiteSpace(note)) sb.Append("**Note.** ").Append(note.Trim()).Append("\n\n");
        sb.Append("## Setup\n\n");
        sb.Append($"min over theta in R^{{{cfg.Dimension} x 2}} of E_z [ (1/{cfg.Dimension}) sum_i |z_i - {cfg.Target.ToString(Inv)}|^p ], ");
        sb.Append("z_i in {0, 1} independent, P(z_i = 1) = q_i = softmax(theta_i)[0] ");
        sb.Append("(z is the first coordinate of the two-class one-hot sample `Categorical.Sample(...).Value[..., 0]`).\n\n");
        sb.Append($"- p in {{{pList}}}; estimators: {string.Join(", ", cfg.Estimators.Select(EstimatorNames.Display))} ");
        sb.Append($"(tau = {cfg.Tau.ToString(Inv)} for all");
        if (cfg.Estimators.Contains(EstimatorKind.GappedStraightThrough)) sb.Append($"; GST gap = {cfg.Gap.ToString(Inv)}");
        if (cfg.Estimators.Contains(EstimatorKind.GumbelRao)) sb.Append($"; GR-MCK K = {cfg.GumbelRaoK}");
        sb.Append(").\n");
        sb.Append($"- theta initialised U(-{cfg.InitRange.ToString(Inv)}, {cfg.InitRange.ToString(Inv)}); batch {cfg.Batch} samples per step ");
        sb.Append($"(theta expanded to [{cfg.Batch}, {cfg.Dimension}, 2]); loss = mean over the batch; Adam, lr {cfg.LearningRate.ToString(Inv)}; ");
        sb.Append($"{cfg.Steps} steps; {cfg.DType} on {cfg.Device}.\n");
        sb.Append($"- Seeds {string.Join(", ", cfg.SeedValues)}. One `torch.Generator` per run, seeded with the seed, draws the initialisation ");
        sb.Append("and every sample, so a seed gives the same initial theta for every estimator and p, and the same run every time ");
        sb.Append($"(one libtorch intra-op thread per run, runs in parallel on {cfg.Threads} thread(s); results do not depend on that number).\n");
        sb.Append($"- Exact expected loss, closed form: E[loss] = mean_i [q_i |1 - c|^p + (1 - q_i) |c|^p], recorded every {cfg.LogEvery} steps ");
        sb.Append($"together with the training loss of the batch drawn at that theta. The optimum is min(|c|^p, |1 - c|^p) = {cfg.Target.ToString(Inv)}^p ");
        sb.Append("(every z_i = 0): ");
        sb.Append(string.Join(", ", cfg.Powers.Select(p => $"{PolynomialObjective.Optimum(cfg.Target, p).ToString("G6", Inv)} for p = {p.ToString(Inv)}")));
        sb.Append(".\n");
        sb.Append($"- Final exact expected loss: at theta after the last step. Final training loss: mean of the training losses of the last {Math.Min(cfg.FinalWindow, cfg.Steps)} steps. ");
        sb.Append($"Tables give mean ± sample std over the {cfg.Seeds} seed(s).\n\n");

        sb.Append("## Command\n\n```\n").Append(commandLine).Append("\n```\n\n");
        sb.Append($"Wall time of the grid: **{FormatDuration(results.WallTime)}** ({results.Runs.Count} runs, {cfg.Threads} parallel run(s), ");
        sb.Append($"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, ");
        sb.Append($"{RuntimeInformation.ProcessArchitecture}).");
        if (results.LoadAverageAtStart is not null)
            sb.Append($" Load average (1/5/15 min) at the start: {results.LoadAverageAtStart}, at the end: {results.LoadAverageAtEnd ?? "?"} ");
        if (results.LoadAverageAtStart is not null)
            sb.Append("(a load above the number of cores means other processes shared the CPU and the times are inflated).");
        sb.Append("\n\n");

        sb.Append("## Final exact expected loss E[loss]\n\n");
        sb.Append(Table(results, r => MeanStd(r.ExactMean, r.ExactStd)));
        sb.Append("| optimum |").Append(string.Join("", cfg.Powers.Select(p => $" {PolynomialObjective.Optimum(cfg.Target, p).ToString("F6", Inv)} |")))
          .Append("\n\n");
        sb.Append("## Final excess loss E[loss] - optimum\n\n");
        sb.Append("The same quantity minus the optimum (computed as mean_i q_i (|1 - c|^p - |c|^p), without cancellation); it separates the estimators more clearly.\n\n");
        sb.Append(Table(results, r => MeanStdSci(r.ExcessMean, r.ExcessStd))).Append('\n');
        sb.Append($"## Final training loss (mean of the last {Math.Min(cfg.FinalWindow, cfg.Steps)} steps)\n\n");
        sb.Append(Table(results, r => MeanStd(r.TrainMean, r.TrainStd))).Append('\n');

        sb.Append("## Final mean P(z_i = 1)\n\n");
        sb.Append("q = mean_i softmax(theta_i)[0] at the end (q = 1/2 at the start). The optimum is q = 0 (every z_i = 0). ");
        sb.Append("The expected straight-through gradient (tau = 1) is q (1 - q) E[f'(z_i)] with E[f'(z_i)] = q p |1 - c|^(p-1) - (1 - q) p |c|^(p-1), ");
        sb.Append("which vanishes at q* = |c|^(p-1) / (|c|^(p-1) + |1 - c|^(p-1)) (the row ST fixed point): a first-order estimator can stall there.\n\n");
        sb.Append(Table(results, r => MeanStd(r.QMean, r.QStd, 4)));
        sb.Append("| ST fixed point q* |").Append(string.Join("", cfg.Powers.Select(p =>
            $" {PolynomialObjective.StraightThroughFixedPoint(cfg.Target, p).ToString("F4", Inv)} |"))).Append("\n\n");
        if (cfg.Estimators.Contains(EstimatorKind.StraightThrough) && cfg.Estimators.Contains(EstimatorKind.GappedStraightThrough))
        {
            double pg = 1 / (1 + Math.Exp(-cfg.Gap / cfg.Tau));
            sb.Append($"With two classes and |theta_i0 - theta_i1| < gap, GST's surrogate softmax gives the sampled class sigmoid(gap / tau) = {pg.ToString("F3", Inv)} ");
            sb.Append("whatever theta is, so its gradient is ST's times a positive factor that changes only slowly with theta; Adam is ");
            sb.Append("nearly invariant to such a per-coordinate scale, which is why the ST and GST-1.0 numbers almost coincide.\n\n");
        }
        sb.Append("## Curves\n\n");
        sb.Append("E[loss] - optimum against the step, log scale: the line is the geometric mean over seeds, the band +- one sample std ");
        sb.Append("of log10 over seeds.\n\n");
        for (int i = 0; i < plotLinks.Count && i < cfg.Powers.Count; i++)
            sb.Append($"![p = {cfg.Powers[i].ToString(Inv)}]({plotLinks[i].Replace('\\', '/')})\n\n");

        sb.Append("## Observations (computed from the numbers above)\n\n");
        foreach (var p in cfg.Powers)
        {
            var rank = Ranking(results, p);
            var best = rank[0];
            sb.Append($"- p = {p.ToString(Inv)}: ranking by mean final exact expected loss: ");
            sb.Append(string.Join(" < ", rank.Select(r => $"{EstimatorNames.Display(r.Estimator)} ({r.ExcessMean.ToString("0.00e+00", Inv)} above optimum)")));
            sb.Append(". ");
            if (rank.Count > 1)
            {
                var second = rank[1];
                double gapBetween = second.ExactMean - best.ExactMean;
                double spread = Math.Max(best.ExactStd, second.ExactStd);
                sb.Append(gapBetween > 2 * spread
                    ? $"{EstimatorNames.Display(best.Estimator)} is lowest by {gapBetween.ToString("0.00e+00", Inv)}, more than twice the larger seed std ({spread.ToString("0.00e+00", Inv)})."
                    : $"{EstimatorNames.Display(best.Estimator)} is lowest, but its lead over {EstimatorNames.Display(second.Estimator)} ({gapBetween.ToString("0.00e+00", Inv)}) is within twice the larger seed std ({spread.ToString("0.00e+00", Inv)}).");
            }
            sb.Append('\n');
        }
        sb.Append('\n');

        sb.Append("## Time per run\n\n");
        var timeHeaders = new[] { "estimator", "seconds per run (mean)", "ms per step" };
        var timeRows = cfg.Estimators.Select(e =>
        {
            double secs = results.Summary.Where(r => r.Estimator == e).Average(r => r.SecondsPerRun);
            return (IReadOnlyList<string>)new[] { EstimatorNames.Display(e), secs.ToString("F1", Inv), (1000 * secs / (cfg.Steps + 1)).ToString("F3", Inv) };
        });
        sb.Append(MarkdownTable.Render(timeHeaders, timeRows)).Append('\n');
        sb.Append("Raw data: `curves.csv`, `final.csv`, `summary.csv` in the output folder (not committed).\n");
        return sb.ToString();
    }

    /// <summary>"12.3 s", "4 min 05 s" or "1 h 02 min 03 s".</summary>
    public static string FormatDuration(TimeSpan t)
    {
        if (t.TotalSeconds < 60) return $"{t.TotalSeconds.ToString("F1", Inv)} s";
        if (t.TotalHours < 1) return $"{(int)t.TotalMinutes} min {t.Seconds:00} s";
        return $"{(int)t.TotalHours} h {t.Minutes:00} min {t.Seconds:00} s";
    }
}
