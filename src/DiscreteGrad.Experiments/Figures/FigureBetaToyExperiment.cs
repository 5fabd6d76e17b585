using System.Text;
using DiscreteGrad.Experiments.Runner;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>
/// The beta-vs-tau toy of the DCCG paper (Figure 2) as a one-cell experiment: the cell trains every beta
/// (<see cref="BetaToy.Run"/>) and writes curves.csv, summary.csv, the figure, <c>result.json</c> (the per-beta summaries)
/// and one "eval" record; the report section shows the figure, the per-beta table and the reading of the numbers.
/// </summary>
public sealed class FigureBetaToyExperiment : Experiment<BetaToyConfig>
{
    /// <inheritdoc />
    public override string Name => "figure-beta-toy";
    /// <inheritdoc />
    public override string Description =>
        "DCCG Figure 2: train theta in R^2 of softmax(theta + Gumbel(0, beta)) against the target (1, 0) with SGD, for several beta; " +
        "plots |dL/dtheta|, theta_1 - theta_2 and p_1 over the steps.";
    /// <inheritdoc />
    public override string Title => "Figure: Gumbel scale β vs temperature τ on a saturating toy (DCCG, Figure 2)";
    /// <inheritdoc />
    public override string Label(BetaToyConfig config) => $"β = {string.Join(", ", config.Betas.Select(R))}";

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("late |dL/dθ|, smallest β", "late_grad_min_beta", "G3"),
        SummaryMetric.FinalEval("late |dL/dθ|, largest β", "late_grad_max_beta", "G3"),
        SummaryMetric.FinalEval("ratio largest / smallest", "late_grad_ratio", "F2"),
    };

    /// <summary>Trains every beta and writes the cell's files.</summary>
    protected override CellRunResult Run(BetaToyConfig config, RunContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        var traces = BetaToy.Run(config);
        var summaries = BetaToyReport.Write(config, traces, context.OutputDirectory);
        WriteResult(context.OutputDirectory, summaries);
        var sorted = summaries.OrderBy(s => s.Beta).ToArray();
        using var log = new MetricsLog(context.OutputDirectory, null);
        log.Write(new MetricsRecord("eval", config.Steps, new Dictionary<string, double>
        {
            ["late_grad_min_beta"] = sorted[0].LateGradMean,
            ["late_grad_max_beta"] = sorted[^1].LateGradMean,
            ["late_grad_ratio"] = sorted[^1].LateGradMean / sorted[0].LateGradMean,
        }));
        return new CellRunResult(config.Steps, Stopped: false);
    }

    /// <summary>The figure, the per-beta table and the reading.</summary>
    protected override void WriteSection(IReadOnlyList<(BetaToyConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(markdown);
        foreach (var (config, outcome) in cells)
        {
            string png = CopyFigure(Path.Combine(outcome.Directory, BetaToyReport.PngFile), report, Name);
            markdown.Append(BetaToyReport.Markdown(config, ReadResult<BetaToySummary[]>(outcome.Directory), png));
        }
    }
}
