using System.Text;
using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.L2x;

/// <summary>
/// The <c>l2x</c> experiment: learning to explain with k-subsets on synthetic multi-aspect beer reviews (the stand-in for
/// the BeerAdvocate experiment of Niepert, Minervini and Franceschi, NeurIPS 2021, and Minervini, Franceschi and Niepert,
/// AAAI 2023), one cell per estimator, k, aspect and seed, each an <see cref="L2xTask"/>. The report shows the final test
/// MSE and subset precision of the MAP explanation, mean +- std over seeds, seconds per step, their curves and one
/// explained test review per row.
/// </summary>
public sealed class L2xExperiment : Experiment<L2xConfig>
{
    /// <summary>The test review drawn in each cell's picture.</summary>
    public const int ExampleReview = 0;

    /// <inheritdoc />
    public override string Name => "l2x";
    /// <inheritdoc />
    public override string Description => "Learning to explain (L2X) with k-subsets on synthetic beer reviews: I-MLE, AIMLE, STE, SFE, SIMPLE.";
    /// <inheritdoc />
    public override string Title => "Learning to explain with k-subsets on synthetic beer reviews (I-MLE and AIMLE papers)";
    /// <inheritdoc />
    public override string Label(L2xConfig config) => config.Display;

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("test MSE", "test_mse", "F4"),
        new SummaryMetric("subset precision (%)", o => o.FinalEval.TryGetValue("precision", out var p) ? 100 * p : double.NaN, "F1"),
        SummaryMetric.BestEval("best test MSE", "test_mse", lowest: true, format: "F4"),
        SummaryMetric.SecondsPerStep(),
    };

    /// <inheritdoc />
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("test-mse", "L2X on synthetic beer reviews: test MSE (MAP subset)", "test_mse"),
        new CurveSpec("precision", "L2X on synthetic beer reviews: subset precision (MAP subset)", "precision"),
    };

    /// <inheritdoc />
    public override long LogEvery(L2xConfig config) => 10;
    /// <inheritdoc />
    public override long CheckpointEvery(L2xConfig config) => 500;

    /// <summary>Generates the reviews and builds the task.</summary>
    public static L2xTask CreateL2xTask(L2xConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new L2xTask(config, new L2xData(config), ownsData: true);
    }

    /// <inheritdoc />
    protected override ITrainingTask CreateTask(L2xConfig config, RunContext context) => CreateL2xTask(config);

    /// <summary>Trains the cell's task and, when it finished, draws test review <see cref="ExampleReview"/> into its folder.</summary>
    protected override CellRunResult Run(L2xConfig config, RunContext context)
    {
        using var task = CreateL2xTask(config);
        var result = ExperimentRunner.Run(task, context.ToRunnerOptions(LogEvery(config), CheckpointEvery(config)), context.Observer);
        if (!result.Stopped)
        {
            var (words, rationale, selected, predicted, rating) = task.Example(ExampleReview);
            L2xReviewPicture.Save(Path.Combine(context.OutputDirectory, "review.png"), $"{config.Display}, seed {config.Seed}, test review {ExampleReview}",
                words, rationale, selected, predicted, rating);
        }
        return new CellRunResult(result.Steps, result.Stopped);
    }

    /// <inheritdoc />
    protected override void WriteSection(IReadOnlyList<(L2xConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        markdown.AppendLine("## Setup").AppendLine().AppendLine(Setup(cells[0].Config, cells.Select(x => x.Config.K).Distinct().Order().ToList())).AppendLine();
        markdown.AppendLine("Estimators of this grid:").AppendLine();
        foreach (var row in cells.GroupBy(x => x.Outcome.Cell.Group))
            markdown.AppendLine($"- **{row.Key}**: {L2xTask.Estimator(row.First().Config)}.");
        markdown.AppendLine();
        AppendFirstPictures(cells, report, markdown, "review.png", x => $"review-{GradientMethods.Key(x.Method)}-k{x.K}-{x.Aspect.ToString().ToLowerInvariant()}",
            $"Test review {ExampleReview} explained by the first seed of each row (grey: the rationale; boxed: the selected tokens):");
    }

    /// <summary>The paragraphs that describe the data, the model and the evaluation of a configuration, with the subset sizes
    /// <paramref name="ks"/> of the grid (null: the configuration's own k).</summary>
    public static string Setup(L2xConfig c, IReadOnlyList<int>? ks = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        string k = ks is { Count: > 0 } ? string.Join(", ", ks) : c.K.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"Data: synthetic beer reviews (`SyntheticBeerReviews`), {c.TrainReviews} training and {c.TestReviews} test reviews of {c.Length} " +
               $"tokens from data seed {c.DataSeed}; one sentence each for appearance, aroma and palate and a distractor sentence about taste, " +
               $"their sentiment words setting five rating levels, levels correlated {Inv(c.Correlation)} across aspects, filler sentences " +
               "to fill the review; the rationale of an aspect is its sentence.\n\n" +
               $"Model: {(c.Embeddings == L2xEmbeddings.Fixed ? "fixed random N(0, 1)" : "trainable")} embeddings of width {c.EmbeddingDim}; " +
               $"convolutional selector ({c.Filters} filters, global and local branches) giving one logit per token; a k-subset " +
               $"through the estimator (k = {k}; {c.Samples} sample{(c.Samples == 1 ? "" : "s")} per review, 2 for the score function); predictor MLP {c.EmbeddingDim}-{c.Hidden}-1 " +
               $"with a sigmoid on the mean of the selected embeddings; MSE on the rating of {c.Aspect.ToString().ToLowerInvariant()} in [0, 1]. " +
               $"Adam {Inv(c.LearningRate)}, batch {c.BatchSize}, {c.Steps} steps.\n\n" +
               $"Evaluation every {c.EvalEvery} steps on all test reviews with the MAP subset topk(theta) (no noise): test MSE, and subset " +
               "precision = mean over reviews of the share of the k selected tokens that lie in the aspect's sentence.";
    }
}
