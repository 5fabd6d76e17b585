using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.MnistAddition;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using DiscreteGrad.Tests.Cli;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>The <c>mnist-addition</c> and <c>mnist-addition-evaluate</c> declarations: binding, validation, a tiny grid run in-process.</summary>
public sealed class MnistAdditionExperimentTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-mnadd-grid-").FullName;
    private static readonly MnistAdditionExperiment Training = new();
    private static readonly MnistAdditionEvaluation Evaluation = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    private static string Error(IExperiment e, params (string, string)[] given) =>
        Assert.Throws<SettingException>(() => e.Plan(Given(given), null)).Message;

    [Fact]
    public void The_defaults_are_the_reference_run_and_the_options_keep_their_names()
    {
        var cell = Training.Plan(Given(), null).Single();
        Assert.Equal("scheme-tempmatch-dropres_seed-1", cell.Key);
        Assert.Equal("TM + DropRes seed 1", cell.Label);
        var config = GridSpec<MnistAdditionConfig>.FromSettings(cell.Settings);
        Assert.Equal(new MnistAdditionConfig(), config);
        Assert.Equal((30, 30_000, 5_000, AdditionArchitecture.Reference), (config.Epochs, config.TrainPairs, config.TestPairs, config.Architecture));
        foreach (var name in new[] { "schemes", "seeds", "epochs", "digits", "train-pairs", "test-pairs", "batch", "lr", "tau", "gamma", "evals-per-epoch", "eval", "architecture", "data" })
            Assert.Contains(Training.Settings, s => s.Name == name);
        Assert.True(Training.Settings.Single(s => s.Name == "data").Attribute.Local);
        Assert.Equal("gs", cell.Settings["estimator"]);
        var reinmax = Training.Plan(Given(("estimator", "reinmax")), null).Single();
        Assert.Equal(DiscreteGrad.Estimators.EstimatorKind.ReinMax, GridSpec<MnistAdditionConfig>.FromSettings(reinmax.Settings).Estimator);
        Assert.Contains(ExperimentCatalog.All, e => e.Name == "mnist-addition");
        Assert.Contains(ExperimentCatalog.All, e => e.Name == "mnist-addition-evaluate");
    }

    [Fact]
    public void The_figure_4_grid_is_schemes_times_seeds_in_the_order_of_the_command()
    {
        var cells = Training.Plan(Given(("schemes", "base,tauann,tempmatch,tempmatch-dropres"), ("seeds", "3")), null);
        Assert.Equal(12, cells.Count);
        Assert.Equal(new[] { "Base", "TauAnn", "TM", "TM + DropRes" }, cells.Select(c => c.Group).Distinct());
        Assert.Equal(new[] { "1", "2", "3" }, cells.Take(3).Select(c => c.Settings["seeds"]));
        Assert.Equal("scheme-tauann_seed-2", cells[4].Key);
    }

    [Fact]
    public void A_bad_option_is_one_line_naming_it_and_its_range_and_tau_floor_follows_tau()
    {
        Assert.Equal("--lr must be a finite number in (0, 10] (got '0').", Error(Training, ("lr", "0")));
        Assert.Equal("--digits must be an integer in [2, 16] (got '1').", Error(Training, ("digits", "1")));
        Assert.Equal("--schemes: unknown value 'tm'; allowed: base, tauann, tempmatch, dropres, tempmatch-dropres.", Error(Training, ("schemes", "tm")));
        Assert.Equal("--eval: unknown value 'best'; allowed: sample, argmax, relaxed.", Error(Training, ("eval", "best")));
        // The floor of TauAnn is not an option one must remember: by default it follows tau, so --tau 0.5 works ...
        var low = GridSpec<MnistAdditionConfig>.FromSettings(Training.Plan(Given(("tau", "0.5"), ("schemes", "tauann")), null).Single().Settings);
        Assert.Equal(0.5, low.EffectiveTauFloor);
        // ... and a floor above tau is refused naming its option.
        Assert.Equal("--tau-floor: must be at most --tau = 0.5 (got 0.8; 0 follows --tau).", Error(Training, ("tau", "0.5"), ("tau-floor", "0.8")));
    }

    [Fact]
    public void A_tiny_grid_trains_reports_mean_and_std_over_seeds_and_its_checkpoints_evaluate_again()
    {
        string data = SyntheticMnist.WriteFolder(Path.Combine(_dir, "mnist"));
        string grid = Path.Combine(_dir, "train");
        var cells = Training.Plan(Given(("schemes", "base,tempmatch"), ("seeds", "2"), ("epochs", "1"), ("train-pairs", "48"), ("test-pairs", "30"),
            ("batch", "16"), ("lr", "0.001"), ("data", data)), null);
        var backend = new InProcessBackend(ExperimentCatalog.All);
        var (launch, outcomes) = GridRunner.Run(Training, cells, new GridOptions(grid, "mnist-addition test"), backend);
        Assert.True(launch.Completed);
        Assert.All(outcomes, o => Assert.Equal("done", o.State));
        var (header, rows) = GridReport.Table(Training, outcomes);
        Assert.Equal(new[] { "run", "seeds", "test accuracy", "best test accuracy", "digit accuracy", "categories used", "s / epoch" }, header);
        Assert.Equal(new[] { "Base", "TM" }, rows.Select(r => r[0]));
        foreach (var row in rows)
        {
            var finals = outcomes.Where(o => o.Cell.Group == row[0]).Select(o => FinalEvalFromCsv(o.Directory, "test_accuracy")).ToList();
            Assert.Equal("2", row[1]);
            Assert.Equal($"{Statistics.Mean(finals).ToString("F3", Inv)} +- {Statistics.SampleStd(finals).ToString("F3", Inv)}", row[2]);
        }
        // s / epoch: seconds per step (the summary's) times the 3 steps of an epoch.
        var first = outcomes[0];
        Assert.Equal(first.SecondsPerStep * 3, SummaryMetric.SecondsPerEpoch().Value(first), 12);
        GridReport.Write(Training, grid);
        string md = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.Contains("| Base | 2 |", md);
        Assert.Contains("## Setup", md);
        Assert.True(File.Exists(Path.Combine(grid, "test-accuracy.png")));
        Assert.True(File.Exists(Path.Combine(grid, "digit-accuracy.png")));

        // Evaluating the final checkpoints again with the training's mode reproduces the last evaluation exactly; the
        // relaxed mode is another number of the same checkpoint.
        string again = Path.Combine(_dir, "evaluate");
        var evalCells = Evaluation.Plan(Given(("grid", grid), ("schemes", "base,tempmatch"), ("seeds", "2"), ("eval", "sample,relaxed")), null);
        Assert.Equal(8, evalCells.Count);
        var (_, scored) = GridRunner.Run(Evaluation, evalCells, new GridOptions(again, "evaluate test"), backend);
        Assert.All(scored, o => Assert.Equal("done", o.State));
        foreach (var o in scored)
        {
            var trained = outcomes.Single(t => t.Cell.Settings["schemes"] == o.Cell.Settings["schemes"] && t.Cell.Settings["seeds"] == o.Cell.Settings["seeds"]);
            var record = o.Records.Single();
            Assert.Equal(("eval", 3L), (record.Kind, record.Step));
            if (o.Cell.Settings["eval"] == "sample")
                Assert.Equal(trained.FinalEval["test_accuracy"], record.Metrics["test_accuracy"]);
            Assert.InRange(record.Metrics["digit_accuracy"], 0, 1);
        }
        var (evalHeader, evalRows) = GridReport.Table(Evaluation, scored);
        Assert.Equal(new[] { "run", "seeds", "steps", "test accuracy", "digit accuracy", "categories used" }, evalHeader);
        Assert.Equal(new[] { "Base, sample", "Base, relaxed", "TM, sample", "TM, relaxed" }, evalRows.Select(r => r[0]));

        // A seed the training grid does not have fails its cell with one line naming --grid.
        var (_, missing) = GridRunner.Run(Evaluation, Evaluation.Plan(Given(("grid", grid), ("schemes", "base"), ("seeds", "3..3")), null),
            new GridOptions(Path.Combine(_dir, "missing")), backend);
        Assert.Equal("failed", missing.Single().State);
        Assert.Equal($"--grid {grid} has no cell of scheme base and seed 3; it has: base seed 1, base seed 2, tempmatch seed 1, tempmatch seed 2.", missing.Single().Message);
        var (_, notGrid) = GridRunner.Run(Evaluation, Evaluation.Plan(Given(("grid", data)), null), new GridOptions(Path.Combine(_dir, "not-grid")), backend);
        Assert.Equal($"--grid {data} holds no grid (no grid.json): give the --out of an mnist-addition run.", notGrid.Single().Message);
    }

    private static double FinalEvalFromCsv(string dir, string column)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, "eval.csv"));
        int i = Array.IndexOf(lines[0].Split(','), column);
        return double.Parse(lines[^1].Split(',')[i], Inv);
    }

    [Fact]
    public void The_command_answers_a_bad_option_with_one_line_naming_it()
    {
        var (code, output) = CliProcess.Run(_dir, "mnist-addition", "--lr", "0");
        Assert.Equal((2, "error: --lr must be a finite number in (0, 10] (got '0'). (see --help)"), (code, output.Trim()));
        (code, output) = CliProcess.Run(_dir, "mnist-addition", "--tau", "0.5", "--tau-floor", "0.8", "--out", Path.Combine(_dir, "o"));
        Assert.Equal((2, "error: --tau-floor: must be at most --tau = 0.5 (got 0.8; 0 follows --tau)."), (code, output.Trim()));
        Assert.False(Directory.Exists(Path.Combine(_dir, "o")));
    }
}
