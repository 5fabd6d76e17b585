using System.Text;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Warcraft;

/// <summary>
/// The <c>warcraft</c> experiment: shortest paths on generated Warcraft-style maps, I-MLE (Niepert, Minervini and
/// Franceschi, NeurIPS 2021) and AIMLE (Minervini, Franceschi and Niepert, "Adaptive Perturbation-Based Gradient
/// Estimation for Discrete Latent Variable Models", AAAI 2023) around Dijkstra against a CNN that predicts the path. One
/// cell per method and seed; each cell generates the fixed train / validation / test maps, trains a
/// <see cref="WarcraftTask"/> and leaves two pictures of test map 0 (<c>map.png</c>, <c>paths.png</c>) that the report shows.
/// </summary>
public sealed class WarcraftExperiment : Experiment<WarcraftConfig>
{
    /// <summary>The test map of the pictures.</summary>
    public const int ExampleMap = 0;

    /// <inheritdoc />
    public override string Name => "warcraft";
    /// <inheritdoc />
    public override string Description => "Shortest paths on generated Warcraft-style maps: I-MLE / AIMLE around Dijkstra vs a CNN that predicts the path.";
    /// <inheritdoc />
    public override string Title => "Shortest paths on Warcraft-style maps (I-MLE / AIMLE vs a direct CNN)";
    /// <inheritdoc />
    public override string Label(WarcraftConfig config) => $"{WarcraftMethods.Display(config.Method)} {config.Size}x{config.Size}";

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("epochs", "epoch", "F0"),
        SummaryMetric.FinalEval("test accuracy", "test_accuracy", "P1"),
        SummaryMetric.FinalEval("val accuracy", "val_accuracy", "P1"),
        SummaryMetric.BestEval("best val accuracy", "val_accuracy", format: "P1"),
        SummaryMetric.FinalEval("test exact match", "test_exact_match", "P1"),
        SummaryMetric.FinalEval("test Hamming", "test_hamming", "F2"),
        SummaryMetric.FinalEval("test regret", "test_regret", "P2"),
        SummaryMetric.SecondsPerEpoch(),
    };

    /// <inheritdoc />
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("test-accuracy", "Warcraft shortest paths: test accuracy", "test_accuracy", XMetric: "epoch", XLabel: "epoch"),
    };

    /// <inheritdoc />
    public override string PaperReference =>
        "For orientation only (the maps, the network and the training budget all differ): on the original Warcraft 12x12 data, Niepert et al. " +
        "(2021) report about 97 % test accuracy for I-MLE (lambda = 20, ResNet18 stem, 50 epochs), Vlastelica et al. (2020) " +
        "about 95 % for blackbox differentiation, and a ResNet18 that predicts the path directly stays far below (about 40 %).";

    /// <inheritdoc />
    public override long LogEvery(WarcraftConfig config) => 20;
    /// <inheritdoc />
    public override long CheckpointEvery(WarcraftConfig config) => 500;

    /// <inheritdoc />
    protected override ITrainingTask CreateTask(WarcraftConfig config, RunContext context)
    {
        var train = WarcraftDataset.Generate(WarcraftSplit.Train, config.Size, config.TrainMaps, config.PatchSize);
        var validation = WarcraftDataset.Generate(WarcraftSplit.Validation, config.Size, config.ValidationMaps, config.PatchSize);
        var test = WarcraftDataset.Generate(WarcraftSplit.Test, config.Size, config.TestMaps, config.PatchSize);
        return new WarcraftTask(config, train, validation, test, context.TorchDevice, ownsData: true);
    }

    /// <summary>Trains the cell's task and, when it finished, writes the pictures of <see cref="ExampleMap"/> into its folder.</summary>
    protected override CellRunResult Run(WarcraftConfig config, RunContext context)
    {
        using var task = (WarcraftTask)CreateTask(config, context);
        var result = ExperimentRunner.Run(task, context.ToRunnerOptions(LogEvery(config), CheckpointEvery(config)), context.Observer);
        if (!result.Stopped) task.SaveExamplePictures(context.OutputDirectory, ExampleMap);
        return new CellRunResult(result.Steps, result.Stopped);
    }

    /// <inheritdoc />
    protected override void WriteSection(IReadOnlyList<(WarcraftConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        var c = cells[0].Config;
        markdown.AppendLine("## Setup").AppendLine().AppendLine(Setup(c));
        var withPictures = cells.Where(x => File.Exists(Path.Combine(x.Outcome.Directory, "paths.png"))).ToList();
        if (withPictures.Count == 0) return;
        string map = report.AssetPrefix + "map.png";
        File.Copy(Path.Combine(withPictures[0].Outcome.Directory, "map.png"), Path.Combine(report.AssetsDirectory, map), true);
        markdown.AppendLine($"One map's image (test map {ExampleMap}, enlarged 4x):").AppendLine();
        markdown.AppendLine($"![map]({map})").AppendLine();
        markdown.AppendLine("The same map with the true path (white line, rings) and each method's predicted path (red line, dots), first seed of each row:").AppendLine();
        foreach (var row in withPictures.GroupBy(x => x.Outcome.Cell.Group))
        {
            var first = row.First();
            string png = $"{report.AssetPrefix}paths-{WarcraftMethods.Name(first.Config.Method)}.png";   // one row per method: the size is not an axis
            File.Copy(Path.Combine(first.Outcome.Directory, "paths.png"), Path.Combine(report.AssetsDirectory, png), true);
            markdown.AppendLine($"- {row.Key}: ![{WarcraftMethods.Name(first.Config.Method)}]({png})");
        }
        markdown.AppendLine();
    }

    /// <summary>The paragraphs that describe the maps, the models and the training of a configuration.</summary>
    public static string Setup(WarcraftConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var md = new StringBuilder();
        md.AppendLine("Our own generator (`src/DiscreteGrad.Experiments/Warcraft`) draws an N x N grid " +
                      "of five terrain types with costs road 0.8, grass 1.2, forest 5.3, mountain 7.7, water 9.2 (the published cost " +
                      "range of the Warcraft benchmark of Vlastelica et al. is [0.8, 9.2]), spatially coherent (two smoothed Gaussian " +
                      "fields, elevation and moisture, thresholded), and renders each cell as a textured " +
                      $"{c.PatchSize} x {c.PatchSize} RGB patch (base colour, per-cell brightness, a per-terrain pattern at a random " +
                      "phase, pixel noise), so costs must be read from pixels. The true path is the 8-neighbourhood Dijkstra path " +
                      "(0,0) -> (N-1,N-1) on the true costs, both end cells included (`GridShortestPathSolver`). Train / validation / " +
                      $"test maps: {c.TrainMaps} / {c.ValidationMaps} / {c.TestMaps}, from fixed seeds (`WarcraftDataset.SetSeed`).").AppendLine();
        md.AppendLine("Models (same CNN for all, `WarcraftNet`: conv 4x4/4, conv 3x3, max-pool to N x N, " +
                      $"{c.Depth} conv 3x3 at cell level, {c.Channels} channels, conv 1x1 to one number per cell):").AppendLine();
        md.AppendLine($"- **I-MLE**: costs = softplus(CNN), z = Dijkstra(costs + eps) through `ImleLayer` (minimisation, Sum-of-Gamma noise " +
                      $"k = {Inv(c.EffectiveNoiseK)}, temperature {Inv(c.NoiseTemperature)}, 1 sample, forward difference, " +
                      $"fixed lambda = {Inv(c.Lambda)} with the 1/lambda scaling; perturbed costs clamped at 0 for Dijkstra); loss = " +
                      "Hamming distance to the true path, averaged over the batch.");
        md.AppendLine($"- **AIMLE**: the same with `AdaptiveImleTarget` (lambda = beta ||theta|| / ||dz||, beta from " +
                      $"{Inv(c.AimleInitialBeta)} in steps of {Inv(c.AimleStep)} towards " +
                      $"{Inv(c.EffectiveTargetNonZeros)} non-zero gradient entries per map).");
        md.AppendLine("- **direct CNN**: the CNN's output are path logits, binary cross-entropy to the true path mask; to score it we " +
                      "decode a valid path by Dijkstra on softplus(-logits) = -log sigmoid(logits) (the most probable path if cells were " +
                      "independent), which is kinder to the baseline than thresholding (a thresholded mask is rarely a path).").AppendLine();
        md.AppendLine($"Training: Adam lr {Inv(c.LearningRate)}, x0.1 at 60 % and 80 % of the epochs, batch {c.BatchSize}, " +
                      $"{c.Epochs} epochs, torch threads as in each run's summary. Accuracy = fraction of test maps whose predicted path " +
                      "(noise-free Dijkstra on the predicted costs) has a TRUE cost within a relative 1e-4 of the optimal cost " +
                      "(|c(z) - c*| <= 1e-4 c*); equally short alternative paths count as correct. *exact match*: the path equals the " +
                      "generator's path cell by cell; *Hamming*: mean number of differing cells; *regret*: mean (c(z) - c*) / c*.");
        return md.ToString();
    }
}
