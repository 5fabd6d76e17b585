using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Leaderboard;
using DiscreteGrad.Experiments.Polynomial;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Vae;
using DiscreteGrad.Tests.Cli;
using TorchSharp;
using static DiscreteGrad.Tests.Experiments.GridTestKit;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>
/// The leaderboard: its declaration (the suite x the estimators that apply, one reason per problem for the others), a
/// tiny in-process grid over every kind of problem whose numbers are those of the experiments' own tasks and analyses
/// run directly, the reading's rules on hand-made rows, and, through the command line (a process per cell), the cost
/// columns: CPU time and a step's peak memory, which must see IndeCateR's 16 MiB of states.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class LeaderboardTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly LeaderboardExperiment Experiment = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-leaderboard-").FullName;
    private readonly GridTestKit _kit = new();

    public void Dispose()
    {
        _kit.Dispose();
        Directory.Delete(_dir, true);
    }

    [Fact]
    public void The_default_grid_is_the_whole_suite_with_the_estimators_that_apply()
    {
        Assert.IsType<LeaderboardExperiment>(ExperimentCatalog.Find("leaderboard"));
        var cells = Experiment.Plan(Given(), null);
        // Six polynomial problems x 17 estimators, the categorical VAE's 16, the Bernoulli VAE's 15, the top-k study's 8 (SIMPLE included).
        Assert.Equal(6 * 17 + 16 + 15 + 8, cells.Count);
        Assert.Equal(LeaderboardItems.All.Count, Experiment.Exclusions(Given(), null).Count);   // one reason per problem
        Assert.Contains(cells, c => c.Label == "vae-8x4: VIMCO seed 1");
        Assert.Contains(cells, c => c.Label == "bvae: RELAX seed 1");
        Assert.Contains(cells, c => c.Label == "poly-ramp-p3: IndeCateR seed 1");
        Assert.DoesNotContain(cells, c => c.Label.StartsWith("topk: ReinMax", StringComparison.Ordinal));
        Assert.DoesNotContain(cells, c => c.Label.StartsWith("poly-p2: NVIL", StringComparison.Ordinal));
        Assert.Equal("quick", cells[0].Settings["mode"]);
        Assert.Equal(new[] { "poly-p2: ReinMax", "vae-8x4: ReinMax", "bvae: ReinMax" },
            Experiment.Plan(Given(("suite", "poly-p2,mnist"), ("estimators", "reinmax")), null).Select(c => c.Group));
        Assert.Equal("--estimators: unknown value 'foo'; allowed: all, " + string.Join(", ", LeaderboardEstimators.All) + ".",
            Error(Experiment, ("estimators", "foo")));
        Assert.Equal("--mode: unknown value 'slow'; allowed: quick, full.", Error(Experiment, ("mode", "slow")));
        Assert.StartsWith("every cell of the grid is left out: topk runs imle-forward", Error(Experiment, ("suite", "topk"), ("estimators", "reinmax")));
        Assert.Equal(2000, new LeaderboardConfig { Mode = LeaderboardMode.Full }.Budget.PolynomialSteps);
        Assert.Equal(37, new LeaderboardConfig { Mode = LeaderboardMode.Full, PolynomialSteps = 37 }.Budget.PolynomialSteps);
        Assert.Equal(16, new LeaderboardConfig { Mode = LeaderboardMode.Full }.Budget.BiasImages);
        Assert.Equal(7, new LeaderboardConfig { Mode = LeaderboardMode.Full, BiasImages = 7 }.Budget.BiasImages);
    }

    /// <summary>
    /// A tiny grid over the four kinds of problem runs in-process; each number of a cell is the experiment's own: the
    /// polynomial excess loss of the polynomial task trained by the runner with the same settings, the VAE's bias of the
    /// vae-bias analysis at the common (initial) model, the top-k cosine of the imle-gradients study. In-process the CPU
    /// time and the peak memory are not the cell's own: they are missing ("-"), the wall time is not.
    /// </summary>
    [Fact]
    public void A_tiny_grid_reproduces_each_experiments_own_numbers_and_reports_them()
    {
        string data = _kit.SmallMnist(), grid = Path.Combine(_dir, "grid");
        var cells = Experiment.Plan(Given(("suite", "poly-p2,poly-ramp-p3,vae-8x4,bvae,topk"), ("estimators", "reinmax,reinforce,imle-central"),
            ("poly-steps", "20"), ("vae-steps", "3"), ("bvae-steps", "3"), ("bias-draws", "4"), ("topk-seeds", "2"), ("topk-samples", "10"), ("data", data)), null);
        Assert.Equal(8, cells.Count);
        var outcomes = RunGrid(Experiment, cells, grid);
        double Metric(string group, string key) => outcomes.Single(o => o.Cell.Group == group).FinalEval[key];

        foreach (var (group, item) in new[] { ("poly-p2: ReinMax", LeaderboardItem.PolynomialP2), ("poly-ramp-p3: REINFORCE+MA", LeaderboardItem.PolynomialRampP3) })
        {
            var config = GridSpec<LeaderboardConfig>.FromSettings(outcomes.Single(o => o.Cell.Group == group).Cell.Settings);
            Assert.Equal(item, config.Item);
            var pc = LeaderboardRuns.PolynomialRun(config);
            using var task = new PolynomialTask(pc, torch.CPU);
            var run = ExperimentRunner.Run(task, new RunnerOptions(Path.Combine(_dir, group.Replace(':', '-').Replace(' ', '-')), LogEvery: pc.Steps, CheckpointEvery: 0, WriteReport: false));
            Assert.Equal(run.FinalEval["excess_loss"], Metric(group, "excess_loss"));
            Assert.Equal(run.FinalEval["exact_loss"], Metric(group, "exact_loss"));
            Assert.Equal(20, Metric(group, "steps"));
        }
        Assert.Equal(64, Metric("poly-p2: ReinMax", "f_evaluations"));

        // The VAE's bias: the analysis of vae-bias at the seed's initial model (the common model after 0 steps in quick mode).
        var mnist = MnistFolder.Load(data, _ => { });
        using (var vaeData = VaeData.FromMnist(mnist, mnist.Train.Count, mnist.Test.Count))
        {
            var lc = new LeaderboardConfig { Item = LeaderboardItem.Vae8x4, Estimator = "reinforce", Data = data, BiasDraws = 4 };
            using var common = new VaeTask(LeaderboardRuns.VaeRun(lc, mnist.Train.Count, mnist.Test.Count, VaeEstimator.ReinMax), vaeData);
            var b = lc.Budget;
            var (rows, expected) = VaeBiasExperiment.AnalyseModel(common.Vae, vaeData.Test, b.BiasImages, VaeEstimator.Reinforce,
                new DiscreteGrad.Estimators.EstimatorOptions(), b.BiasGroups, b.BiasDraws, 1, 0);
            // Two images: the standard error over them of the cosine is |c_1 - c_2| / 2.
            Assert.Equal(2, rows.Count);
            Assert.Equal(Math.Abs(rows[0].Cosine - rows[1].Cosine) / 2, expected["cosine_se"], 12);
            Assert.Equal(expected["exact_cosine"], Metric("vae-8x4: REINFORCE+MA", "bias_cos"));
            Assert.Equal(expected["exact_cosine_se"], Metric("vae-8x4: REINFORCE+MA", "bias_cos_se"));
            Assert.Equal(expected["relative_std"], Metric("vae-8x4: REINFORCE+MA", "bias_relative_std"));
            Assert.Equal(1, Metric("vae-8x4: REINFORCE+MA", "bias_exact"));
            Assert.True(Metric("vae-8x4: REINFORCE+MA", "bias_cos") > 0.999999, "REINFORCE's enumerated expectation is the exact gradient");
            Assert.True(Metric("vae-8x4: ReinMax", "bias_cos") < Metric("vae-8x4: REINFORCE+MA", "bias_cos"));
        }
        Assert.True(double.IsFinite(Metric("vae-8x4: ReinMax", "test_nelbo")));
        Assert.True(Metric("bvae: ReinMax", "test_nelbo") > 0);
        var study = DiscreteGrad.Experiments.ImleGradients.ImleGradientsStudy.Run(LeaderboardRuns.TopKRun(GridSpec<LeaderboardConfig>.FromSettings(
            outcomes.Single(o => o.Cell.Group == "topk: I-MLE central").Cell.Settings)));
        Assert.Equal(study.Best.Cosine.Mean, Metric("topk: I-MLE central", "cosine"));

        foreach (var o in outcomes)
        {
            Assert.False(o.FinalEval.ContainsKey("cpu_ms_per_step"), $"{o.Cell.Label}: CPU time in-process");
            Assert.False(o.FinalEval.ContainsKey("step_peak_mb"), $"{o.Cell.Label}: peak in-process");
            Assert.True(o.FinalEval["wall_ms_per_step"] > 0, o.Cell.Label);
        }
        GridReport.Write(Experiment, grid, Path.Combine(_dir, "docs", "leaderboard.md"));
        string md = File.ReadAllText(Path.Combine(_dir, "docs", "leaderboard.md"));
        foreach (var item in new[] { LeaderboardItem.PolynomialP2, LeaderboardItem.PolynomialRampP3, LeaderboardItem.Vae8x4, LeaderboardItem.BernoulliVae, LeaderboardItem.TopK })
            Assert.Contains("## " + LeaderboardItems.Display(item), md);
        Assert.Contains("## Which estimator when", md);
        // The polynomial table is ranked: the better of the two excess losses first.
        var poly = new[] { ("ReinMax", Metric("poly-p2: ReinMax", "excess_loss")), ("REINFORCE+MA", Metric("poly-p2: REINFORCE+MA", "excess_loss")) }.OrderBy(x => x.Item2).ToList();
        Assert.Contains($"| 1 | {poly[0].Item1} | {poly[0].Item2.ToString("0.00e+00", Inv)} |", md);
        Assert.Contains($"- **{LeaderboardItems.Display(LeaderboardItem.PolynomialP2)}**: best {poly[0].Item1}", md);
    }

    private static LeaderboardRow Row(LeaderboardItem item, string key, double primary, double cpu, params (string, double)[] more)
    {
        var means = new Dictionary<string, double> { [LeaderboardItems.Primary(item).Metric] = primary, ["cpu_ms_per_step"] = cpu };
        foreach (var (k, v) in more) means[k] = v;
        return new LeaderboardRow(item, key, LeaderboardEstimators.Display(item, key), 1, means, new Dictionary<string, double>());
    }

    [Fact]
    public void The_reading_names_the_fewest_seeds_behind_its_results()
    {
        var means = new Dictionary<string, double> { [LeaderboardItems.Primary(LeaderboardItem.PolynomialP2).Metric] = 1e-3, ["cpu_ms_per_step"] = 2.0 };
        var rows = new List<LeaderboardRow>
        {
            new(LeaderboardItem.PolynomialP2, "reinmax", "ReinMax", 3, means, new Dictionary<string, double>()),
            new(LeaderboardItem.PolynomialP2, "st", "ST", 5, means, new Dictionary<string, double>()),
        };
        string text = LeaderboardReading.Write(rows);
        Assert.Contains("Every result is the mean of at least 3 seeds.", text);
        Assert.DoesNotContain("rest on one seed", text);
    }

    [Fact]
    public void The_reading_follows_its_rules_on_hand_made_rows()
    {
        var rows = new List<LeaderboardRow>
        {
            Row(LeaderboardItem.PolynomialP2, "reinmax", 1.0e-3, 5.0),
            Row(LeaderboardItem.PolynomialP2, "st", 1.2e-3, 3.0),         // within x1.25: near the best, and cheaper
            Row(LeaderboardItem.PolynomialP2, "reinforce", 1.3e-3, 2.0),  // x1.3: not near
            Row(LeaderboardItem.Vae8x4, "reinforce", 100.0, 10, ("bias_cos", 1.0), ("bias_exact", 1), ("bias_relative_std", 9.0)),
            Row(LeaderboardItem.Vae8x4, "indecater", 100.5, 40, ("bias_cos", 0.99999), ("bias_exact", 1), ("bias_relative_std", 2.0)),
            Row(LeaderboardItem.Vae8x4, "st", 99.0, 8, ("bias_cos", 0.95), ("bias_exact", 1), ("bias_relative_std", 0.5)),
            Row(LeaderboardItem.Vae8x4, "relax", 101.0, 30, ("bias_cos", 0.9), ("bias_exact", 0), ("bias_rel", 0.2), ("bias_noise_floor", 0.1), ("bias_relative_std", 3.0)),
        };
        string text = LeaderboardReading.Write(rows);
        // Every hand-made row has one seed: the reading says so instead of claiming a spread.
        Assert.Contains("Some results rest on one seed, so the tables show no seed-to-seed spread", text);
        Assert.Contains("- **Polynomial, p = 2, c = 0.45**: best ReinMax (E[loss] - optimum 1.00e-03); near it: ST (1.20e-03); the cheapest of those: ST (3.00 CPU ms / step).", text);
        Assert.Contains("- **Categorical VAE 8x4 (MNIST)**: best ST (test -ELBO 99.00); near it: REINFORCE+MA (100.00); the cheapest of those: ST (8.00 CPU ms / step).", text);
        // Unbiased: cosine >= 0.999 when enumerated, relative bias <= 3 noise floors when not (RELAX's 0.2 <= 0.3); least spread first.
        Assert.Contains("unbiased by the numbers: IndeCateR (rel. std 2.00), RELAX (rel. std 3.00), REINFORCE+MA (rel. std 9.00), the least spread IndeCateR; biased, by cosine to the exact gradient: ST 0.950.", text);
        // Average rank: ST first on the VAE (0) and second of three on the polynomial (0.5).
        Assert.Contains("by average rank ReinMax (0.00, near the best on 1 of 1), ST (0.25, near the best on 2 of 2)", text);
        Assert.True(LeaderboardReading.NearBest(LeaderboardItem.TopK, 0.79, 0.8));
        Assert.False(LeaderboardReading.NearBest(LeaderboardItem.TopK, 0.77, 0.8));
        Assert.False(LeaderboardReading.NearBest(LeaderboardItem.BernoulliVae, 101.5, 100.4));
    }

    /// <summary>
    /// Through the command line every cell has a process of its own, so the cost columns are the cell's: CPU time per
    /// step, and a step's peak memory, which for IndeCateR (64 samples x 128 x 2 states of [128, 2] float32: 16 MiB, built
    /// at once) must be at least that and above ST's.
    /// </summary>
    [Fact]
    public void Through_the_command_line_each_cell_measures_its_own_cpu_time_and_peak_memory()
    {
        string grid = Path.Combine(_dir, "cli");
        var (code, output) = CliProcess.Run(_dir, "leaderboard", "--suite", "poly-p2", "--estimators", "st,indecater", "--poly-steps", "5", "--jobs", "1",
            "--out", grid);
        Assert.True(code == 0, output);
        var outcomes = GridReport.Collect(grid);
        Assert.All(outcomes, o => Assert.Equal("done", o.State));
        var st = outcomes.Single(o => o.Cell.Group == "poly-p2: ST").FinalEval;
        var ind = outcomes.Single(o => o.Cell.Group == "poly-p2: IndeCateR").FinalEval;
        Assert.True(st["cpu_ms_per_step"] > 0 && ind["cpu_ms_per_step"] > st["cpu_ms_per_step"], $"CPU ms: ST {st["cpu_ms_per_step"]}, IndeCateR {ind["cpu_ms_per_step"]}");
        Assert.True(ind["step_peak_mb"] >= 16, $"IndeCateR's step peak {ind["step_peak_mb"]} MB");
        Assert.True(st["step_peak_mb"] < ind["step_peak_mb"], $"ST's step peak {st["step_peak_mb"]} MB");
        Assert.Contains("Estimator leaderboard", output);
    }
}
