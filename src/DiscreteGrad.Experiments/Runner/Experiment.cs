using System.Globalization;
using System.Text;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>What one finished (or stopped) cell left: its records and summary, read back from its folder.</summary>
/// <param name="Cell">The cell.</param>
/// <param name="Directory">Its folder.</param>
/// <param name="State">"done", "failed", "running", "preempted", "pending".</param>
/// <param name="Records">Every logged record (metrics.jsonl).</param>
/// <param name="Steps">Steps done.</param>
/// <param name="SecondsPerStep">Wall seconds per step of the last invocation that ran steps (NaN when unknown).</param>
/// <param name="Message">The failure's one-line message, if any.</param>
public sealed record CellOutcome(GridCell Cell, string Directory, string State, IReadOnlyList<MetricsRecord> Records, long Steps,
    double SecondsPerStep, string? Message)
{
    /// <summary>The last evaluation's metrics (empty when none).</summary>
    public IReadOnlyDictionary<string, double> FinalEval => Records.LastOrDefault(r => r.Kind == "eval")?.Metrics ?? new();
    /// <summary>The last training record's metrics (empty when none).</summary>
    public IReadOnlyDictionary<string, double> FinalTrain => Records.LastOrDefault(r => r.Kind == "train")?.Metrics ?? new();
    /// <summary>The values of one metric over the records of a kind, in order.</summary>
    public IEnumerable<double> Series(string kind, string metric) =>
        Records.Where(r => r.Kind == kind && r.Metrics.ContainsKey(metric)).Select(r => r.Metrics[metric]);
}

/// <summary>A column of the report's table: a number per cell, shown as mean +- sample std over the seeds of a row.</summary>
/// <param name="Header">Column header.</param>
/// <param name="Value">The cell's number (NaN: missing).</param>
/// <param name="Format">.NET numeric format, e.g. "F3".</param>
public sealed record SummaryMetric(string Header, Func<CellOutcome, double> Value, string Format = "F3")
{
    /// <summary>A metric of the last evaluation.</summary>
    public static SummaryMetric FinalEval(string header, string metric, string format = "F3") =>
        new(header, o => o.FinalEval.TryGetValue(metric, out var v) ? v : double.NaN, format);
    /// <summary>The best (largest, or smallest with <paramref name="lowest"/>) value of an evaluated metric.</summary>
    public static SummaryMetric BestEval(string header, string metric, bool lowest = false, string format = "F3") =>
        new(header, o => o.Series("eval", metric).DefaultIfEmpty(double.NaN).Aggregate((a, b) => lowest ? Math.Min(a, b) : Math.Max(a, b)), format);
    /// <summary>A metric of the last training record.</summary>
    public static SummaryMetric FinalTrain(string header, string metric, string format = "F3") =>
        new(header, o => o.FinalTrain.TryGetValue(metric, out var v) ? v : double.NaN, format);
    /// <summary>Wall seconds per step of the cell's last invocation.</summary>
    public static SummaryMetric SecondsPerStep(string header = "s / step", string format = "F4") => new(header, o => o.SecondsPerStep, format);

    /// <summary>
    /// Wall seconds per epoch of the cell's last invocation: seconds per step times steps per epoch, the steps per epoch
    /// read from the last evaluation as step / <paramref name="epochMetric"/> (tasks that log the epoch as steps done over
    /// steps per epoch). NaN when no evaluation carries the epoch.
    /// </summary>
    public static SummaryMetric SecondsPerEpoch(string header = "s / epoch", string format = "F1", string epochMetric = "epoch") =>
        new(header, o => o.Records.LastOrDefault(r => r.Kind == "eval" && r.Metrics.TryGetValue(epochMetric, out var e) && e > 0) is { } r
            ? o.SecondsPerStep * r.Step / r.Metrics[epochMetric]
            : double.NaN, format);
}

/// <summary>A curve of the report: one line per row (mean +- std band over seeds) of an evaluated or training metric.</summary>
/// <param name="File">File stem of the PNG (e.g. "test-accuracy").</param>
/// <param name="Title">Plot title.</param>
/// <param name="Metric">Metric key in the records.</param>
/// <param name="Kind">"eval" or "train".</param>
/// <param name="XMetric">Metric used as x (e.g. "epoch"); null: the step.</param>
/// <param name="XLabel">x axis label.</param>
/// <param name="LogY">Log-scaled y.</param>
/// <param name="FitTail">Fit the y axis to the last 90% of the x range (<see cref="DiscreteGrad.Experiments.Reporting.LinePlotLayout.FitTail"/>).</param>
public sealed record CurveSpec(string File, string Title, string Metric, string Kind = "eval", string? XMetric = null, string XLabel = "step", bool LogY = false,
    bool FitTail = false);

