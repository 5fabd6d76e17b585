using System.Diagnostics;
using System.Text;
using System.Text.Json;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>
/// The <c>vae</c> experiment: the MNIST categorical VAE of Liu et al. 2023 ("Bridging Discrete and Backpropagation:
/// Straight-Through and Beyond", Table 2) over configurations x estimators x seeds, one <see cref="VaeTask"/> per cell.
/// The report's table gives per (configuration, estimator) the final train -ELBO (the mean of the single-sample training
/// loss over the last epoch) and test -ELBO, mean +- std over seeds, and the wall and CPU seconds per epoch; below it the
/// paper's Table 2, a test and a train curve per configuration, and <c>summary.csv</c> with every cell's final numbers.
/// </summary>
public sealed class VaeExperiment : Experiment<VaeConfig>
{
    private const string CpuFile = "cpu.json";

    /// <inheritdoc />
    public override string Name => "vae";
    /// <inheritdoc />
    public override string Description => "MNIST categorical VAE (ReinMax paper, Table 2): train -ELBO and test -ELBO per configuration and estimator.";
    /// <inheritdoc />
    public override string Title => "MNIST categorical VAE (ReinMax paper, Table 2)";

    /// <summary>"8x4 ReinMax"; VIMCO with its K, "8x4 VIMCO (K=4)".</summary>
    public override string Label(VaeConfig config) =>
        $"{config.Shape} {VaeEstimators.Display(config.Estimator)}{(config.Estimator == VaeEstimator.Vimco ? $" (K={config.VimcoSamples})" : "")}";

    /// <summary>The training metrics are averaged over 100 steps.</summary>
    public override long LogEvery(VaeConfig config) => 100;

    /// <summary>A checkpoint every 5 epochs.</summary>
    public override long CheckpointEvery(VaeConfig config) => 5 * config.StepsPerEpoch;

