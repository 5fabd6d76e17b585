using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Vae;
using static DiscreteGrad.Tests.Experiments.GridTestKit;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>
/// The declarations of vae and vae-bias: their settings bind (group words, the options' names and ranges, the
/// cross-setting checks naming the option), and one tiny grid of each runs in-process on a small synthetic MNIST folder
/// and produces the report's table.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class VaeGridTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-vae-grid-").FullName;
    private readonly GridTestKit _kit = new();

    public void Dispose()
    {
        _kit.Dispose();
        Directory.Delete(_dir, true);
    }

    [Fact]
    public void Both_experiments_are_in_the_catalog_under_their_command_names()
    {
        Assert.IsType<VaeExperiment>(ExperimentCatalog.Find("vae"));
        Assert.IsType<VaeBiasExperiment>(ExperimentCatalog.Find("vae-bias"));
    }

    [Fact]
    public void The_vae_grid_binds_configurations_estimators_and_seeds_with_the_readme_options()
    {
        var e = new VaeExperiment();
        var cells = e.Plan(Given(("configs", "8x4,10x30"), ("estimators", "all"), ("seeds", "2"), ("epochs", "1"), ("optimizer", "radam"), ("binarize", "dynamic")), null);
        Assert.Equal(2 * 9 * 2, cells.Count);
        Assert.Equal("shape-8x4_estimator-st_seed-1", cells[0].Key);
        Assert.Equal("shape-8x4_estimator-st_seed-2", cells[1].Key);
        Assert.Equal("8x4 ST seed 1", cells[0].Label);
        Assert.Equal("10x30 VIMCO (K=4)", cells.Single(c => c.Key == "shape-10x30_estimator-vimco_seed-2").Group);
        var c0 = GridSpec<VaeConfig>.FromSettings(cells[^1].Settings);
        Assert.Equal((10, 30, VaeEstimator.MuProp, 2, 1), (c0.Categories, c0.Latents, c0.Estimator, c0.Seed, c0.Epochs));
        Assert.Equal((VaeOptimizer.RAdam, Binarization.Dynamic), (c0.Optimizer, c0.Binarization));
        Assert.Equal("radam", cells[0].Settings["optimizer"]);
        // "all" configurations are Table 2's six; display names and any CxL parse to the canonical words.
        Assert.Equal(6, e.Plan(Given(("configs", "all")), null).Count);
        var custom = e.Plan(Given(("configs", "03X2"), ("estimators", "GR-MCK,REINFORCE+MA")), null);
        Assert.Equal(new[] { "shape-3x2_estimator-grmck_seed-1", "shape-3x2_estimator-reinforce_seed-1" }, custom.Select(c => c.Key));
        // The defaults are one cell: 10x30, ReinMax, seed 1.
        Assert.Equal("10x30 ReinMax seed 1", e.Plan(Given(), null).Single().Label);
    }

    [Fact]
    public void Bad_options_give_one_line_naming_the_option_and_the_allowed_range()
    {
        var vae = new VaeExperiment();
        Assert.Equal("--epochs must be an integer in [1, 100000] (got '0').", Error(vae, ("epochs", "0")));
        Assert.Equal("--lr must be a finite number in (0, 10] (got '0').", Error(vae, ("lr", "0")));
        Assert.Equal("--vimco-samples must be an integer in [2, 1000] (got '1').", Error(vae, ("vimco-samples", "1")));
        Assert.Equal("--train-examples must be an integer in [1, 60000] (got '60001').", Error(vae, ("train-examples", "60001")));
        Assert.Equal("--configs: unknown value '1x4'; allowed: all, 8x4, 4x24, 8x16, 16x12, 64x8, 10x30, any CxL with C >= 2, L >= 1.",
            Error(vae, ("configs", "1x4")));
        Assert.Equal("--estimators: unknown value 'foo'; allowed: all, every, st, stgs, gst, grmck, reinmax, reinforce, nvil, vimco, muprop, gs, zgr, dstgs, dgs, indecater, rebar, relax.",
            Error(vae, ("estimators", "st,foo")));
        Assert.Equal("--estimators: 'st' is listed twice (every grid cell must differ).", Error(vae, ("estimators", "st,ST")));
        Assert.Equal("--optimizer: unknown value 'sgd'; allowed: adam, radam.", Error(vae, ("optimizer", "sgd")));
        var bias = new VaeBiasExperiment();
        Assert.Equal("--at-steps must be an integer in [0, 100000000] (got '-1').", Error(bias, ("at-steps", "0,-1")));
        Assert.Equal("--draws must be an integer in [2, 10000000] (got '1').", Error(bias, ("draws", "1")));
    }

    [Fact]
    public void Cross_setting_checks_name_the_option()
    {
        var bias = new VaeBiasExperiment();
        Assert.Equal("--configs: 8x6 has 8^6 codes, more than the enumeration limit 65536.", Error(bias, ("configs", "8x6")));
        Assert.Equal("--estimators: vimco is not analysed (it estimates the gradient of the K-sample bound, not of E_q[BCE]).",
            Error(bias, ("estimators", "st,vimco")));
        // "all" is every analysed estimator (not VIMCO), and the help does not offer vimco.
        var all = bias.Plan(Given(("estimators", "all"), ("at-steps", "600,0,600")), null);
        Assert.Equal(VaeGradientBias.Analysed.Select(VaeEstimators.Key), all.Select(c => c.Settings["estimators"]));
        Assert.Equal(new long[] { 0, 600 }, GridSpec<VaeBiasConfig>.FromSettings(all[0].Settings).Steps);
        Assert.DoesNotContain("vimco", bias.Settings.Single(s => s.Name == "estimators").Allowed!);
        // The model of the analysis: enough 600-step epochs of MNIST to reach the last step.
        var training = new VaeBiasConfig { AtSteps = new long[] { 0, 1200 } }.Training(60_000, 10_000);
        Assert.Equal((2, 600L, 8, 4, VaeEstimator.ReinMax), (training.Epochs, training.StepsPerEpoch, training.Categories, training.Latents, training.Estimator));
        Assert.Equal(1, new VaeBiasConfig { AtSteps = new long[] { 0 } }.Training(60_000, 10_000).Epochs);
    }

    [Fact]
    public void A_tiny_vae_grid_runs_in_process_and_reports_mean_and_std_over_seeds()
    {
        string data = _kit.SmallMnist(), grid = Path.Combine(_dir, "vae");
        var e = new VaeExperiment();
        var cells = e.Plan(Given(("configs", "3x2"), ("estimators", "st,reinforce"), ("seeds", "2"), ("epochs", "2"),
            ("train-examples", "200"), ("test-examples", "50"), ("data", data)), null);
        var outcomes = RunGrid(e, cells, grid);
        // Every cell evaluated after each of its 2 epochs (2 steps each); REINFORCE checkpointed its baseline as extra state.
        Assert.All(outcomes, o => Assert.Equal(new long[] { 2, 4 }, o.Records.Where(r => r.Kind == "eval").Select(r => r.Step)));
        var reinforce = outcomes.First(o => o.Cell.Group == "3x2 REINFORCE+MA");
        Assert.True(File.Exists(Path.Combine(CheckpointStore.Latest(reinforce.Directory)!, "extra.bin")));
        var (header, rows) = GridReport.Table(e, outcomes);
        Assert.Equal(new[] { "run", "seeds", "epochs", "train -ELBO", "test -ELBO", "s / epoch", "CPU s / epoch" }, header);
        Assert.Equal(new[] { "3x2 ST", "3x2 REINFORCE+MA" }, rows.Select(r => r[0]));
        foreach (var row in rows)
        {
            var group = outcomes.Where(o => o.Cell.Group == row[0]).ToList();
            Assert.Equal("2", row[1]);
            Assert.Equal("2 +- 0", row[2]);
            Assert.Equal(MeanStd(group.Select(o => Last(o, "eval.csv", "train_nelbo")), "F2"), row[3]);
            Assert.Equal(MeanStd(group.Select(o => Last(o, "eval.csv", "test_nelbo")), "F2"), row[4]);
            Assert.Matches(@"^\d+\.\d \+- \d+\.\d$", row[5]);
            Assert.Matches(@"^\d+\.\d \+- \d+\.\d$", row[6]);
        }
        GridReport.Write(e, grid, Path.Combine(_dir, "docs", "vae.md"));
        var summary = File.ReadAllLines(Path.Combine(grid, "summary.csv"));
        Assert.Equal("config,estimator,seed,epochs,train_nelbo,test_nelbo,test_bce,test_kl,seconds_per_epoch,cpu_seconds_per_epoch", summary[0]);
        Assert.Equal(new[] { "3x2,st,1", "3x2,st,2", "3x2,reinforce,1", "3x2,reinforce,2" }, summary.Skip(1).Select(l => string.Join(",", l.Split(',').Take(3))));
        foreach (var f in new[] { "test-nelbo-3x2.png", "train-nelbo-3x2.png" }) Assert.True(File.Exists(Path.Combine(grid, f)), f);
        Assert.True(File.Exists(Path.Combine(_dir, "docs", "vae-summary.csv")));
        string md = File.ReadAllText(Path.Combine(_dir, "docs", "vae.md"));
        Assert.Contains("| 3x2 ST | 2 |", md);
        Assert.Contains("Table 2", md);
        Assert.Contains("| ReinMax | 124.66±0.88 |", md);
        Assert.Contains("![3x2: test -ELBO (nats)](vae-test-nelbo-3x2.png)", md);
    }

    [Fact]
    public void A_tiny_vae_bias_grid_writes_its_csv_and_a_self_contained_report_per_step()
    {
        string data = _kit.SmallMnist(), grid = Path.Combine(_dir, "bias");
        var e = new VaeBiasExperiment();
        var cells = e.Plan(Given(("configs", "3x2"), ("estimators", "st,stgs"), ("at-steps", "2,0"), ("images", "2"), ("draws", "20"),
            ("groups", "2"), ("data", data)), null);
        var outcomes = RunGrid(e, cells, grid);
        foreach (var o in outcomes)
        {
            // One record per analysed step, and one csv row per (step, image); the training went into training/.
            Assert.Equal(new long[] { 0, 2 }, o.Records.Select(r => r.Step));
            var csv = File.ReadAllLines(Path.Combine(o.Directory, "gradient-bias.csv"));
            Assert.Equal(string.Join(",", VaeBiasExperiment.CsvHeader), csv[0]);
            Assert.Equal(new[] { "0,0", "0,1", "2,0", "2,1" }, csv.Skip(1).Select(l => string.Join(",", l.Split(',')[0], l.Split(',')[2])));
            var cos = csv.Skip(1).Where(l => l.StartsWith("2,", StringComparison.Ordinal)).Select(l => double.Parse(l.Split(',')[4], Inv)).ToList();
            Assert.Equal(Statistics.Mean(cos), o.FinalEval["cosine"], 12);
            Assert.True(File.Exists(Path.Combine(o.Directory, "training", "summary.json")));
        }
        // ST is enumerable (exact columns), STGS's noise is continuous (no exact record: "-").
        Assert.True(outcomes[0].FinalEval.ContainsKey("exact_cosine"));
        Assert.False(outcomes[1].FinalEval.ContainsKey("exact_cosine"));
        var (header, rows) = GridReport.Table(e, outcomes);
        Assert.Equal("cos exact", header[2]);
        Assert.Equal("-", rows[1][2]);
        Assert.Equal(outcomes[0].FinalEval["exact_cosine"].ToString("F4", Inv), rows[0][2]);
        string docs = Path.Combine(_dir, "docs", "vae-bias.md");
        GridReport.Write(e, grid, docs);
        string md = File.ReadAllText(docs);
        Assert.StartsWith("# Gradient bias on the MNIST categorical VAE", md);
        Assert.Contains("### After 0 training steps", md);
        Assert.DoesNotContain("### After 2 training steps", md);   // the main table is the last step
        string step0 = outcomes[0].Records[0].Metrics["cosine"].ToString("F4", Inv);
        Assert.Contains($"| 3x2 ST | 1 | {outcomes[0].Records[0].Metrics["exact_cosine"].ToString("F4", Inv)} |", md);
        Assert.Contains(step0, md);
    }
}
