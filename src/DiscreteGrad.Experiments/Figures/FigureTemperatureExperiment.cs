using System.Text;
using DiscreteGrad.Experiments.Runner;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>
/// The temperature experiment of the lecture slides as a one-cell experiment: the cell draws the scores and measures every
/// temperature (<see cref="TemperatureExperiment.Run"/>) and writes distributions.csv, summary.csv, the figure,
/// <c>result.json</c> (the measurements) and one "eval" record; the report section shows the figure, the per-tau table
/// and the reading of the numbers.
/// </summary>
public sealed class FigureTemperatureExperiment : Experiment<TemperatureConfig>
{
    /// <inheritdoc />
    public override string Name => "figure-temperature";
    /// <inheritdoc />
    public override string Description =>
        "Lecture-slides temperature experiment: random scores over a few categories, many Gumbel-softmax samples per tau, the mean soft " +
        "sample (and the tempered categorical) against softmax(scores).";
    /// <inheritdoc />
    public override string Title => "Figure: what the Gumbel-softmax temperature does (lecture slides)";
    /// <inheritdoc />
    public override string Label(TemperatureConfig config) => $"{config.Categories} categories, τ = {string.Join(", ", config.Taus.Select(R))}";

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("TV(mean soft, softmax), smallest τ", "tv_softmax_min_tau", "F4"),
        SummaryMetric.FinalEval("MC noise, smallest τ", "noise_min_tau", "F4"),
        SummaryMetric.FinalEval("TV(mean soft, uniform), largest τ", "tv_uniform_max_tau", "G3"),
    };

    /// <summary>Measures every temperature and writes the cell's files.</summary>
    protected override CellRunResult Run(TemperatureConfig config, RunContext context)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(context);
        var results = TemperatureExperiment.Run(config);
        TemperatureReport.Write(results, context.OutputDirectory);
        WriteResult(context.OutputDirectory, results);
        var lo = results.PerTau.MinBy(r => r.Tau)!;
        var hi = results.PerTau.MaxBy(r => r.Tau)!;
        var uniform = Enumerable.Repeat(1.0 / config.Categories, config.Categories).ToArray();
        using var log = new MetricsLog(context.OutputDirectory, null);
        log.Write(new MetricsRecord("eval", results.PerTau.Count, new Dictionary<string, double>
        {
            ["tv_softmax_min_tau"] = TemperatureExperiment.TotalVariation(lo.MeanSoft, results.Softmax),
            ["noise_min_tau"] = lo.NoiseLevel,
            ["tv_uniform_max_tau"] = TemperatureExperiment.TotalVariation(hi.MeanSoft, uniform),
        }));
        return new CellRunResult(results.PerTau.Count, Stopped: false);
    }

    /// <summary>The figure, the per-tau table and the reading.</summary>
    protected override void WriteSection(IReadOnlyList<(TemperatureConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(markdown);
        foreach (var (_, outcome) in cells)
        {
            string png = CopyFigure(Path.Combine(outcome.Directory, TemperatureReport.PngFile), report, Name);
            markdown.Append(TemperatureReport.Markdown(ReadResult<TemperatureResults>(outcome.Directory), png));
        }
    }
}
