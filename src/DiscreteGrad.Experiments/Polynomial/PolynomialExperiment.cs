using System.Globalization;
using System.Text;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>
/// The polynomial-programming experiment of the ReinMax paper (Liu et al., "Bridging Discrete and Backpropagation:
/// Straight-Through and Beyond", NeurIPS 2023) as a grid declaration: one cell per (estimator, p, seed), each a
/// <see cref="PolynomialTask"/> trained by the runner (checkpoints, resume, NaN stop). A finished cell also writes
/// <c>curves.csv</c> (step, estimator, p, seed, train_loss, exact_loss, excess_loss at every evaluation) and
/// <c>final.csv</c> (initial and final exact loss, final excess and training loss, final mean q, seconds) into its folder.
/// The report adds one PNG per p: E[f] - min f against the step, log scale, the geometric mean over seeds per estimator
/// with a band of +- one sample std of log10.
/// </summary>
public sealed class PolynomialExperiment : Experiment<PolynomialConfig>
{
    private static readonly CultureInfo InvC = CultureInfo.InvariantCulture;

    /// <inheritdoc />
    public override string Name => "polynomial";
    /// <inheritdoc />
    public override string Description =>
        "Polynomial programming (ReinMax paper): min E[(1/N) sum_i |z_i - c|^p] over theta in R^{N x 2}, comparing estimators.";
    /// <inheritdoc />
    public override string Title => "Polynomial programming (ReinMax paper)";
    /// <inheritdoc />
    public override string Label(PolynomialConfig config) => $"{EstimatorNames.Display(config.Estimator)}, p = {Inv(config.Power)}";
    /// <inheritdoc />
    public override long LogEvery(PolynomialConfig config) => config.LogEvery;

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("E[loss]", "exact_loss", "F6"),
        SummaryMetric.FinalEval("E[loss] - optimum", "excess_loss", "0.00e+00"),
        SummaryMetric.FinalEval("train loss (final window)", "final_train_loss", "F6"),
        SummaryMetric.FinalEval("mean P(z_i = 1)", "mean_q", "F4"),
        new SummaryMetric("ms / step", o => 1000 * o.SecondsPerStep, "F3"),
    };

    /// <summary>Trains the cell's task, then writes its <c>curves.csv</c> and <c>final.csv</c> (from its records).</summary>
    protected override CellRunResult Run(PolynomialConfig config, RunContext context)
    {
        using var task = new PolynomialTask(config, context.TorchDevice);
        var result = ExperimentRunner.Run(task, context.ToRunnerOptions(LogEvery(config), CheckpointEvery(config)), context.Observer);
        if (!result.Stopped) WriteCsvs(config, result.Records, result.WallSeconds, context.OutputDirectory);
        return new CellRunResult(result.Steps, result.Stopped);
    }

    /// <summary>
    /// <c>curves.csv</c>: step, estimator, p, seed, train_loss, exact_loss, excess_loss of every evaluation;
    /// <c>final.csv</c>: estimator, p, seed, steps, initial_exact_loss, final_exact_loss, final_excess_loss,
    /// final_train_loss, final_mean_q, seconds (the wall time of the invocation that finished the run).
    /// </summary>
    public static void WriteCsvs(PolynomialConfig config, IReadOnlyList<MetricsRecord> records, double seconds, string directory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(records);
        var evals = records.Where(r => r.Kind == "eval").ToList();
        if (evals.Count == 0) throw new InvalidDataException($"{directory}: the run has no evaluation to write.");
        string estimator = EstimatorNames.Display(config.Estimator);
        using (var csv = new CsvWriter(Path.Combine(directory, "curves.csv"), new[] { "step", "estimator", "p", "seed", "train_loss", "exact_loss", "excess_loss" }))
            foreach (var r in evals)
                csv.WriteRow(r.Step, estimator, config.Power, config.Seed, r.Metrics["train_loss"], r.Metrics["exact_loss"], r.Metrics["excess_loss"]);
        var last = evals[^1].Metrics;
        using var final = new CsvWriter(Path.Combine(directory, "final.csv"), new[] { "estimator", "p", "seed", "steps", "initial_exact_loss",
            "final_exact_loss", "final_excess_loss", "final_train_loss", "final_mean_q", "seconds" });
        final.WriteRow(estimator, config.Power, config.Seed, config.Steps, evals[0].Metrics["exact_loss"], last["exact_loss"], last["excess_loss"],
            last["final_train_loss"], last["mean_q"], seconds);
    }

    /// <summary>The optimum and the straight-through fixed point per p, and one plot of the excess loss per p.</summary>
    protected override void WriteSection(IReadOnlyList<(PolynomialConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(markdown);
        if (cells.Count == 0) return;
        var powers = cells.Select(c => c.Config.Power).Distinct().ToList();
        var first = cells[0].Config;
        markdown.AppendLine($"The optimum is min(|c|^p, |1 - c|^p) (every z_i = 0 for c = {Inv(first.Target)} < 1/2). The expected straight-through " +
                            "gradient (tau = 1) vanishes at q* = |c|^(p-1) / (|c|^(p-1) + |1 - c|^(p-1)), where a first-order estimator can stall.")
            .AppendLine();
        markdown.Append(MarkdownTable.Render(new[] { "p", "optimum", "ST fixed point q*" }, powers.Select(p => (IReadOnlyList<string>)new[]
        {
            Inv(p), PolynomialObjective.Optimum(first.Target, p).ToString("F6", InvC), PolynomialObjective.StraightThroughFixedPoint(first.Target, p).ToString("F4", InvC),
        }))).AppendLine();
        markdown.AppendLine("E[loss] - optimum against the step, log scale: the line is the geometric mean over seeds, the band +- one sample std of log10 over seeds.")
            .AppendLine();
        foreach (var p in powers)
        {
            string file = (report.AssetPrefix.Length > 0 ? report.AssetPrefix : "polynomial-") + $"p{p.ToString("R", InvC)}.png";
            var series = ExcessSeries(cells.Where(c => c.Config.Power == p).ToList());
            if (series.Count == 0) continue;
            var optimum = PolynomialObjective.Optimum(first.Target, p);
            LinePlot.SavePng(Path.Combine(report.AssetsDirectory, file), new LinePlotLayout(
                $"Polynomial programming, p = {Inv(p)}, N = {first.Dimension}, c = {Inv(first.Target)}, tau = {Inv(first.Tau)}",
                "step",
                $"E[loss] - {Inv(first.Target)}^{Inv(p)}  (optimum {optimum.ToString("G4", InvC)})",
                LogY: true), series);
            markdown.AppendLine($"![p = {Inv(p)}]({file})").AppendLine();
        }
    }

    /// <summary>
    /// One line per estimator (in the order they first appear): the geometric mean over seeds of the evaluated excess loss,
    /// with a band of +- one sample std of log10 over seeds.
    /// </summary>
    public static List<LineSeries> ExcessSeries(IReadOnlyList<(PolynomialConfig Config, CellOutcome Outcome)> cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        var series = new List<LineSeries>();
        foreach (var g in cells.GroupBy(c => c.Config.Estimator))
        {
            var curves = g.Select(c => c.Outcome.Records.Where(r => r.Kind == "eval").ToList()).ToList();
            int points = curves.Min(c => c.Count);
            if (points == 0) continue;
            var x = new double[points];
            var y = new double[points];
            var lo = new double[points];
            var hi = new double[points];
            for (int i = 0; i < points; i++)
            {
                x[i] = curves[0][i].Step;
                var logs = curves.Select(c => Math.Log10(c[i].Metrics["excess_loss"])).ToArray();
                double m = Statistics.Mean(logs), s = Statistics.SampleStd(logs);
                y[i] = Math.Pow(10, m);
                lo[i] = Math.Pow(10, m - s);
                hi[i] = Math.Pow(10, m + s);
            }
            series.Add(new LineSeries(EstimatorNames.Display(g.Key), x, y, lo, hi));
        }
        return series;
    }
}
