using System.Globalization;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;

namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// The settings of <c>mnist-addition-evaluate</c>: which cells of a trained <c>mnist-addition</c> grid to score again
/// (schemes x seeds, as given to the training command) and how (the evaluation modes, a third axis). Every other setting
/// of a model (architecture, digits, test examples, ...) is read from its training cell.
/// </summary>
public sealed record MnistAdditionEvaluationConfig
{
    /// <summary>Folder of the trained grid (the <c>--out</c> of <c>mnist-addition</c>).</summary>
    [Setting("grid", "Folder of the trained mnist-addition grid (its --out).", Local = true)]
    public string Grid { get; init; } = "runs/mnist-addition";
    /// <summary>Scheme of the training cells to evaluate (a sweep axis).</summary>
    [Setting("schemes", "Schemes of the training cells to evaluate.", Axis = true, Values = typeof(AdditionSchemeNames))]
    public AdditionScheme Scheme { get; init; } = AdditionScheme.TempMatchDropRes;
    /// <summary>Seed of the training cells to evaluate (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the training cells to evaluate.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;
    /// <summary>Evaluation mode (a sweep axis).</summary>
    [Setting("eval", "Evaluations, always without the residual: sample (hard, beta = 1 Gumbel-max), argmax, or relaxed (the training relaxation at beta = 1).", Axis = true)]
    public AdditionEvaluation Evaluation { get; init; } = AdditionEvaluation.Sample;
    /// <summary>Folder of the MNIST files, or <see cref="MnistDataSetting.Auto"/>.</summary>
    [Setting("data", MnistDataSetting.Help, Local = true)]
    public string Data { get; init; } = MnistDataSetting.Auto;
}

/// <summary>
/// The <c>mnist-addition-evaluate</c> experiment: each cell loads the latest checkpoint of the matching cell of a trained
/// <c>mnist-addition</c> grid (same scheme and seed), evaluates it once with its evaluation mode
/// (<see cref="MnistAdditionTask.Evaluate"/>, the same test examples as in training) and logs the metrics as one "eval"
/// record; the report is the table of those, mean +- std over seeds per scheme and mode.
/// </summary>
public sealed class MnistAdditionEvaluation : Experiment<MnistAdditionEvaluationConfig>
{
    /// <inheritdoc />
    public override string Name => "mnist-addition-evaluate";
    /// <inheritdoc />
    public override string Description => "Re-scores the latest checkpoints of an mnist-addition grid with other evaluation modes (sample, argmax, relaxed).";
    /// <inheritdoc />
    public override string Title => "MNIST addition: checkpoints evaluated again";
    /// <inheritdoc />
    public override string Label(MnistAdditionEvaluationConfig config) =>
        $"{AdditionSchemes.Display(config.Scheme)}, {SettingSpec.Kebab(config.Evaluation.ToString())}";

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        new SummaryMetric("steps", o => o.Records.LastOrDefault(r => r.Kind == "eval")?.Step ?? double.NaN, "F0"),
        SummaryMetric.FinalEval("test accuracy", "test_accuracy"),
        SummaryMetric.FinalEval("digit accuracy", "digit_accuracy"),
        SummaryMetric.FinalEval("categories used", "categories_used", "F1"),
    };

    /// <summary>
    /// The training cell of <paramref name="config"/> in its grid and that cell's configuration with the evaluation mode
    /// replaced (and its MNIST folder, unless <see cref="MnistAdditionEvaluationConfig.Data"/> is auto).
    /// </summary>
    /// <exception cref="SettingException">The folder holds no mnist-addition grid, or no cell of that scheme and seed.</exception>
    public static (GridCell Cell, MnistAdditionConfig Config) TrainingCell(MnistAdditionEvaluationConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!File.Exists(Path.Combine(config.Grid, GridFolder.GridFileName)))
            throw new SettingException("--grid", $"--grid {config.Grid} holds no grid (no {GridFolder.GridFileName}): give the --out of an mnist-addition run.");
        var file = GridFolder.Read(config.Grid);
        var training = new MnistAdditionExperiment();
        if (file.Experiment != training.Name)
            throw new SettingException("--grid", $"--grid {config.Grid} holds a grid of {file.Experiment}, not of {training.Name}.");
        var specs = GridSpec<MnistAdditionConfig>.Settings;
        string scheme = specs.Single(s => s.Name == "schemes").Format(config.Scheme);
        string seed = specs.Single(s => s.Name == "seeds").Format(config.Seed);
        var cell = file.Cells.FirstOrDefault(c => c.Settings.GetValueOrDefault("schemes") == scheme && c.Settings.GetValueOrDefault("seeds") == seed)
            ?? throw new SettingException("--grid", $"--grid {config.Grid} has no cell of scheme {scheme} and seed {seed}; it has: " +
                                                    string.Join(", ", file.Cells.Select(c => $"{c.Settings.GetValueOrDefault("schemes")} seed {c.Settings.GetValueOrDefault("seeds")}")) + ".");
        var trained = GridSpec<MnistAdditionConfig>.FromSettings(cell.Settings);
        return (cell, trained with { Evaluation = config.Evaluation, Data = config.Data == MnistDataSetting.Auto ? trained.Data : config.Data });
    }

    /// <inheritdoc />
    protected override CellRunResult Run(MnistAdditionEvaluationConfig config, RunContext context)
    {
        var (cell, trained) = TrainingCell(config);
        string dir = GridFolder.CellDirectory(config.Grid, cell);
        using var pairs = new AdditionPairs(MnistDataSetting.Load(trained.Data, context.Log), trained, context.TorchDevice);
        using var task = new MnistAdditionTask(trained, pairs);
        long steps = CheckpointStore.TryRestore(task, dir)
                     ?? throw new IOException($"no checkpoint in {dir}: train the cell first (mnist-addition --out {config.Grid}).");
        IReadOnlyDictionary<string, double> metrics;
        using (torch.no_grad())
        using (torch.NewDisposeScope())
            metrics = task.Evaluate(steps);
        using var log = new MetricsLog(context.OutputDirectory, null);
        log.Write(new MetricsRecord("eval", steps, metrics.ToDictionary(kv => kv.Key, kv => kv.Value)));
        context.Log(string.Create(CultureInfo.InvariantCulture, $"{cell.Label}, {config.Evaluation}: step {steps}, test accuracy {metrics["test_accuracy"]:F3}"));
        return new CellRunResult(steps, false);
    }
}
