using System.Text;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Nri;

/// <summary>
/// The <c>nri</c> experiment: neural relational inference on graph layouts with a spanning-tree latent (Paulus et al.,
/// "Gradient Estimation with Stochastic Softmax Tricks", NeurIPS 2020; Minervini, Franceschi and Niepert, "Adaptive
/// Perturbation-Based Gradient Estimation for Discrete Latent Variable Models", AAAI 2023, Table of NRI results). One cell
/// per edge estimator, T and seed; each generates the fixed data set (<see cref="GraphLayoutData"/>), trains an
/// <see cref="NriTask"/> and leaves a picture of test trajectory 0 with the true and the inferred tree (<c>graph.png</c>).
/// </summary>
public sealed class NriExperiment : Experiment<NriConfig>
{
    /// <summary>The test trajectory of the pictures.</summary>
    public const int ExampleTrajectory = 0;

    /// <inheritdoc />
    public override string Name => "nri";
    /// <inheritdoc />
    public override string Description => "Neural relational inference on graph layouts with a spanning-tree latent: SST vs I-MLE / AIMLE (forward, central) around Kruskal.";
    /// <inheritdoc />
    public override string Title => "Neural relational inference on graph layouts (SST vs I-MLE / AIMLE)";
    /// <inheritdoc />
    public override string Label(NriConfig config) => $"{NriMethods.Display(config.Method)}, T = {config.Timesteps}";

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        new SummaryMetric("steps", o => o.Records.LastOrDefault(r => r.Kind == "eval")?.Step ?? double.NaN, "F0"),
        SummaryMetric.FinalEval("test ELBO (reference's eval)", "test_elbo", "F1"),
        SummaryMetric.FinalEval("test ELBO, sampled tree", "test_elbo_sample", "F1"),
        SummaryMetric.FinalEval("test ELBO, MAP tree", "test_elbo_map", "F1"),
        SummaryMetric.FinalEval("test KL", "test_kl", "F1"),
        SummaryMetric.FinalEval("edge precision = recall, sampled", "test_precision_sample", "P1"),
        SummaryMetric.FinalEval("edge precision = recall, MAP", "test_precision_map", "P1"),
        SummaryMetric.BestEval("best val ELBO (reference's eval)", "val_elbo", format: "F1"),
        SummaryMetric.SecondsPerStep(),
    };

    /// <inheritdoc />
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("val-elbo", "NRI on graph layouts: validation ELBO (reference's evaluation)", "val_elbo", XLabel: "step"),
        new CurveSpec("val-precision", "NRI on graph layouts: validation edge precision (MAP tree)", "val_precision_map", XLabel: "step"),
        new CurveSpec("train-elbo", "NRI on graph layouts: training ELBO (batch, P-step rollout)", "elbo", Kind: "train", XLabel: "step"),
    };

    /// <inheritdoc />
    public override string PaperReference =>
        "The Adaptive I-MLE paper (Minervini, Franceschi and Niepert, AAAI 2023), its table of NRI on graph layouts: test ELBO and edge " +
        "precision / recall in % (mean +- std over seeds; 50000 iterations of batch 128, hyperparameters tuned per method, the checkpoint " +
        "of the best validation ELBO):\n\n" +
        "| edge distribution | T = 10: ELBO | precision | recall | T = 20: ELBO | precision | recall |\n" +
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n" +
        "| SST (hard) | -2301.47 +- 85.86 | 33.75 +- 9.44 | 60.40 +- 23.23 | -3407.89 +- 221.53 | 57.40 +- 17.87 | 70.42 +- 8.22 |\n" +
        "| I-MLE (forward) | -2289.94 +- 4.31 | 23.94 +- 0.03 | 95.75 +- 0.14 | -3820.68 +- 25.32 | 20.28 +- 0.12 | 20.28 +- 0.12 |\n" +
        "| I-MLE (central) | -2341.71 +- 41.68 | 43.95 +- 7.22 | 43.95 +- 7.22 | -3447.29 +- 550.38 | 40.25 +- 14.26 | 40.25 +- 14.26 |\n" +
        "| AIMLE (forward) | -1877.90 +- 277.53 | 55.23 +- 11.86 | 55.23 +- 11.86 | -1884.83 +- 124.62 | 40.48 +- 4.25 | 40.48 +- 4.25 |\n" +
        "| AIMLE (central) | -2018.39 +- 357.16 | 29.32 +- 6.89 | 41.83 +- 21.51 | -1999.57 +- 856.27 | 70.89 +- 24.77 | 83.73 +- 1.31 |\n\n" +
        "Where precision and recall differ, the reference read (for some seeds) the complement of the tree, its 36 non-edges, as the " +
        "graph: it keeps the reading of the higher precision, and the complement's is the higher when the tree holds fewer than 20 % of the " +
        "true edges (e.g. I-MLE forward at T = 10: precision 23.94 and recall 95.75 are the complement of trees with 4.25 % true edges). " +
        "Our precision counts the tree's own edges; it equals the reference's number whenever it exceeds 20 %.";

    /// <inheritdoc />
    public override long LogEvery(NriConfig config) => 10;
    /// <inheritdoc />
    public override long CheckpointEvery(NriConfig config) => 100;

    /// <inheritdoc />
    protected override ITrainingTask CreateTask(NriConfig config, RunContext context) => CreateNriTask(config, context.Log);

    /// <summary>Generates the three splits (normalised by the training extent, as the references) and builds the task.</summary>
    public static NriTask CreateNriTask(NriConfig config, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var train = GraphLayoutData.Generate(GraphLayoutSplit.Train, config.TrainTrajectories, config.Vertices, config.Timesteps, config.DataSeed);
        var valid = GraphLayoutData.Generate(GraphLayoutSplit.Valid, config.ValidTrajectories, config.Vertices, config.Timesteps, config.DataSeed);
        var test = GraphLayoutData.Generate(GraphLayoutSplit.Test, config.TestTrajectories, config.Vertices, config.Timesteps, config.DataSeed);
        var (min, max) = train.Extent();
        foreach (var d in new[] { train, valid, test }) d.Normalise(min, max);
        log?.Invoke($"generated {config.TrainTrajectories} / {config.ValidTrajectories} / {config.TestTrajectories} trajectories (T = {config.Timesteps}) in {watch.Elapsed.TotalSeconds:F1} s; training extent [{min:G6}, {max:G6}]");
        return new NriTask(config, train, valid, test, ownsData: true);
    }

    /// <summary>Trains the cell's task and, when it finished, draws test trajectory <see cref="ExampleTrajectory"/> into its folder.</summary>
    protected override CellRunResult Run(NriConfig config, RunContext context)
    {
        using var task = CreateNriTask(config, context.Log);
        var result = ExperimentRunner.Run(task, context.ToRunnerOptions(LogEvery(config), CheckpointEvery(config)), context.Observer);
        if (!result.Stopped)
        {
            var (positions, truth, inferred) = task.Example(ExampleTrajectory);
            NriGraphPicture.Save(Path.Combine(context.OutputDirectory, "graph.png"), $"{NriMethods.Display(config.Method)}, T = {config.Timesteps}, test trajectory {ExampleTrajectory}",
                positions, config.Vertices, truth, inferred);
        }
        return new CellRunResult(result.Steps, result.Stopped);
    }

    /// <inheritdoc />
    protected override void WriteSection(IReadOnlyList<(NriConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        var c = cells[0].Config;
        markdown.AppendLine("## Setup").AppendLine();
        markdown.AppendLine(Setup(c)).AppendLine();
        markdown.AppendLine("Estimators of this grid:").AppendLine();
        foreach (var row in cells.GroupBy(x => x.Outcome.Cell.Group))
            markdown.AppendLine($"- **{row.Key}**: {NriTask.Estimator(row.First().Config)}.");
        markdown.AppendLine();
        AppendFirstPictures(cells, report, markdown, "graph.png", x => $"graph-{NriMethods.Name(x.Method)}-t{x.Timesteps}",
            $"Test trajectory {ExampleTrajectory}: vertex tracks over the T frames (grey), the last frame's positions, the true " +
            "tree (thick grey) and the MAP tree of the first seed of each row (coloured; dashed where wrong):");
    }

    /// <summary>The paragraphs that describe the data, the model and the evaluation of a configuration.</summary>
    public static string Setup(NriConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        return $"Data (`GraphLayoutData`, our C# port of the SST paper's generate_graph_layout_dataset.py): {c.Vertices} vertices in 2-D; the " +
               "true interaction graph is the maximum spanning tree (Kruskal) of i.i.d. Gumbel(0, 1) weights on the undirected edges; initial " +
               $"positions N(0, 1); then T = {c.Timesteps} calls of networkx's spring_layout with one iteration each (Fruchterman-Reingold, " +
               "k = sqrt(1/n), step = 0.1 x the position range, re-centred and rescaled to unit scale after each call; `SpringLayout`), every " +
               $"call recorded; {c.TrainTrajectories} / {c.ValidTrajectories} / {c.TestTrajectories} trajectories from data seed {c.DataSeed}, " +
               "normalised to [-1, 1] by the training extent.\n\n" +
               $"Model (NRI, Kipf et al. 2018): factor-graph MLP encoder and MLP decoder with {c.Hidden} hidden units; one logit per directed " +
               "edge, symmetrised (mean of both directions) to one logit per undirected edge; the latent is a spanning tree, fed to the decoder " +
               $"as two edge types (1 - z, z) on both directions; training rolls out {c.EffectivePredictionSteps} steps from frame 0. Loss per " +
               $"trajectory: Gaussian NLL with variance {Inv(c.Variance)} (sum over vertices, frames and coordinates of (x_hat - x)^2 / (2 variance), " +
               "divided by n) + KL of the Gumbel-perturbed edge weights, Gumbel(theta, 1) to Gumbel(0, 1), sum of theta + exp(-theta) - 1 over " +
               "the directed edges divided by n (the references' KL for the tree latent, for every method); ELBO = -(NLL + KL). Adam lr " +
               $"{Inv(c.LearningRate)} (x{Inv(c.LrGamma)} every {c.LrDecayEpochs} epochs), batch {c.BatchSize}, {c.Steps} steps.\n\n" +
               $"Evaluation (eval mode, one-step predictions from every frame) on the first {c.ValidExamples} validation trajectories every " +
               $"{c.EvalEvery} steps and on the first {c.TestExamples} test trajectories after the last step, with two trees: a sample " +
               "Kruskal(theta + G), G ~ Gumbel(0, 1) (how the SST reference evaluates, and its edge metric), and the MAP tree Kruskal(theta) " +
               "(how the AIMLE reference evaluates I-MLE and AIMLE: noise temperature 0). *reference's eval*: the sample for SST, the MAP tree " +
               "for I-MLE and AIMLE. Edge precision = true edges in the tree / (n - 1); both trees have n - 1 edges, so precision and recall " +
               "coincide.";
    }
}