/// <summary>
/// The part of an experiment the runner, the CLI and the report see without knowing its configuration type: its name,
/// settings, how to plan a grid and how to run one cell. Implement it through <see cref="Experiment{TConfig}"/>.
/// </summary>
public interface IExperiment
{
    /// <summary>Command name, e.g. "mnist-addition".</summary>
    string Name { get; }
    /// <summary>One-line description for help.</summary>
    string Description { get; }
    /// <summary>The settings of the configuration record (options and <c>--config</c> keys).</summary>
    IReadOnlyList<SettingSpec> Settings { get; }
    /// <summary>Binds settings and expands the grid; every cell validated.</summary>
    IReadOnlyList<GridCell> Plan(IReadOnlyDictionary<string, string> given, string? configPath);
    /// <summary>Why combinations of the axes of these settings are left out of the grid (distinct reasons; empty: none).</summary>
    IReadOnlyList<string> Exclusions(IReadOnlyDictionary<string, string> given, string? configPath);
    /// <summary>Runs one cell in this process.</summary>
    CellRunResult RunCell(GridCell cell, RunContext context);
    /// <summary>Writes the report's markdown body (after the generic header) and any extra plots into the report folder of <paramref name="report"/>.</summary>
    void WriteReport(GridReportContext report, StringBuilder markdown);
    /// <summary>The columns of the report's table.</summary>
    IReadOnlyList<SummaryMetric> Metrics { get; }
    /// <summary>The curves of the report.</summary>
    IReadOnlyList<CurveSpec> Curves { get; }
    /// <summary>Option name of the seed axis (means are taken over it), or null.</summary>
    string? SeedAxis { get; }
    /// <summary>Report title.</summary>
    string Title { get; }
}

/// <summary>What running one cell returned.</summary>
/// <param name="Steps">Steps done.</param>
/// <param name="Stopped">Stopped early (SIGTERM): checkpointed and resumable.</param>
public sealed record CellRunResult(long Steps, bool Stopped);

/// <summary>What an experiment's report section gets: the cells' outcomes and where to put extra files.</summary>
/// <param name="Outcomes">Every cell's outcome (finished or not).</param>
/// <param name="AssetsDirectory">Folder for extra images (beside the markdown).</param>
/// <param name="AssetPrefix">Prefix of extra image file names (the markdown's stem and a dash).</param>
public sealed record GridReportContext(IReadOnlyList<CellOutcome> Outcomes, string AssetsDirectory, string AssetPrefix)
{
    /// <summary>The finished cells.</summary>
    public IEnumerable<CellOutcome> Done => Outcomes.Where(o => o.State == "done");
}

/// <summary>
/// An experiment as a declaration: a configuration record <typeparamref name="TConfig"/> whose <see cref="SettingAttribute"/>
/// properties are its options and sweep axes, a task factory (or a whole-cell computation), the label of a cell, the
/// report's metrics and curves, and optionally the paper's values and a section of its own. The
/// <see cref="GridRunner"/> does the rest: expansion, scheduling (processes or Slurm), resume, progress and the report.
/// </summary>
/// <typeparam name="TConfig">The configuration record: a class with a parameterless constructor and init properties.</typeparam>
public abstract class Experiment<TConfig> : IExperiment where TConfig : class, new()
{
    /// <inheritdoc />
    public abstract string Name { get; }
    /// <inheritdoc />
    public abstract string Description { get; }
    /// <inheritdoc />
    public virtual string Title => Name;
    /// <inheritdoc />
    public IReadOnlyList<SettingSpec> Settings => GridSpec<TConfig>.Settings;
    /// <inheritdoc />
    public virtual string? SeedAxis => Settings.Any(s => s.Name == "seeds" && s.IsAxis) ? "seeds" : null;
    /// <inheritdoc />
    public abstract IReadOnlyList<SummaryMetric> Metrics { get; }
    /// <inheritdoc />
    public virtual IReadOnlyList<CurveSpec> Curves => Array.Empty<CurveSpec>();
    /// <summary>Markdown with the paper's numbers to compare against (placed under the table), or null.</summary>
    public virtual string? PaperReference => null;
    /// <summary>Steps between logged training records (the runner's cadence).</summary>
    public virtual long LogEvery(TConfig config) => 50;
    /// <summary>Default checkpoint interval in steps (0: only at the end), used when <c>--checkpoint-every</c> is not given.</summary>
    public virtual long CheckpointEvery(TConfig config) => 1000;

    /// <summary>The row label of a cell (without its seed), e.g. "TempMatch + DropRes".</summary>
    public abstract string Label(TConfig config);

