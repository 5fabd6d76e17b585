using System.Text;
using DiscreteGrad.Experiments.Runner;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>
/// The Gumbel-softmax samples on the 3-simplex of the DCCG paper (Figure 5) as a one-cell experiment: the cell draws every
/// panel (<see cref="SimplexSamples.Run"/>) and writes samples.csv, summary.csv, the figure, <c>result.json</c> (the
/// per-panel numbers) and one "eval" record; the report section shows the figure, the per-panel table and the reading.
/// </summary>
public sealed class FigureSimplexExperiment : Experiment<SimplexConfig>
{
    /// <inheritdoc />
    public override string Name => "figure-simplex";
    /// <inheritdoc />
    public override string Description =>
        "DCCG Figure 5: Gumbel-softmax samples for theta = (2, 0.5, 1) on the probability simplex, tau annealing (top row) vs " +
        "beta increase (bottom row), with the fraction of near-corner samples and their split over the corners.";
    /// <inheritdoc />
    public override string Title => "Figure: Gumbel-softmax samples on the simplex, τ annealing vs β increase (DCCG, Figure 5)";
    /// <inheritdoc />
    public override string Label(SimplexConfig config) => $"θ = ({string.Join(", ", config.Theta.Select(R))})";

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("near corner, smallest τ", "near_corner_min_tau"),
        SummaryMetric.FinalEval("TV(corners, unif.), smallest τ", "corner_tv_min_tau"),
        SummaryMetric.FinalEval("near corner, largest β", "near_corner_max_beta"),
        SummaryMetric.FinalEval("TV(corners, unif.), largest β", "corner_tv_max_beta"),
    };

    /// <summary>Draws every panel and writes the cell's files.</summary>
    protected override CellRunResult Run(SimplexConfig config, RunContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        var panels = SimplexSamples.Run(config);
        SimplexReport.Write(config, panels, context.OutputDirectory);
        var summaries = panels.Select(p => p.Summary).ToArray();
        WriteResult(context.OutputDirectory, summaries);
        var tau = summaries.Where(p => p.Setting.Row == "tau").MinBy(p => p.Setting.Tau)!;
        var beta = summaries.Where(p => p.Setting.Row == "beta").MaxBy(p => p.Setting.Beta)!;
        var metrics = new Dictionary<string, double>
        {
            ["near_corner_min_tau"] = tau.NearCornerFraction,
            ["near_corner_max_beta"] = beta.NearCornerFraction,
        };
        // No near-corner sample: the corner split is undefined (left out rather than NaN).
        if (!double.IsNaN(tau.CornerTvToUniform)) metrics["corner_tv_min_tau"] = tau.CornerTvToUniform;
        if (!double.IsNaN(beta.CornerTvToUniform)) metrics["corner_tv_max_beta"] = beta.CornerTvToUniform;
        using var log = new MetricsLog(context.OutputDirectory, null);
        log.Write(new MetricsRecord("eval", panels.Count, metrics));
        return new CellRunResult(panels.Count, Stopped: false);
    }

    /// <summary>The figure, the per-panel table and the reading.</summary>
    protected override void WriteSection(IReadOnlyList<(SimplexConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(markdown);
        foreach (var (config, outcome) in cells)
        {
            string png = CopyFigure(Path.Combine(outcome.Directory, SimplexReport.PngFile), report, Name);
            markdown.Append(SimplexReport.Markdown(config, ReadResult<SimplexPanelSummary[]>(outcome.Directory), png));
        }
    }
}
