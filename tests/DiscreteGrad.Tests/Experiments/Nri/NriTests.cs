using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Nri;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Tests.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments.Nri;

/// <summary>The NRI model, objective and task, and the <c>nri</c> declaration with a tiny grid run.</summary>
[Collection(GlobalGenerator.Name)]
public sealed class NriTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-nri-").FullName;
    private static readonly NriExperiment Nri = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private static NriConfig Tiny(NriMethod method, int timesteps = 4) => new()
    {
        Method = method, Timesteps = timesteps, Vertices = 5, TrainTrajectories = 24, ValidTrajectories = 8, TestTrajectories = 8,
        ValidExamples = 8, TestExamples = 8, Steps = 3, EvalEvery = 2, BatchSize = 8, Hidden = 16,
    };

    [Fact]
    public void The_directed_and_undirected_edge_orders_agree()
    {
        var g = new CompleteGraph(4);
        Assert.Equal(12, g.Directed);
        Assert.Equal(6, g.Undirected);
        // (receiver, sender) row-major: (0,1), (0,2), (0,3), (1,0), ...; undirected {0,1}=0, {0,2}=1, {0,3}=2, {1,2}=3, {1,3}=4, {2,3}=5.
        Assert.Equal(new long[] { 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3 }, g.Receivers);
        Assert.Equal(new long[] { 1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2 }, g.Senders);
        Assert.Equal(new long[] { 0, 1, 2, 0, 3, 4, 1, 3, 5, 2, 4, 5 }, g.DirectedToUndirected);
    }

    [Fact]
    public void The_decoder_predicts_frame_t_from_frame_t_minus_1_with_teacher_forcing_and_from_frame_0_when_rolling_out()
    {
        var graph = new CompleteGraph(4);
        torch.manual_seed(3);
        var decoder = new NriDecoder(graph, 2, 8);
        var x = randn(new long[] { 2, 4, 5, 2 }, generator: new Generator(1));
        var edges = rand(new long[] { 2, 12 }, generator: new Generator(2));
        using var _ = torch.no_grad();
        var one = decoder.forward(x, edges, 1);
        var roll = decoder.forward(x, edges, 4);
        Assert.Equal(new long[] { 2, 4, 4, 2 }, one.shape);
        Assert.Equal(new long[] { 2, 4, 4, 2 }, roll.shape);
        // Changing frame 2 changes the one-step prediction of frame 3 only; the 4-step rollout from frame 0 not at all.
        var x2 = x.clone();
        x2[.., .., 2, ..] += 1.0;
        var oneChanged = (decoder.forward(x2, edges, 1) - one).abs().sum(new long[] { 0, 1, 3 });
        Assert.Equal(new[] { false, false, true, false }, TorchAssert.ToArray(oneChanged).Select(v => v > 0).ToArray());
        Assert.Equal(0, (decoder.forward(x2, edges, 4) - roll).abs().max().ToDouble());
        // The first step of a rollout is the one-step prediction of frame 1; then it feeds on its own output.
        TorchAssert.Close(TorchAssert.ToArray(one[.., .., 0, ..]), roll[.., .., 0, ..], 1e-6, "first step");
        Assert.True((one[.., .., 1, ..] - roll[.., .., 1, ..]).abs().max().ToDouble() > 0);
        Assert.Equal("predictionSteps", Assert.Throws<ArgumentOutOfRangeException>(() => decoder.forward(x, edges, 5)).ParamName);
    }

    [Fact]
    public void The_encoder_gives_one_logit_per_directed_edge_and_the_task_symmetrises_them()
    {
        using var task = NriExperiment.CreateNriTask(Tiny(NriMethod.Sst));
        var x = randn(new long[] { 3, 5, 4, 2 }, generator: new Generator(5));
        var directed = task.Network.Encoder.call(x);
        Assert.Equal(new long[] { 3, 20 }, directed.shape);
        var theta = task.Symmetrise(directed);
        var d = TorchAssert.ToArray(directed);
        var graph = new CompleteGraph(5);
        var th = TorchAssert.ToArray(theta);
        // theta_{0,1} = (logit(0 <- 1) + logit(1 <- 0)) / 2: directed edges 0 and 4 of the (receiver, sender) order.
        Assert.Equal((d[0] + d[4]) / 2, th[0], 5);
        // Back to directed: both directions of an edge carry its value.
        var back = TorchAssert.ToArray(task.ToDirected(theta));
        for (int k = 0; k < 20; k++) Assert.Equal(th[graph.DirectedToUndirected[k]], back[k], 6);
    }

    [Fact]
    public void Nll_and_kl_are_the_references_formulas()
    {
        using var task = NriExperiment.CreateNriTask(Tiny(NriMethod.Sst) with { Variance = 0.5 });
        var x = zeros(1, 5, 4, 2);
        var output = full(new long[] { 1, 5, 3, 2 }, 0.1);
        var theta = tensor(new double[] { 0, 1, -1, 2, 0, 0, 0, 0, 0, 0 }).reshape(1, 10).to(ScalarType.Float32);
        var terms = task.Terms(output, x, theta);
        // NLL = sum of 0.1^2 / (2 * 0.5) over 5 vertices x 3 frames x 2 coordinates, divided by 5 vertices = 30 * 0.01 / 5.
        Assert.Equal(30 * 0.01 / 5, terms.Nll.ToDouble(), 5);
        // KL = 2 sum_e (theta + exp(-theta) - 1) / n: zero at theta = 0.
        double kl = 2 * ((1 + Math.Exp(-1) - 1) + (-1 + Math.E - 1) + (2 + Math.Exp(-2) - 1)) / 5;
        Assert.Equal(kl, terms.Kl.ToDouble(), 5);
    }

    [Theory]
    [InlineData(NriMethod.Sst)]
    [InlineData(NriMethod.ImleForward)]
    [InlineData(NriMethod.ImleCentral)]
    [InlineData(NriMethod.AimleForward)]
    [InlineData(NriMethod.AimleCentral)]
    public void A_training_step_moves_the_encoder_and_the_evaluation_scores_trees(NriMethod method)
    {
        using var task = NriExperiment.CreateNriTask(Tiny(method));
        var before = TorchAssert.ToArray(task.Network.Encoder.parameters().First());
        var m = task.TrainStep(0);
        Assert.True(double.IsFinite(m["loss"]));
        Assert.Equal(1, (m["nll"] + m["kl"]) / m["loss"], 5);
        var after = TorchAssert.ToArray(task.Network.Encoder.parameters().First());
        Assert.NotEqual(before, after);
        if (method.IsAdaptive()) Assert.True(m["beta"] > 0, "AIMLE's beta grows from 0 while the gradient is empty");
        var e = task.Evaluate(task.TotalSteps);
        foreach (var split in new[] { "val", "test" })
        {
            Assert.Equal(-(e[$"{split}_nll_map"] + e[$"{split}_kl"]), e[$"{split}_elbo_map"], 6);
            Assert.Equal(-(e[$"{split}_nll_sample"] + e[$"{split}_kl"]), e[$"{split}_elbo_sample"], 6);
            Assert.Equal(method == NriMethod.Sst ? e[$"{split}_elbo_sample"] : e[$"{split}_elbo_map"], e[$"{split}_elbo"]);
            Assert.InRange(e[$"{split}_precision_map"], 0, 1);
        }
        var (positions, truth, inferred) = task.Example(0);
        Assert.Equal(5 * 4 * 2, positions.Length);
        Assert.True(SpanningTrees.IsSpanningTree(truth, 5));
        Assert.True(SpanningTrees.IsSpanningTree(inferred, 5));
    }

    [Fact]
    public void Precision_counts_the_true_edges_of_the_inferred_tree_over_n_minus_1()
    {
        // The test precision of the MAP trees is the mean over the test trajectories of |MAP tree & true tree| / (n - 1),
        // recomputed here from each trajectory's two trees.
        using var task = NriExperiment.CreateNriTask(Tiny(NriMethod.ImleForward));
        var e = task.Evaluate(task.TotalSteps);
        double overlap = 0;
        for (int i = 0; i < 8; i++)
        {
            var (_, truth, inferred) = task.Example(i);
            overlap += truth.Zip(inferred, (a, b) => a * b).Sum() / 4;
        }
        Assert.Equal(overlap / 8, e["test_precision_map"], 6);
    }

    [Fact]
    public void The_grid_is_seeds_times_timesteps_times_methods_and_bad_options_are_one_line()
    {
        var cells = Nri.Plan(GridTestKit.Given(("methods", "sst,aimle-central"), ("seeds", "2")), null);
        Assert.Equal(new[] { "seed-1_timesteps-10_method-sst", "seed-1_timesteps-10_method-aimle-central", "seed-2_timesteps-10_method-sst", "seed-2_timesteps-10_method-aimle-central" },
            cells.Select(c => c.Key));
        Assert.Equal(new[] { "SST (spanning tree), T = 10", "AIMLE (central), T = 10" }, cells.Select(c => c.Group).Distinct());
        Assert.Equal(5, Nri.Plan(GridTestKit.Given(), null).Count);
        Assert.Contains(ExperimentCatalog.All, x => x.Name == "nri");
        Assert.Equal("--methods: unknown value 'gumbel'; allowed: all, sst, imle-forward, imle-central, aimle-forward, aimle-central.",
            GridTestKit.Error(Nri, ("methods", "gumbel")));
        Assert.Equal("--prediction-steps: must be at most --timesteps - 1 = 9 (got 10).", GridTestKit.Error(Nri, ("prediction-steps", "10")));
        Assert.Equal("--valid-examples: must be at most --valid = 10 (got 20).", GridTestKit.Error(Nri, ("valid", "10"), ("valid-examples", "20")));
    }

    [Fact]
    public void A_tiny_grid_trains_reports_and_draws_each_method_s_tree()
    {
        string grid = Path.Combine(_dir, "g");
        var cells = Nri.Plan(GridTestKit.Given(("methods", "sst,aimle-forward"), ("seeds", "1"), ("vertices", "5"), ("timesteps", "4"), ("train", "24"),
            ("valid", "8"), ("test", "8"), ("valid-examples", "8"), ("test-examples", "8"), ("steps", "2"), ("eval-every", "1"), ("batch", "8"), ("hidden", "8")), null);
        var outcomes = GridTestKit.RunGrid(Nri, cells, grid);
        var (header, rows) = GridReport.Table(Nri, outcomes);
        Assert.Equal("test ELBO (reference's eval)", header[3]);
        Assert.Equal(new[] { "SST (spanning tree), T = 4", "AIMLE (forward), T = 4" }, rows.Select(r => r[0]));
        Assert.All(rows, r => Assert.Equal("2", r[2]));
        foreach (var o in outcomes)
        {
            Assert.True(File.Exists(Path.Combine(o.Directory, "graph.png")));
            Assert.Equal(o.FinalEval["test_elbo"].ToString("F1", CultureInfo.InvariantCulture), rows.Single(r => r[0] == o.Cell.Group)[3]);
        }
        GridReport.Write(Nri, grid, Path.Combine(_dir, "docs", "nri.md"));
        string md = File.ReadAllText(Path.Combine(_dir, "docs", "nri.md"));
        Assert.Contains("- SST (spanning tree), T = 4: ![SST (spanning tree), T = 4](nri-graph-sst-t4.png)", md);
        Assert.Contains("-2301.47", md);
        Assert.True(File.Exists(Path.Combine(_dir, "docs", "nri-graph-aimle-forward-t4.png")));
        Assert.True(File.Exists(Path.Combine(_dir, "docs", "nri-val-elbo.png")));
    }
}