    /// <summary>Builds the training task of a cell (data loading included); the runner disposes it when it is <see cref="IDisposable"/>.</summary>
    protected virtual ITrainingTask CreateTask(TConfig config, RunContext context) =>
        throw new NotSupportedException($"experiment {Name} neither creates a training task nor overrides Run.");

    /// <summary>
    /// Runs a cell: by default builds <see cref="CreateTask"/> and trains it with the <see cref="ExperimentRunner"/>
    /// (metrics, checkpoints, resume, NaN stop). Experiments that are not training runs (figures, gradient studies)
    /// override this and write their metrics with a <see cref="MetricsLog"/> into <see cref="RunContext.OutputDirectory"/>.
    /// </summary>
    protected virtual CellRunResult Run(TConfig config, RunContext context)
    {
        var task = CreateTask(config, context);
        try
        {
            var result = ExperimentRunner.Run(task, context.ToRunnerOptions(LogEvery(config), CheckpointEvery(config)), context.Observer);
            return new CellRunResult(result.Steps, result.Stopped);
        }
        finally
        {
            (task as IDisposable)?.Dispose();
        }
    }

    /// <summary>
    /// Why a combination of axis values is left out of the grid, or null (the default) to run it: for pairs of values that
    /// cannot go together (an estimator that needs an even K in a K x estimators grid), so that a grid over both axes
    /// runs the valid cells instead of refusing the whole grid. The reason should name the options, e.g.
    /// "--k 3 with ARM: K must be even".
    /// </summary>
    protected virtual string? Excluded(TConfig config) => null;

    /// <summary>An extra section of the report (after the table and curves), e.g. a figure of the experiment's own.</summary>
    protected virtual void WriteSection(IReadOnlyList<(TConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown) { }

    /// <inheritdoc />
    public IReadOnlyList<GridCell> Plan(IReadOnlyDictionary<string, string> given, string? configPath)
    {
        var values = GridSpec<TConfig>.Bind(given, configPath);
        var excluded = new List<string>();
        var cells = GridSpec<TConfig>.Expand(values, Label, SeedAxis, Excluded, excluded).Select(c => c.Cell).ToList();
        if (cells.Count == 0 && excluded.Count > 0)
            throw new SettingException("--config", $"every cell of the grid is left out: {string.Join("; ", excluded.Distinct().Select(r => r.TrimEnd('.')))}.");
        var dup = cells.GroupBy(c => c.Key).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new SettingException("--config", $"two grid cells are the same ({dup.Key}); every cell must differ.");
        return cells;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Exclusions(IReadOnlyDictionary<string, string> given, string? configPath)
    {
        var excluded = new List<string>();
        GridSpec<TConfig>.Expand(GridSpec<TConfig>.Bind(given, configPath), Label, SeedAxis, Excluded, excluded);
        return excluded.Distinct().ToList();
    }

    /// <inheritdoc />
    public CellRunResult RunCell(GridCell cell, RunContext context) => Run(GridSpec<TConfig>.FromSettings(cell.Settings), context);

    /// <inheritdoc />
    public void WriteReport(GridReportContext report, StringBuilder markdown)
    {
        if (PaperReference is { } paper) markdown.AppendLine(paper).AppendLine();
        var cells = report.Done.Select(o => (GridSpec<TConfig>.FromSettings(o.Cell.Settings), o)).ToList();
        WriteSection(cells, report, markdown);
    }

    /// <summary>
    /// A picture per row of the report: the file <paramref name="file"/> (a PNG a cell wrote into its folder) of the first
    /// cell of each row that has one, copied into the report's assets as prefix + <paramref name="assetStem"/>(config) +
    /// ".png" and listed after <paramref name="intro"/>; nothing when no cell has the file.
    /// </summary>
    protected static void AppendFirstPictures(IReadOnlyList<(TConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown,
        string file, Func<TConfig, string> assetStem, string intro)
    {
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(markdown);
        ArgumentNullException.ThrowIfNull(assetStem);
        var withPictures = cells.Where(x => File.Exists(Path.Combine(x.Outcome.Directory, file))).GroupBy(x => x.Outcome.Cell.Group).ToList();
        if (withPictures.Count == 0) return;
        markdown.AppendLine(intro).AppendLine();
        foreach (var row in withPictures)
        {
            var first = row.First();
            string png = $"{report.AssetPrefix}{assetStem(first.Config)}.png";
            File.Copy(Path.Combine(first.Outcome.Directory, file), Path.Combine(report.AssetsDirectory, png), true);
            markdown.AppendLine($"- {row.Key}: ![{row.Key}]({png})");
        }
        markdown.AppendLine();
    }

    /// <summary>Invariant text of a number (for labels and report prose).</summary>
    protected static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);
}
