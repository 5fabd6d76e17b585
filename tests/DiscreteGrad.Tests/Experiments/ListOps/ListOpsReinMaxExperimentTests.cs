using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.ListOps;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Tests.Cli;
using static DiscreteGrad.Tests.Experiments.GridTestKit;

namespace DiscreteGrad.Tests.Experiments.ListOps;

/// <summary>
/// The <c>listops-reinmax</c> experiment (ReinMax paper, Table 1): its declaration binds and validates, the plateau
/// schedule lowers the rate after its patience and its state survives a checkpoint (a resumed run is bit-identical), the
/// test file is scored, and a tiny grid runs in-process into the report.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class ListOpsReinMaxExperimentTests : IDisposable
{
    private static readonly ListOpsReinMaxExperiment Experiment = new();
    private static readonly Lazy<ListOpsSplits> SmallData =
        new(() => new NangiaBowmanListOpsRecipe { TrainCount = 120, DevCount = 30, TestCount = 30 }.Generate(5));
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-listops-reinmax-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static ListOpsReinMaxConfig Small(EstimatorKind estimator) => new()
    {
        Estimator = estimator, TrainExamples = 60, DevExamples = 20, TestExamples = 20, MaxLength = 40, Epochs = 2, BatchSize = 8, Dim = 8,
        EvalsPerEpoch = 3, PlateauPatience = 0, GumbelRaoK = 5,
    };

    [Fact]
    public void The_defaults_are_the_reference_run_and_the_grid_is_estimators_times_seeds()
    {
        var cells = Experiment.Plan(Given(), null);
        Assert.Equal(new[] { "STGS", "GR-MCK", "GST-1.0", "ST", "ReinMax" }, cells.Select(c => c.Group));
        Assert.Equal("estimator-reinmax_seed-1", cells[4].Key);
        var c = GridSpec<ListOpsReinMaxConfig>.FromSettings(cells[4].Settings);
        Assert.Equal(new ListOpsReinMaxConfig(), c);
        Assert.Equal((300, 16, 20, 7e-4, 1.1, 5.0, 0.5, 4, 2), (c.Dim, c.BatchSize, c.Epochs, c.LearningRate, c.Tau, c.Clip, c.PlateauFactor,
            c.PlateauPatience, c.EvalsPerEpoch));
        Assert.Equal((90_000, 10_000, 10_000, 99), (c.TrainExamples, c.DevExamples, c.TestExamples, c.MaxLength));
        Assert.Equal((300, 300, 300, EstimatorKind.ReinMax, 1.1), (c.ModelOptions.WordDim, c.ModelOptions.HiddenDim, c.ModelOptions.ClassifierHiddenDim,
            c.ModelOptions.Estimator, c.ModelOptions.Tau));
        Assert.Equal(10, Experiment.Plan(Given(("seeds", "2")), null).Count);
        Assert.Equal("GR-MCK seed 1", Experiment.Plan(Given(("estimators", "GR-MCK")), null).Single().Label);
        Assert.IsType<ListOpsReinMaxExperiment>(ExperimentCatalog.Find("listops-reinmax"));
        Assert.Contains("| ReinMax | 67.65 | 68.07 |", Experiment.PaperReference);
    }

    [Fact]
    public void A_bad_option_is_one_line_naming_it_and_its_range()
    {
        Assert.Equal("--estimators: unknown value 'foo'; allowed: st, stgs, gst, grmck, reinmax, gs, zgr, dstgs, dgs.", Error(Experiment, ("estimators", "st,foo")));
        Assert.Equal("--max-length must be an integer in [4, 99] (got '100').", Error(Experiment, ("max-length", "100")));
        Assert.Equal("--plateau-factor must be a finite number in (0, 0.999] (got '1').", Error(Experiment, ("plateau-factor", "1")));
        Assert.Equal("--clip must be a finite number in [0, 1000000000] (got '-1').", Error(Experiment, ("clip", "-1")));
        Assert.Equal("--dev-examples must be an integer in [1, 10000] (got '0').", Error(Experiment, ("dev-examples", "0")));
    }

    [Fact]
    public void The_command_refuses_a_missing_test_file_with_exit_code_2_and_one_line()
    {
        string missing = Path.Combine(_dir, "missing.tsv");
        var (code, output) = CliProcess.Run(_dir, "listops-reinmax", "--test-file", missing, "--out", Path.Combine(_dir, "o"));
        Assert.Equal(2, code);
        Assert.Equal($"error: --test-file: {missing}: no such file (give a DCCG JSON or Nangia-Bowman TSV ListOps file, or 'none').", output.Trim());
    }

    [Fact]
    public void Max_length_keeps_the_expressions_the_reference_counts_as_short_enough()
    {
        var task = new ListOpsReinMaxTask(Small(EstimatorKind.ReinMax) with { MaxLength = 20 }, SmallData.Value);
        var recipe = ListOpsReinMaxConfig.Recipe;
        Assert.Equal(SmallData.Value.Train.Take(60).Count(e => recipe.CountedLength(e) <= 20), task.Sizes.Train);
        Assert.True(task.Sizes.Train < 60);
        var e = Assert.Throws<ArgumentException>(() => new ListOpsReinMaxTask(Small(EstimatorKind.ReinMax) with { MaxLength = 4 }, SmallData.Value));
        Assert.StartsWith("--max-length 4 keeps none of the first 60 training expressions.", e.Message);
    }

    [Fact]
    public void The_plateau_halves_the_rate_after_its_patience_and_its_state_survives_a_checkpoint()
    {
        // A tiny model's validation accuracy stalls at once, so with patience 0 every evaluation without improvement
        // halves the rate: the resumed run must continue from the halved rate and the plateau's counts.
        var config = Small(EstimatorKind.ReinMax);
        var straight = new ListOpsReinMaxTask(config, SmallData.Value);
        var r1 = ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(_dir, "a"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false));
        var lrs = r1.Records.Where(r => r.Kind == "eval").Select(r => r.Metrics["lr"]).ToList();
        Assert.Equal(6, lrs.Count);
        Assert.True(straight.Plateau.Reductions >= 1, "the rate was never lowered");
        for (int i = 1; i < lrs.Count; i++) Assert.True(lrs[i] == lrs[i - 1] || Math.Abs(lrs[i] - lrs[i - 1] * 0.5) < 1e-15, $"{lrs[i - 1]} -> {lrs[i]}");
        Assert.Equal(7e-4 * Math.Pow(0.5, straight.Plateau.Reductions), straight.Optimizer.ParamGroups.First().LearningRate, 15);

        long stop = straight.StepsPerEpoch + straight.StepsPerEpoch / 2 + 1;     // after three evaluations
        string b = Path.Combine(_dir, "b");
        ExperimentRunner.Run(new ListOpsReinMaxTask(config, SmallData.Value),
            new RunnerOptions(b, LogEvery: 1, CheckpointEvery: 0, WriteReport: false, StopAtStep: stop));
        Assert.True(File.Exists(Path.Combine(CheckpointStore.Latest(b)!, "extra.bin")));
        var resumed = new ListOpsReinMaxTask(config, SmallData.Value);
        var r2 = ExperimentRunner.Run(resumed, new RunnerOptions(b, LogEvery: 1, CheckpointEvery: 0, Resume: true, WriteReport: false));
        Assert.Equal(stop, r2.StartStep);
        Assert.Equal(straight.Model.parameters().SelectMany(p => p.data<float>().ToArray()), resumed.Model.parameters().SelectMany(p => p.data<float>().ToArray()));
        Assert.Equal((straight.Plateau.Best, straight.Plateau.BadEvaluations, straight.Plateau.Evaluations, straight.Plateau.Reductions),
            (resumed.Plateau.Best, resumed.Plateau.BadEvaluations, resumed.Plateau.Evaluations, resumed.Plateau.Reductions));
        Assert.Equal(lrs, r2.Records.Where(r => r.Kind == "eval").Select(r => r.Metrics["lr"]));
        Assert.Equal(r1.FinalEval["test_accuracy"], r2.FinalEval["test_accuracy"]);
        Assert.Equal(r1.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]), r2.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]));
    }

    [Fact]
    public void A_tiny_grid_runs_in_process_scores_a_tsv_test_file_and_reports_the_table()
    {
        string grid = Path.Combine(_dir, "grid"), tsv = Path.Combine(_dir, "test.tsv");
        var fileExamples = SmallData.Value.Test.Take(11).ToList();
        ListOpsFile.Write(tsv, fileExamples, ListOpsFileFormat.Tsv);
        var cells = Experiment.Plan(Given(("estimators", "st,reinmax"), ("seeds", "2"), ("train-examples", "64"), ("dev-examples", "20"),
            ("test-examples", "20"), ("max-length", "40"), ("epochs", "1"), ("dim", "8"), ("test-file", tsv)), null);
        var outcomes = RunGrid(Experiment, cells, grid);
        Assert.All(outcomes, o => Assert.Equal(2, o.Records.Count(r => r.Kind == "eval")));
        var (header, rows) = GridReport.Table(Experiment, outcomes);
        Assert.Equal(new[] { "run", "seeds", "valid acc", "test acc", "best valid acc", "test acc at best valid", "test-file acc", "final lr", "s / epoch" }, header);
        Assert.Equal(new[] { "ST", "ReinMax" }, rows.Select(r => r[0]));
        foreach (var row in rows)
        {
            var group = outcomes.Where(o => o.Cell.Group == row[0]).ToList();
            Assert.Equal(MeanStd(group.Select(o => Last(o, "eval.csv", "valid_accuracy")), "F3"), row[2]);
            Assert.Equal(MeanStd(group.Select(o => o.FinalEval["file_accuracy"]), "F3"), row[6]);
        }
        // The file's score is the final checkpoint's accuracy on the file (greedy merges are deterministic).
        var cell = outcomes[0];
        var task = new ListOpsReinMaxTask(GridSpec<ListOpsReinMaxConfig>.FromSettings(cell.Cell.Settings), ListOpsReinMaxExperiment.Data(1));
        CheckpointStore.TryRestore(task, cell.Directory);
        task.Model.eval();
        using (TorchSharp.torch.no_grad())
            Assert.Equal(cell.FinalEval["file_accuracy"], task.Accuracy(ListOpsTestFileSetting.Read(tsv, allowSumMod: true)));
        GridReport.Write(Experiment, grid);
        string md = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.Contains("| ReinMax | 2 |", md);
        Assert.Contains("| STGS | 66.95 | 67.30 |", md);
        Assert.Contains("## Setup", md);
        Assert.True(File.Exists(Path.Combine(grid, "valid-accuracy.png")));
    }
}
