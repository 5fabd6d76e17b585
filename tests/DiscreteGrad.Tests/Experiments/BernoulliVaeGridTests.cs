using System.Globalization;
using System.Text.Json;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.BernoulliVae;
using DiscreteGrad.Experiments.Runner;
using static DiscreteGrad.Tests.Experiments.GridTestKit;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>
/// The declaration of bernoulli-vae: its settings bind (group words, names and ranges, the cells left out with their
/// reasons), and one tiny grid runs in-process on a small synthetic MNIST folder and produces the report's table.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class BernoulliVaeGridTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-bvae-grid-").FullName;
    private readonly GridTestKit _kit = new();

    public void Dispose()
    {
        _kit.Dispose();
        Directory.Delete(_dir, true);
    }

    [Fact]
    public void The_experiment_is_in_the_catalog_and_bad_options_name_the_option_and_the_range()
    {
        var bern = Assert.IsType<BernoulliVaeExperiment>(ExperimentCatalog.Find("bernoulli-vae"));
        Assert.Equal("--k must be an integer in [1, 64] (got '65').", Error(bern, ("k", "65")));
        Assert.Equal("--epochs must be an integer in [1, 100000] (got '0').", Error(bern, ("epochs", "0")));
        Assert.Equal("--tau must be a finite number in (0, 1000000] (got '0').", Error(bern, ("tau", "0")));
        Assert.Equal("--estimators: unknown value 'vimco'; allowed: all, every, reinmax, disarm, arm, rloo, nvil, st, stgs, gst, grmck, gs, zgr, dstgs, dgs, rebar, relax.",
            Error(bern, ("estimators", "vimco")));
    }

    [Fact]
    public void Bernoulli_cells_that_need_an_even_k_are_left_out_with_the_reason_and_a_grid_of_none_is_refused()
    {
        var e = new BernoulliVaeExperiment();
        var given = Given(("estimators", "all"), ("k", "2,3"), ("seeds", "2"));
        var cells = e.Plan(given, null);
        Assert.Equal(2 * 5 + 2 * 3, cells.Count);
        Assert.Equal("evaluations-2_estimator-reinmax_seed-1", cells[0].Key);
        Assert.DoesNotContain(cells, c => c.Group is "ARM K=3" or "DisARM K=3");
        Assert.Contains(cells, c => c.Group == "RLOO K=3");
        Assert.Equal(new[]
        {
            "--k 3: DisARM evaluates f at antithetic pairs: K must be even and >= 2 (got 3).",
            "--k 3: ARM evaluates f at antithetic pairs: K must be even and >= 2 (got 3).",
        }, e.Exclusions(given, null));
        Assert.Equal("every cell of the grid is left out: --k 1: RLOO needs K >= 2 samples for the leave-one-out baseline (got 1).",
            Error(e, ("estimators", "rloo"), ("k", "1")));
        // The flag without a value, and the settings' canonical text.
        var c = GridSpec<BernoulliVaeConfig>.FromSettings(e.Plan(Given(("dynamic-binarization", "true"), ("estimators", "DisARM")), null).Single().Settings);
        Assert.True(c.DynamicBinarization);
        Assert.Equal(BernoulliVaeEstimator.DisArm, c.Estimator);
        Assert.Equal(500, new BernoulliVaeConfig().StepsPerEpoch);
    }

    [Fact]
    public void A_tiny_bernoulli_vae_grid_runs_the_valid_cells_and_reports_them()
    {
        string data = _kit.SmallMnist(), grid = Path.Combine(_dir, "bern");
        var e = new BernoulliVaeExperiment();
        var given = Given(("estimators", "all"), ("k", "1"), ("epochs", "2"), ("train-images", "200"), ("data", data));
        var cells = e.Plan(given, null);
        Assert.Equal(new[] { "ReinMax K=1", "NVIL K=1" }, cells.Select(c => c.Group));
        Assert.Equal(3, e.Exclusions(given, null).Count);
        var outcomes = RunGrid(e, cells, grid);
        // Training records once per epoch (2 steps), evaluations after each epoch.
        Assert.All(outcomes, o => Assert.Equal(new long[] { 2, 4 }, o.Records.Where(r => r.Kind == "train").Select(r => r.Step)));
        Assert.All(outcomes, o => Assert.Equal(new double[] { 1, 2 }, o.Series("eval", "epoch")));
        var (header, rows) = GridReport.Table(e, outcomes);
        Assert.Equal(new[] { "run", "seeds", "epochs", "train -ELBO (last epoch mean)", "test -ELBO", "s / epoch" }, header);
        foreach (var (row, o) in rows.Zip(outcomes))
        {
            Assert.Equal(Last(o, "train.csv", "loss").ToString("F2", Inv), row[3]);
            Assert.Equal(Last(o, "eval.csv", "test_neg_elbo").ToString("F2", Inv), row[4]);
        }
        GridReport.Write(e, grid);
        Assert.True(File.Exists(Path.Combine(grid, "train-elbo.png")));
        Assert.True(File.Exists(Path.Combine(grid, "test-elbo.png")));
        Assert.Contains("| 3 | 97.83 +- 0.36 |", File.ReadAllText(Path.Combine(grid, "report.md")));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outcomes[0].Directory, "summary.json")));
        Assert.Equal("cpu", doc.RootElement.GetProperty("configuration").GetProperty("device").GetString());
    }
}
