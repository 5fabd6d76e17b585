using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.KSubsetVae;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using DiscreteGrad.Tests.Cli;
using DiscreteGrad.Imle;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>The <c>ksubset-vae</c> declaration: binding, validation, a tiny grid run in-process on synthetic MNIST files.</summary>
[Collection(GlobalGenerator.Name)]
public sealed class KSubsetVaeExperimentTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-ksubset-grid-").FullName;
    private static readonly KSubsetVaeExperiment Vae = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    private static string Error(params (string, string)[] given) => Assert.Throws<SettingException>(() => Vae.Plan(Given(given), null)).Message;

    [Fact]
    public void The_grid_is_methods_times_differences_times_samples_times_seeds_and_by_default_all_eight()
    {
        var cells = Vae.Plan(Given(("methods", "imle,aimle"), ("differences", "forward,central"), ("samples", "1,10")), null);
        Assert.Equal(8, cells.Count);
        // The default grid is the same eight configurations (the AIMLE paper's comparison), one seed.
        Assert.Equal(cells.Select(c => c.Key), Vae.Plan(Given(), null).Select(c => c.Key));
        Assert.Equal("method-imle_difference-forward_samples-1_seed-1", cells[0].Key);
        Assert.Equal("I-MLE forward, S = 10", cells[1].Group);
        Assert.Equal("AIMLE central, S = 10 seed 1", cells[7].Label);
        var config = GridSpec<KSubsetVaeConfig>.FromSettings(cells[7].Settings);
        Assert.Equal((KSubsetMethod.Aimle, FiniteDifference.Central, 10, KSubsetNoise.SumOfGamma), (config.Method, config.Difference, config.Samples, config.Noise));
        Assert.Equal("sog", cells[7].Settings["noise"]);
        Assert.Equal(KSubsetNoise.Gumbel, GridSpec<KSubsetVaeConfig>.FromSettings(Vae.Plan(Given(("noise", "gumbel")), null)[0].Settings).Noise);
        Assert.Contains(ExperimentCatalog.All, e => e.Name == "ksubset-vae");
    }

    [Fact]
    public void Simple_runs_once_whatever_the_differences_and_alone_with_forward_is_refused()
    {
        var cells = Vae.Plan(Given(("methods", "aimle,simple"), ("differences", "forward,central"), ("samples", "10")), null);
        Assert.Equal(new[] { "method-aimle_difference-forward_samples-10_seed-1", "method-aimle_difference-central_samples-10_seed-1",
            "method-simple_difference-central_samples-10_seed-1" }, cells.Select(c => c.Key));
        Assert.Equal("SIMPLE, S = 10", cells[2].Group);
        Assert.Equal(new[] { "--methods simple has no finite difference: it runs once, in the --differences central cell" },
            Vae.Exclusions(Given(("methods", "simple"), ("differences", "forward,central")), null));
        Assert.Contains("every cell of the grid is left out", Error(("methods", "simple"), ("differences", "forward")));
    }

    [Fact]
    public void A_bad_option_is_one_line_naming_it_and_its_range_and_k_is_checked_against_categories()
    {
        Assert.Equal("--samples must be an integer in [1, 1000] (got '0').", Error(("samples", "0")));
        Assert.Equal("--train-examples must be an integer in [1, 60000] (got '60001').", Error(("train-examples", "60001")));
        Assert.Equal("--noise: unknown value 'normal'; allowed: sog, gumbel.", Error(("noise", "normal")));
        Assert.Equal("--kl: unknown value 'gaussian'; allowed: categorical, k-subset.", Error(("kl", "gaussian")));
        Assert.Equal("--differences: unknown value 'backward'; allowed: forward, central.", Error(("differences", "backward")));
        Assert.Equal("--k: must be at most --categories = 5 (got 6).", Error(("categories", "5"), ("k", "6")));
    }

    [Fact]
    public void A_tiny_grid_trains_on_mnist_files_and_reports_mean_and_std_over_seeds()
    {
        string data = SyntheticMnist.WriteFolder(Path.Combine(_dir, "mnist"), train: 40, test: 20);
        string grid = Path.Combine(_dir, "g");
        (string, string)[] small =
        {
            ("methods", "imle,aimle"), ("differences", "central"), ("samples", "2"), ("seeds", "2"), ("blocks", "3"), ("categories", "5"), ("k", "2"),
            ("hidden1", "16"), ("hidden2", "8"), ("train-examples", "40"), ("test-examples", "20"), ("batch", "10"), ("epochs", "1"), ("data", data),
        };
        var backend = new InProcessBackend(ExperimentCatalog.All);
        var (launch, outcomes) = GridRunner.Run(Vae, Vae.Plan(Given(small), null), new GridOptions(grid, "ksubset-vae test"), backend);
        Assert.True(launch.Completed);
        Assert.All(outcomes, o => Assert.Equal("done", o.State));
        var (header, rows) = GridReport.Table(Vae, outcomes);
        Assert.Equal("test loss (BCE + KL)", header[3]);
        Assert.Equal(new[] { "I-MLE central, S = 2", "AIMLE central, S = 2" }, rows.Select(r => r[0]));
        foreach (var row in rows)
        {
            var cells = outcomes.Where(o => o.Cell.Group == row[0]).ToList();
            var losses = cells.Select(o => o.FinalEval["test_loss"]).ToList();
            Assert.Equal($"{Statistics.Mean(losses).ToString("F2", Inv)} +- {Statistics.SampleStd(losses).ToString("F2", Inv)}", row[3]);
            // One evaluation per epoch, on all test images: the best is the final one.
            Assert.All(cells, o => Assert.Equal(o.FinalEval["test_loss"], KSubsetVaeExperiment.BestEpochEndTestLoss(o)));
        }
        Assert.Equal("10 +- 0", rows[0][8]);   // I-MLE's lambda is fixed
        GridReport.Write(Vae, grid);
        Assert.Contains("## Setup", File.ReadAllText(Path.Combine(grid, "report.md")));
        Assert.Contains("Encoder 784-16-8-15, decoder mirrored", File.ReadAllText(Path.Combine(grid, "report.md")));
        Assert.True(File.Exists(Path.Combine(grid, "test-loss.png")));

        // More training images than the folder has: the cell fails with one line naming the option.
        var (_, failed) = GridRunner.Run(Vae, Vae.Plan(Given(small.Where(kv => kv.Item1 is not ("train-examples" or "methods" or "seeds"))
                .Append(("train-examples", "41")).Append(("methods", "imle")).ToArray()), null), new GridOptions(Path.Combine(_dir, "big")), backend);
        Assert.Equal("--train-examples must be at most 40, the images of the MNIST training set (got 41).", failed.Single().Message);
    }

    [Fact]
    public void The_command_answers_a_bad_option_with_one_line_naming_it()
    {
        var (code, output) = CliProcess.Run(_dir, "ksubset-vae", "--noise", "normal");
        Assert.Equal((2, "error: --noise: unknown value 'normal'; allowed: sog, gumbel. (see --help)"), (code, output.Trim()));
        (code, output) = CliProcess.Run(_dir, "ksubset-vae", "--k", "30", "--out", Path.Combine(_dir, "o"));
        Assert.Equal((2, "error: --k: must be at most --categories = 20 (got 30)."), (code, output.Trim()));
    }
}
