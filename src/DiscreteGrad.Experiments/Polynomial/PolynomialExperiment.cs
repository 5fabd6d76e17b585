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
    public override string Label(PolynomialConfig config) => $"{PolynomialEstimators.Display(config.Estimator)}, p = {Inv(config.Power)}"
        + (config.TargetVector == TargetVector.Constant ? "" : ", ramp c");
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

    /// <summary>ARM and DisARM with an odd batch (they draw batch / 2 antithetic pairs) and RLOO with a batch of 1 are left out of a grid.</summary>
    protected override string? Excluded(PolynomialConfig config) => config.InvalidBatch() is { } why ? $"--batch {config.Batch}: {why}" : null;

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
    /// final_train_loss, final_mean_q, seconds (the wall time of the invocation that finished the run), target (c, or
    /// "ramp") and f_evaluations_per_step. (curves.csv also has the target column, last.)
    /// </summary>
    public static void WriteCsvs(PolynomialConfig config, IReadOnlyList<MetricsRecord> records, double seconds, string directory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(records);
        var evals = records.Where(r => r.Kind == "eval").ToList();
        if (evals.Count == 0) throw new InvalidDataException($"{directory}: the run has no evaluation to write.");
        string estimator = PolynomialEstimators.Display(config.Estimator);
        string target = config.TargetVector == TargetVector.Constant ? Inv(config.Target) : "ramp";
        using (var csv = new CsvWriter(Path.Combine(directory, "curves.csv"), new[] { "step", "estimator", "p", "seed", "train_loss", "exact_loss", "excess_loss", "target" }))
            foreach (var r in evals)
                csv.WriteRow(r.Step, estimator, config.Power, config.Seed, r.Metrics["train_loss"], r.Metrics["exact_loss"], r.Metrics["excess_loss"], target);
        var last = evals[^1].Metrics;
        using var final = new CsvWriter(Path.Combine(directory, "final.csv"), new[] { "estimator", "p", "seed", "steps", "initial_exact_loss",
            "final_exact_loss", "final_excess_loss", "final_train_loss", "final_mean_q", "seconds", "target", "f_evaluations_per_step" });
        final.WriteRow(estimator, config.Power, config.Seed, config.Steps, evals[0].Metrics["exact_loss"], last["exact_loss"], last["excess_loss"],
            last["final_train_loss"], last["mean_q"], seconds, target, PolynomialEstimators.Evaluations(config.Estimator, config.Batch, config.Dimension));
    }

    /// <summary>
    /// Per target vector: the optimum (and for the constant one the straight-through fixed point) per p, one plot of the
    /// excess loss per p, and a table of the final E[loss] - optimum (estimators x p), the evaluations of f per step and the
    /// cost per step.
    /// </summary>
    protected override void WriteSection(IReadOnlyList<(PolynomialConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(markdown);
        if (cells.Count == 0) return;
        bool several = cells.Select(c => c.Config.TargetVector).Distinct().Count() > 1;
        foreach (var vector in cells.Select(c => c.Config.TargetVector).Distinct())
        {
            var group = cells.Where(c => c.Config.TargetVector == vector).ToList();
            var powers = group.Select(c => c.Config.Power).Distinct().ToList();
            var first = group[0].Config;
            if (several) markdown.AppendLine($"## Target {TargetText(first)}").AppendLine();
            if (vector == TargetVector.Constant)
            {
                markdown.AppendLine($"The optimum is min(|c|^p, |1 - c|^p) (every z_i = 0 for c = {Inv(first.Target)} < 1/2). The expected straight-through " +
                                    "gradient (tau = 1) vanishes at q* = |c|^(p-1) / (|c|^(p-1) + |1 - c|^(p-1)), where a first-order estimator can stall.")
                    .AppendLine();
                markdown.Append(MarkdownTable.Render(new[] { "p", "optimum", "ST fixed point q*" }, powers.Select(p => (IReadOnlyList<string>)new[]
                {
                    Inv(p), PolynomialObjective.Optimum(first.Target, p).ToString("F6", InvC), PolynomialObjective.StraightThroughFixedPoint(first.Target, p).ToString("F4", InvC),
                }))).AppendLine();
            }
            else
            {
                markdown.AppendLine($"c_i = (i - 1/2) / {first.Dimension}: the optimum mean_i min(|c_i|^p, |1 - c_i|^p) has z_i = 0 for c_i < 1/2 and z_i = 1 above, " +
                                    "so half the coordinates must move each way; the straight-through fixed point differs per coordinate.").AppendLine();
                markdown.Append(MarkdownTable.Render(new[] { "p", "optimum" }, powers.Select(p => (IReadOnlyList<string>)new[]
                {
                    Inv(p), PolynomialObjective.Optimum(first.Targets, p).ToString("F6", InvC),
                }))).AppendLine();
            }
            markdown.AppendLine("E[loss] - optimum against the step, log scale: the line is the geometric mean over seeds, the band +- one sample std of log10 over seeds.")
                .AppendLine();
            foreach (var p in powers)
            {
                string stem = (report.AssetPrefix.Length > 0 ? report.AssetPrefix : "polynomial-") + (vector == TargetVector.Constant ? "" : "ramp-");
                string file = stem + $"p{p.ToString("R", InvC)}.png";
                var series = ExcessSeries(group.Where(c => c.Config.Power == p).ToList());
                if (series.Count == 0) continue;
                double optimum = vector == TargetVector.Constant ? PolynomialObjective.Optimum(first.Target, p) : PolynomialObjective.Optimum(first.Targets, p);
                string yLabel = vector == TargetVector.Constant
                    ? $"E[loss] - {Inv(first.Target)}^{Inv(p)}  (optimum {optimum.ToString("G4", InvC)})"
                    : $"E[loss] - optimum ({optimum.ToString("G4", InvC)})";
                LinePlot.SavePng(Path.Combine(report.AssetsDirectory, file), new LinePlotLayout(
                    $"Polynomial programming, p = {Inv(p)}, N = {first.Dimension}, {TargetText(first)}, tau = {Inv(first.Tau)}",
                    "step", yLabel, LogY: true), series);
                markdown.AppendLine($"![p = {Inv(p)}]({file})").AppendLine();
            }
            markdown.AppendLine($"Final E[loss] - optimum after {first.Steps} steps (the exact expected loss at the last theta), mean +- sample std over seeds; " +
                                $"evaluations of f per step at batch {first.Batch}; ms per step (wall time of a run over its steps, evaluations included, the mean over the estimator's runs):").AppendLine();
            var estimators = group.Select(c => c.Config.Estimator).Distinct().ToList();
            markdown.Append(MarkdownTable.Render(new[] { "estimator" }.Concat(powers.Select(p => $"p = {Inv(p)}")).Concat(new[] { "f evals / step", "ms / step" }).ToArray(),
                estimators.Select(e => (IReadOnlyList<string>)new[] { PolynomialEstimators.Display(e) }
                    .Concat(powers.Select(p => GridReport.MeanStd(group.Where(c => c.Config.Estimator == e && c.Config.Power == p)
                        .Select(c => c.Outcome.FinalEval.GetValueOrDefault("excess_loss", double.NaN)).ToList(), "0.00e+00")))
                    .Append(PolynomialEstimators.Evaluations(e, first.Batch, first.Dimension).ToString(InvC))
                    .Append(MeanOrDash(group.Where(c => c.Config.Estimator == e).Select(c => 1000 * c.Outcome.SecondsPerStep)))
                    .ToArray()))).AppendLine();
        }
    }

    private static string MeanOrDash(IEnumerable<double> values)
    {
        var xs = values.Where(double.IsFinite).ToList();
        return xs.Count == 0 ? "-" : Statistics.Mean(xs).ToString("F2", InvC);
    }

    /// <summary>"c = 0.45" or "c_i = (i - 1/2) / N".</summary>
    public static string TargetText(PolynomialConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.TargetVector == TargetVector.Constant ? $"c = {Inv(config.Target)}" : "c_i = (i - 1/2) / N";
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
            series.Add(new LineSeries(PolynomialEstimators.Display(g.Key), x, y, lo, hi));
        }
        return series;
    }
}
