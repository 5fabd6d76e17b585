using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.L2x;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Tests.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments.L2x;

/// <summary>The L2X model, its metric, one training step per estimator, the grid declaration and a tiny run.</summary>
[Collection(GlobalGenerator.Name)]
public sealed class L2xTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-l2x-").FullName;
    private static readonly L2xExperiment L2x = new();

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A small configuration; AIMLE starts from beta = 1 so that its first step already has a gradient.</summary>
    private static L2xConfig Small(GradientMethod method, int seed = 1) => new()
    {
        Method = method, K = 5, Seed = seed, TrainReviews = 32, TestReviews = 8, Length = 60, EmbeddingDim = 8, Filters = 8,
        Hidden = 8, BatchSize = 8, Steps = 3, EvalEvery = 3, LearningRate = 1e-2, AimleInitialBeta = 1.0,
    };

    [Fact]
    public void Subset_precision_is_the_mean_over_reviews_of_the_selected_share_inside_the_rationale()
    {
        using var selected = tensor(new float[] { 1, 1, 0, 0, 0, 1, 1, 1 }, new long[] { 2, 4 });
        using var rationale = tensor(new float[] { 1, 0, 0, 0, 0, 1, 1, 0 }, new long[] { 2, 4 });
        Assert.Equal((1 / 2.0 + 2 / 3.0) / 2, L2xMetrics.SubsetPrecision(selected, rationale), 12);
        using var all = tensor(new float[] { 1, 1, 1, 1 }, new long[] { 1, 4 });
        using var none = tensor(new float[] { 0, 0, 0, 0 }, new long[] { 1, 4 });
        Assert.Equal(1.0, L2xMetrics.SubsetPrecision(all, all));
        Assert.Equal(0.0, L2xMetrics.SubsetPrecision(all, none));
        Assert.Equal("selected", Assert.Throws<ArgumentException>(() => L2xMetrics.SubsetPrecision(none, all)).ParamName);
        Assert.Equal("rationale", Assert.Throws<ArgumentException>(() => L2xMetrics.SubsetPrecision(selected, all)).ParamName);
    }

    public static TheoryData<GradientMethod> Methods() => new(L2xMethodWords.Study.Append(GradientMethod.ImleCentral));

    [Theory]
    [MemberData(nameof(Methods))]
    public void One_training_step_changes_the_selector_and_keeps_k_tokens_selected(GradientMethod method)
    {
        var config = Small(method);
        using var task = L2xExperiment.CreateL2xTask(config);
        var selector = task.L2x.named_parameters().Where(p => p.name.StartsWith("logit_conv", StringComparison.Ordinal) || p.name.StartsWith("local_conv1", StringComparison.Ordinal))
            .Select(p => (p.name, Value: p.parameter.detach().clone())).ToList();
        Assert.Equal(4, selector.Count);
        var embedding = task.L2x.named_parameters().Single(p => p.name == "embedding.weight").parameter.detach().clone();
        var metrics = task.TrainStep(0);
        Assert.True(double.IsFinite(metrics["loss"]));
        var after = task.L2x.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Contains(selector, s => !after[s.name].detach().allclose(s.Value, rtol: 0, atol: 0));
        Assert.True(after["embedding.weight"].detach().eq(embedding).all().item<bool>());     // fixed embeddings stay
        using var _ = torch.no_grad();
        var o = task.L2x.Forward(task.Data.TrainTokens.narrow(0, 0, 8));
        int samples = method == GradientMethod.ScoreFunctionPam ? 2 : 1;
        Assert.Equal(new long[] { 8 * samples, 60 }, o.Subset.shape);
        Assert.True(o.Subset.sum(1).eq(5).all().item<bool>());
        Assert.True((o.Subset.eq(0) | o.Subset.eq(1)).all().item<bool>());
        var (z, prediction) = task.L2x.Explain(task.Data.TestTokens);
        Assert.True(z.sum(1).eq(5).all().item<bool>());
        Assert.True((prediction > 0 & prediction < 1).all().item<bool>());
    }

    [Fact]
    public void Trainable_embeddings_are_trained()
    {
        using var task = L2xExperiment.CreateL2xTask(Small(GradientMethod.Simple) with { Embeddings = L2xEmbeddings.Trainable });
        var before = task.L2x.named_parameters().Single(p => p.name == "embedding.weight").parameter.detach().clone();
        task.TrainStep(0);
        Assert.False(task.L2x.named_parameters().Single(p => p.name == "embedding.weight").parameter.detach().eq(before).all().item<bool>());
    }

    [Fact]
    public void A_tiny_run_is_reproducible_per_seed()
    {
        static double[] Run(L2xConfig c)
        {
            using var task = L2xExperiment.CreateL2xTask(c);
            var losses = Enumerable.Range(0, 4).Select(s => task.TrainStep(s)["loss"]).ToList();
            var eval = task.Evaluate(4);
            return losses.Append(eval["test_mse"]).Append(eval["precision"]).ToArray();
        }
        foreach (var m in new[] { GradientMethod.AimleCentral, GradientMethod.ScoreFunctionPam, GradientMethod.Simple })
        {
            var a = Run(Small(m));
            Assert.Equal(a, Run(Small(m)));
            Assert.NotEqual(a, Run(Small(m, seed: 2)));
        }
    }

    [Fact]
    public void The_grid_is_methods_times_k_times_aspects_times_seeds_and_bad_options_are_one_line()
    {
        var cells = L2x.Plan(GridTestKit.Given(), null);
        Assert.Equal(12, cells.Count);   // six estimators x k = 5, 10, aroma, one seed
        Assert.Equal("method-imle-forward_k-5_aspect-aroma_seed-1", cells[0].Key);
        Assert.Equal(L2xMethodWords.Study.SelectMany(m => new[] { 5, 10 }.Select(k => (m, k))),
            cells.Select(c => GridSpec<L2xConfig>.FromSettings(c.Settings)).Select(c => (c.Method, c.K)));
        Assert.Equal("AIMLE central, k = 10, aroma", cells[5].Group);
        var sfe = GridSpec<L2xConfig>.FromSettings(L2x.Plan(GridTestKit.Given(("methods", "sfe"), ("k", "3"), ("aspects", "palate")), null).Single().Settings);
        Assert.Equal((GradientMethod.ScoreFunctionPam, 3, L2xAspect.Palate), (sfe.Method, sfe.K, sfe.Aspect));
        Assert.Contains(ExperimentCatalog.All, e => e.Name == "l2x");
        Assert.Equal("--methods: unknown value 'exact'; allowed: all, imle-forward, imle-central, aimle-forward, aimle-central, ste, sfe-pam, simple.",
            GridTestKit.Error(L2x, ("methods", "exact")));
        Assert.Equal("--k: must be below --length = 60 (got 60).", GridTestKit.Error(L2x, ("length", "60"), ("k", "60")));
        Assert.Equal("--length must be an integer in [57, 100000] (got '56').", GridTestKit.Error(L2x, ("length", "56")));
        Assert.Equal("--correlation must be a finite number in [0, 1] (got '1.5').", GridTestKit.Error(L2x, ("correlation", "1.5")));
        Assert.Equal("--aspects: unknown value 'taste'; allowed: appearance, aroma, palate.", GridTestKit.Error(L2x, ("aspects", "taste")));
    }

    [Fact]
    public void A_tiny_grid_writes_the_report_the_curves_and_an_explained_review()
    {
        string grid = Path.Combine(_dir, "g");
        var cells = L2x.Plan(GridTestKit.Given(("methods", "imle,simple"), ("k", "5"), ("seeds", "2"), ("train", "32"), ("test", "8"), ("length", "60"),
            ("embedding-dim", "8"), ("filters", "8"), ("hidden", "8"), ("batch", "8"), ("steps", "4"), ("eval-every", "2")), null);
        var outcomes = GridTestKit.RunGrid(L2x, cells, grid);
        Assert.Equal(4, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal(new long[] { 2, 4 }, o.Records.Where(r => r.Kind == "eval").Select(r => r.Step)));
        Assert.All(outcomes, o => Assert.True(File.Exists(Path.Combine(o.Directory, "review.png"))));
        var (header, rows) = GridReport.Table(L2x, outcomes);
        Assert.Equal(new[] { "run", "seeds", "test MSE", "subset precision (%)" }, header.Take(4));
        var imle = outcomes.Where(o => o.Cell.Group == "I-MLE forward, k = 5, aroma").Select(o => 100 * o.FinalEval["precision"]);
        Assert.Equal(GridTestKit.MeanStd(imle, "F1"), rows.Single(r => r[0] == "I-MLE forward, k = 5, aroma")[3]);
        GridReport.Write(L2x, grid);
        string report = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.Contains("## Setup", report);
        Assert.Contains("a k-subset through the estimator (k = 5; 1 sample per review, 2 for the score function)", report);
        Assert.Contains("review-simple-k5-aroma.png", report);
        Assert.True(File.Exists(Path.Combine(grid, "test-mse.png")));
        Assert.True(File.Exists(Path.Combine(grid, "review-imle-forward-k5-aroma.png")));
    }

    [Fact]
    public void The_command_answers_a_bad_option_with_one_line_and_exit_code_2()
    {
        var (code, output) = CliProcess.Run(_dir, "l2x", "--methods", "exact");
        Assert.Equal((2, "error: --methods: unknown value 'exact'; allowed: all, imle-forward, imle-central, aimle-forward, aimle-central, ste, sfe-pam, simple. (see --help)"), (code, output.Trim()));
        (code, output) = CliProcess.Run(_dir, "l2x", "--k", "80", "--out", Path.Combine(_dir, "o"));
        Assert.Equal((2, "error: --k: must be below --length = 80 (got 80)."), (code, output.Trim()));
    }
}