    /// <summary>epochs, train -ELBO, test -ELBO (final evaluation), wall and CPU seconds per epoch (training and evaluation).</summary>
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("epochs", "epoch", "0.##"),
        SummaryMetric.FinalEval("train -ELBO", "train_nelbo", "F2"),
        SummaryMetric.FinalEval("test -ELBO", "test_nelbo", "F2"),
        new SummaryMetric("s / epoch", o => o.SecondsPerStep * StepsPerEpoch(o), "F1"),
        new SummaryMetric("CPU s / epoch", o => CpuSecondsPerStep(o) * StepsPerEpoch(o), "F1"),
    };

    /// <summary>Table 2 of Liu et al. 2023: training -ELBO after 160 epochs, mean +- std over 10 seeds, by estimator and configuration.</summary>
    public static IReadOnlyList<(string Estimator, string[] Values)> PaperTable2 { get; } = new[]
    {
        ("STGS", new[] { "126.85±0.85", "101.32±0.43", "99.32±0.33", "100.09±0.32", "104±0.41", "99.63±0.63" }),
        ("GR-MCK", new[] { "125.94±0.71", "99.96±0.25", "99.58±0.31", "102.54±0.48", "112.34±0.48", "102.02±0.18" }),
        ("GST-1.0", new[] { "126.35±1.24", "101.49±0.44", "98.29±0.66", "98.12±0.57", "102.53±0.57", "98.64±0.33" }),
        ("ST", new[] { "135.53±0.31", "112.03±0.03", "112.94±0.32", "113.31±0.43", "113.90±0.28", "112.63±0.34" }),
        ("ReinMax", new[] { "124.66±0.88", "99.77±0.45", "97.70±0.39", "98.06±0.53", "100.71±0.70", "98.37±0.44" }),
    };

    /// <inheritdoc />
    public override string PaperReference
    {
        get
        {
            var shapes = VaeConfig.Table2.Select(t => $"{t.Categories}x{t.Latents}").ToArray();
            var md = new StringBuilder();
            md.AppendLine("Paper (Liu et al. 2023, \"Bridging Discrete and Backpropagation: Straight-Through and Beyond\", Table 2): training " +
                          "-ELBO after 160 epochs, mean ± std over 10 seeds, hyperparameters searched per estimator (only ReinMax's are published; " +
                          "the score-function estimators are not in the table).").AppendLine();
            md.Append(MarkdownTable.Render(new[] { "estimator" }.Concat(shapes).ToArray(),
                PaperTable2.Select(r => (IReadOnlyList<string>)new[] { r.Estimator }.Concat(r.Values).ToArray())));
            return md.ToString().TrimEnd();
        }
    }

    /// <summary>
    /// Loads MNIST, trains the cell's <see cref="VaeTask"/> with the runner, and records the CPU seconds per step of this
    /// invocation (the process's user + system time: a cell runs in a process of its own) in <c>cpu.json</c>.
    /// </summary>
    protected override CellRunResult Run(VaeConfig config, RunContext context)
    {
        var device = context.TorchDevice;
        var mnist = MnistFolder.Load(config.Data, context.Log);
        context.Log($"MNIST: {mnist.Train.Count} training and {mnist.Test.Count} test images from {mnist.Files.Location.Directory}");
        using var task = new VaeTask(config, VaeData.FromMnist(mnist, config.TrainExamples, config.TestExamples, device), device, ownsData: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var result = ExperimentRunner.Run(task, context.ToRunnerOptions(LogEvery(config), CheckpointEvery(config)), context.Observer);
        double seconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        // A cell that ran no step now (resumed after its last step) keeps the timing of the invocation that trained it.
        if (result.Steps > result.StartStep)
            GridFolder.WriteAtomically(Path.Combine(context.OutputDirectory, CpuFile),
                JsonSerializer.Serialize(new Dictionary<string, double> { ["cpuSecondsPerStep"] = seconds / (result.Steps - result.StartStep) }));
        return new CellRunResult(result.Steps, result.Stopped);
    }

    /// <summary>
    /// <c>summary.csv</c> (every finished cell's final numbers), a test -ELBO and a training -ELBO curve per configuration
    /// (mean +- std over seeds per estimator), and what the columns mean.
    /// </summary>
    protected override void WriteSection(IReadOnlyList<(VaeConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        string csv = report.AssetPrefix + "summary.csv";
        using (var w = new CsvWriter(Path.Combine(report.AssetsDirectory, csv), new[] { "config", "estimator", "seed", "epochs", "train_nelbo", "test_nelbo", "test_bce", "test_kl", "seconds_per_epoch", "cpu_seconds_per_epoch" }))
            foreach (var (c, o) in cells)
                w.WriteRow(c.Shape, VaeEstimators.Key(c.Estimator), c.Seed, Final(o, "epoch"), Final(o, "train_nelbo"), Final(o, "test_nelbo"),
                    Final(o, "test_bce"), Final(o, "test_kl"), o.SecondsPerStep * c.StepsPerEpoch, CpuSecondsPerStep(o) * c.StepsPerEpoch);
        markdown.AppendLine("*train -ELBO*: mean over the last epoch of the single-sample training loss BCE + KL at the step's samples (the " +
                            "reference's \"Average loss\"; for VIMCO the mean over its K samples of the single-sample -ELBO, not its K-sample bound). " +
                            "*test -ELBO*: mean over the test images of BCE(z, x) + KL with z ~ q(z | x) drawn hard, the same for every estimator. " +
                            "*s / epoch*: wall seconds per epoch including the test evaluation; *CPU s / epoch*: CPU seconds of the cell's process " +
                            $"per epoch. Every cell's final numbers: [{csv}]({csv}).").AppendLine();
        foreach (var shape in cells.Select(x => x.Config.Shape).Distinct())
        {
            var outcomes = cells.Where(x => x.Config.Shape == shape).Select(x => x.Outcome).ToList();
            double stepsPerEpoch = cells.First(x => x.Config.Shape == shape).Config.StepsPerEpoch;
            foreach (var (file, kind, metric, label, title) in new[]
                     {
                         ($"test-nelbo-{shape}.png", "eval", "test_nelbo", "test -ELBO (nats)", "test -ELBO"),
                         ($"train-nelbo-{shape}.png", "train", "loss", "training -ELBO, single sample (nats)", "training -ELBO"),
                     })
            {
                // Evaluations carry their epoch; training records are placed at step / steps per epoch.
                var series = GridReport.Series(outcomes, new CurveSpec(file, label, metric, kind, kind == "eval" ? "epoch" : null))
                    .Select(s => kind == "eval" ? s : s with { X = s.X.Select(x => x / stepsPerEpoch).ToArray() }).ToList();
                if (series.Count == 0) continue;
                string png = report.AssetPrefix + file;
                // The y axis fits the last 90% of the epochs: over 160 epochs the -ELBO falls from about 240 to 100 in
                // the first few, and the estimators' differences at the end are a few nats.
                LinePlot.SavePng(Path.Combine(report.AssetsDirectory, png),
                    new LinePlotLayout($"MNIST categorical VAE {shape}: {title}, mean +- std over seeds", "epoch", label,
                        FitTail: true), series);
                markdown.AppendLine($"![{shape}: {label}]({png})").AppendLine();
            }
        }
    }

    private static double Final(CellOutcome o, string metric) => o.FinalEval.TryGetValue(metric, out var v) ? v : double.NaN;

    private static double StepsPerEpoch(CellOutcome o) => GridSpec<VaeConfig>.FromSettings(o.Cell.Settings).StepsPerEpoch;

    /// <summary>The cell's CPU seconds per step from <c>cpu.json</c> (NaN when it has none).</summary>
    private static double CpuSecondsPerStep(CellOutcome o)
    {
        string path = Path.Combine(o.Directory, CpuFile);
        if (!File.Exists(path)) return double.NaN;
        try
        {
            var d = JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(path));
            return d is not null && d.TryGetValue("cpuSecondsPerStep", out var v) ? v : double.NaN;
        }
        catch (JsonException)
        {
            return double.NaN;
        }
    }
}
