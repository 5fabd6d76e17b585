using System.Globalization;
using DiscreteGrad.Diagnostics;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.ListOps;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Tests.Cli;
using TorchSharp;
using static DiscreteGrad.Tests.Experiments.GridTestKit;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments.ListOps;

/// <summary>
/// The <c>listops</c> experiment (DCCG, Figure 1 bottom and Figure 6): its declaration binds and validates, the schedules
/// update as the reference, a resumed run is bit-identical, the continuous scheme draws nothing, the Figure 6 probe equals
/// torch.autograd.grad, the test file is scored, and a tiny grid runs in-process into the report.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class ListOpsExperimentTests : IDisposable
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly ListOpsExperiment Experiment = new();
    private static readonly Lazy<ListOpsSplits> SmallData =
        new(() => new DccgListOpsRecipe { TrainPerDepth = 30, DevPerDepth = 8, TestPerDepth = 8, ExtrapolationCount = 8 }.Generate(3));
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-listops-exp-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static ListOpsConfig Small(ListOpsScheme scheme, int epochs = 2) => new()
    {
        Scheme = scheme, TrainExamples = 60, DevExamples = 20, TestExamples = 25, ExtrapolationExamples = 8, Epochs = epochs,
        BatchSize = 8, Dim = 8, ProbeExamples = 6, UpdatesPerEpoch = 4, AlphaIncrement = 0.1, Gamma = 0.3, LearningRate = 1e-2,
    };

    [Fact]
    public void The_defaults_are_the_reference_run_and_the_grid_is_schemes_times_seeds()
    {
        var cells = Experiment.Plan(Given(), null);
        Assert.Equal(new[] { "Base", "TM", "DropRes", "TM + DropRes", "Continuous" }, cells.Select(c => c.Group));
        Assert.Equal("scheme-tempmatch-dropres_seed-1", cells[3].Key);
        var c = GridSpec<ListOpsConfig>.FromSettings(cells[3].Settings);
        Assert.Equal(new ListOpsConfig(), c);
        Assert.Equal((100, 100, 5e-4, 1.0, 0.008, 1.0 / 500, 10, 5, 60), (c.Epochs, c.BatchSize, c.LearningRate, c.Tau, c.Gamma, c.AlphaIncrement,
            c.UpdatesPerEpoch, c.Rounds, c.Dim));
        Assert.Equal((90_000, 10_000, 10_000, 10_000, 1), (c.TrainExamples, c.DevExamples, c.TestExamples, c.ExtrapolationExamples, c.BucketWidth));
        Assert.True(Experiment.Settings.Single(s => s.Name == "test-file").Attribute.Local);
        Assert.Equal(15, Experiment.Plan(Given(("schemes", "all"), ("seeds", "3")), null).Count);
        Assert.Equal("TM + DropRes seed 2", Experiment.Plan(Given(("schemes", "TM + DropRes"), ("seeds", "2..2")), null).Single().Label);
        Assert.IsType<ListOpsExperiment>(ExperimentCatalog.Find("listops"));
        // The model each scheme builds: discrete or not, DropRes or not, beta from 0 with TempMatch.
        var options = ListOpsSchemes.All.Select(s => (new ListOpsConfig { Scheme = s }).ModelOptions).ToList();
        Assert.Equal(new[] { false, false, true, true, false }, options.Select(o => o.DropRes));
        Assert.Equal(new[] { 1.0, 0, 1, 0, 1 }, options.Select(o => o.Beta));
        Assert.Equal(DccgListOpsVariant.Continuous, options[4].Variant);
    }

    [Fact]
    public void A_bad_option_is_one_line_naming_it_and_its_range()
    {
        Assert.Equal("--lr must be a finite number in (0, 10] (got '0').", Error(Experiment, ("lr", "0")));
        Assert.Equal("--train-examples must be an integer in [1, 90000] (got '90001').", Error(Experiment, ("train-examples", "90001")));
        Assert.Equal("--rounds must be an integer in [1, 100] (got '0').", Error(Experiment, ("rounds", "0")));
        Assert.Equal("--schemes: unknown value 'tauann'; allowed: all, base, tempmatch, dropres, tempmatch-dropres, continuous.",
            Error(Experiment, ("schemes", "tauann")));
        string missing = Path.Combine(_dir, "nope.json");
        Assert.Equal($"--test-file: {missing}: no such file (give a DCCG JSON or Nangia-Bowman TSV ListOps file, or 'none').",
            Error(Experiment, ("test-file", missing)));
    }

    [Fact]
    public void The_command_refuses_a_bad_option_with_exit_code_2_and_one_line()
    {
        var (code, output) = CliProcess.Run(_dir, "listops", "--epochs", "0", "--out", Path.Combine(_dir, "o"));
        Assert.Equal((2, "error: --epochs must be an integer in [1, 100000] (got '0'). (see --help)"), (code, output.Trim()));
        Assert.False(Directory.Exists(Path.Combine(_dir, "o")));
    }

    [Fact]
    public void Schedules_update_U_times_per_epoch_before_the_batches_floor_k_S_over_U_the_first_included()
    {
        using var task = new ListOpsTask(Small(ListOpsScheme.TempMatchDropRes) with { Epochs = 3 }, SmallData.Value);
        long s = task.StepsPerEpoch;
        Assert.True(s > 8, $"{s} steps per epoch");
        var points = Enumerable.Range(0, 4).Select(k => k * s / 4).ToHashSet();
        for (long step = 0; step < 3 * s; step++)
            Assert.Equal(task.UpdatesThrough(step - 1) + (points.Contains(step % s) ? 1 : 0), task.UpdatesThrough(step));
        Assert.Equal((1L, 4L, 5L, 12L), (task.UpdatesThrough(0), task.UpdatesThrough(s - 1), task.UpdatesThrough(s), task.UpdatesThrough(3 * s - 1)));
        // The first batch trains with one update done: beta = tau (1 - e^(-gamma)), alpha = one increment.
        var m = task.TrainStep(0);
        Assert.Equal(1 - Math.Exp(-0.3), m["beta"], 12);
        Assert.Equal(0.1, m["alpha"], 12);
        Assert.Equal(1.0, m["tau"]);
        // Base keeps beta = 1 and no residual.
        using var b = new ListOpsTask(Small(ListOpsScheme.Base), SmallData.Value);
        var mb = b.TrainStep(0);
        Assert.Equal((1.0, 1.0), (mb["beta"], mb["alpha"]));
        Assert.Equal(DiscreteGrad.Layers.DropResMode.None, b.Network.Digit.DropRes);
    }

    [Fact]
    public void A_run_resumed_in_the_middle_of_an_epoch_is_bit_identical_to_a_straight_one()
    {
        var config = Small(ListOpsScheme.TempMatchDropRes);
        using var straight = new ListOpsTask(config, SmallData.Value);
        var r1 = ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(_dir, "a"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false));
        long stop = straight.StepsPerEpoch + straight.StepsPerEpoch / 2 + 1;      // mid-epoch, after one evaluation
        string b = Path.Combine(_dir, "b");
        using (var first = new ListOpsTask(config, SmallData.Value))
            ExperimentRunner.Run(first, new RunnerOptions(b, LogEvery: 1, CheckpointEvery: 0, WriteReport: false, StopAtStep: stop));
        using var resumed = new ListOpsTask(config, SmallData.Value);
        var r2 = ExperimentRunner.Run(resumed, new RunnerOptions(b, LogEvery: 1, CheckpointEvery: 0, Resume: true, WriteReport: false));
        Assert.Equal(stop, r2.StartStep);
        var p1 = straight.Model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        var p2 = resumed.Model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        Assert.Equal(p1, p2);
        Assert.Equal(r1.FinalEval.Where(kv => kv.Key != "rss_mb"), r2.FinalEval.Where(kv => kv.Key != "rss_mb"));
        Assert.Equal(r1.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]), r2.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]));
        foreach (var key in new[] { "dev_accuracy", "test_accuracy", "test_depth3", "test_parent_recall", "test_intermediate_accuracy",
                     "extrapolation8_accuracy", "extrapolation10_accuracy" })
            Assert.InRange(r1.FinalEval[key], 0, 1);
        Assert.All(Enumerable.Range(1, 5), r => Assert.True(r1.FinalEval[$"grad_round{r}"] > 0, $"grad_round{r}"));
        Assert.False(r1.FinalEval.ContainsKey("grad_round6"));
    }

    [Fact]
    public void Evaluation_and_the_probe_leave_the_training_streams_alone()
    {
        var config = Small(ListOpsScheme.TempMatchDropRes);
        using var task = new ListOpsTask(config, SmallData.Value);
        task.TrainStep(0);
        var noise = Bytes(task.Generators[0]);
        var global = Bytes(task.Generators[1]);
        task.Model.eval();
        using (torch.no_grad()) task.Evaluate(1);
        Assert.True(noise.SequenceEqual(Bytes(task.Generators[0])), "the model's generator moved");
        Assert.True(global.SequenceEqual(Bytes(task.Generators[1])), "the global generator moved");
        Assert.Equal(config.Rounds, task.Network.Rounds);
    }

    [Fact]
    public void The_continuous_scheme_has_no_discrete_node_in_its_forward_pass()
    {
        using var task = new ListOpsTask(Small(ListOpsScheme.Continuous), SmallData.Value);
        var model = task.Network;
        Assert.Equal(DccgListOpsVariant.Continuous, model.Options.Variant);
        model.train();
        using var batch = ListOpsBatch.Create(SmallData.Value.Train.Take(5).ToList(), padId: model.Options.PaddingId);
        var draws = Bytes(task.Generators[0]);
        torch.random.manual_seed(5);
        var o1 = model.Forward(batch.Tokens, batch.Mask);
        // Nothing was drawn from the nodes' generator: no parent sample, no digit sample, no DropRes coin ...
        Assert.Equal(draws, Bytes(task.Generators[0]));
        Assert.Null(o1.RoundDigits);
        // ... the parent matrix is the softmax of the parent logits (not one-hot) ...
        var soft = o1.ParentLogits.softmax(-1) * batch.Mask.unsqueeze(-1).to(ScalarType.Float32);
        Assert.True((soft - o1.Parents).abs().max().item<float>() < 1e-6);
        Assert.True((o1.Parents.max(-1).values < 0.999).any().item<bool>());
        // ... and with the same dropout draws another node generator gives the same logits.
        model.Generator = new Generator(999);
        torch.random.manual_seed(5);
        var o2 = model.Forward(batch.Tokens, batch.Mask);
        Assert.Equal(o1.Logits.data<float>().ToArray(), o2.Logits.data<float>().ToArray());
        // The discrete network does draw in training.
        using var discrete = new ListOpsTask(Small(ListOpsScheme.Base), SmallData.Value);
        var before = Bytes(discrete.Generators[0]);
        discrete.Network.train();
        discrete.Network.Forward(batch.Tokens, batch.Mask);
        Assert.NotEqual(before, Bytes(discrete.Generators[0]));
    }

    [Fact]
    public void The_figure_6_probe_equals_torch_autograd_grad_of_the_summed_loss()
    {
        manual_seed(11);
        var model = new DccgListOpsModel(new DccgListOpsOptions { Dim = 6, Rounds = 3 }, new Generator(1));
        model.to(ScalarType.Float64);
        model.Tau = 0.7;
        model.Beta = 0.4;
        model.Alpha = 0.5;
        model.eval();
        using var batch = ListOpsBatch.Create(SmallData.Value.Train.Take(4).ToList(), padId: model.Options.PaddingId);
        Assert.True(batch.Mask.logical_not().any().item<bool>(), "the probe batch should need padding");
        var globalBefore = torch.random.get_rng_state().data<byte>().ToArray();
        var generator = model.Generator;
        var probe = ListOpsGradientProbe.RoundGradients(model, batch, seed: 21);
        // The probe restores the global generator, the model's generator and mode, and leaves no parameter gradient.
        Assert.Equal(globalBefore, torch.random.get_rng_state().data<byte>().ToArray());
        Assert.Same(generator, model.Generator);
        Assert.False(model.training);
        Assert.Null(model.Tracker);
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<double>() == 0));

        // The same pass by hand: the same draws, the tracked states as inputs of torch.autograd.grad.
        torch.random.manual_seed(21);
        model.Generator = new Generator(21);
        using var tracker = new GradientTracker();
        model.Tracker = tracker;
        model.train();
        var o = model.Forward(batch.Tokens, batch.Mask);
        var loss = nn.functional.cross_entropy(o.Logits, batch.Targets, reduction: nn.Reduction.Sum);
        var states = Enumerable.Range(0, 4).Select(r => tracker.Tracked($"round{r}")).ToList();
        var grads = torch.autograd.grad(new[] { loss }, states, allow_unused: true);
        var mask = batch.Mask.to(ScalarType.Float64).unsqueeze(-1);
        double n = mask.sum().item<double>() * 6;
        Assert.Equal(4, probe.Length);
        for (int r = 0; r < 4; r++)
        {
            double expected = (grads[r].abs() * mask).sum().item<double>() / n;
            Assert.True(expected > 0, $"round {r}");
            Assert.Equal(expected, probe[r], 12);
        }
        model.Tracker = null;
    }

    [Fact]
    public void A_test_file_with_sum_mod_is_refused_and_json_and_tsv_files_read_the_same_expressions()
    {
        var xs = SmallData.Value.Test.Take(7).ToList();
        string json = Path.Combine(_dir, "t.json"), tsv = Path.Combine(_dir, "t.tsv");
        ListOpsFile.Write(json, xs, ListOpsFileFormat.DccgJson);
        ListOpsFile.Write(tsv, xs, ListOpsFileFormat.Tsv);
        var a = ListOpsTestFileSetting.Read(json, allowSumMod: false);
        var b = ListOpsTestFileSetting.Read(tsv, allowSumMod: false);
        Assert.Equal(xs.Select(e => e.Expression).OrderBy(s => s, StringComparer.Ordinal), a.Select(e => e.Expression).OrderBy(s => s, StringComparer.Ordinal));
        Assert.Equal(xs.Select(e => e.Expression), b.Select(e => e.Expression));
        string sm = Path.Combine(_dir, "sm.tsv");
        ListOpsFile.Write(sm, new[] { xs[0], ListOpsExample.Parse("[SM 3 4 ]") }, ListOpsFileFormat.Tsv);
        var e = Assert.Throws<InvalidDataException>(() => ListOpsTestFileSetting.Read(sm, allowSumMod: false));
        Assert.Equal($"--test-file {sm}: expression 2 uses [SM, which the DCCG vocabulary (] [MIN [MAX [MED and the digits) does not have.", e.Message);
        Assert.Equal(2, ListOpsTestFileSetting.Read(sm, allowSumMod: true).Count);
        // Scored on the final model only, as metrics of their own.
        using var task = new ListOpsTask(Small(ListOpsScheme.TempMatch, epochs: 1), SmallData.Value, testFile: b);
        var r = ExperimentRunner.Run(task, new RunnerOptions(Path.Combine(_dir, "file"), LogEvery: 5, CheckpointEvery: 0, WriteReport: false));
        Assert.Equal(7, r.FinalEval["file_expressions"]);
        Assert.InRange(r.FinalEval["file_accuracy"], 0, 1);
        Assert.InRange(r.FinalEval["file_parent_recall"], 0, 1);
        Assert.All(r.Records.Where(x => x.Kind == "eval" && x.Step < r.Steps), x => Assert.False(x.Metrics.ContainsKey("file_accuracy")));
    }

    [Fact]
    public void A_tiny_grid_runs_in_process_and_reports_the_table_and_figure_6()
    {
        string grid = Path.Combine(_dir, "grid"), file = Path.Combine(_dir, "file.json");
        ListOpsFile.Write(file, SmallData.Value.Dev.Take(9), ListOpsFileFormat.DccgJson);
        var cells = Experiment.Plan(Given(("schemes", "tempmatch-dropres,continuous"), ("seeds", "2"), ("train-examples", "80"),
            ("dev-examples", "30"), ("test-examples", "30"), ("extrapolation-examples", "10"), ("epochs", "1"), ("evals-per-epoch", "2"),
            ("dim", "8"), ("probe-examples", "8"), ("test-file", file)), null);
        var outcomes = RunGrid(Experiment, cells, grid);
        Assert.All(outcomes, o => Assert.Equal(2, o.Records.Count(r => r.Kind == "eval")));
        var (header, rows) = GridReport.Table(Experiment, outcomes);
        Assert.Equal(new[] { "run", "seeds", "dev acc", "test acc", "test acc at best dev", "depth 1", "depth 2", "depth 3", "depth 4", "depth 5",
            "parent recall", "intermediate acc", "depth 8 (8 rounds)", "depth 10 (10 rounds)", "test-file acc", "s / epoch" }, header);
        Assert.Equal(new[] { "TM + DropRes", "Continuous" }, rows.Select(r => r[0]));
        foreach (var row in rows)
        {
            var group = outcomes.Where(o => o.Cell.Group == row[0]).ToList();
            Assert.Equal("2", row[1]);
            Assert.Equal(MeanStd(group.Select(o => Last(o, "eval.csv", "test_accuracy")), "F3"), row[3]);
            Assert.Equal(MeanStd(group.Select(o => o.FinalEval["file_accuracy"]), "F3"), row[14]);   // file_* are in metrics.jsonl, not eval.csv
            Assert.Equal(MeanStd(group.Select(o => ListOpsExperiment.TestAtBestDev(o)), "F3"), row[4]);
        }
        GridReport.Write(Experiment, grid);
        string md = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.Contains("| TM + DropRes | 2 |", md);
        Assert.Contains("## Gradients per round (Figure 6)", md);
        Assert.Contains("| run | seeds | round 1 | round 2 | round 3 | round 4 | round 5 |", md);
        foreach (var png in new[] { "dev-accuracy.png", "test-accuracy.png", "gradients-first.png", "gradients-last.png" })
            Assert.True(File.Exists(Path.Combine(grid, png)), png);
        // The Figure 6 table's first row is the mean over seeds of the first evaluation's grad_round1.
        var tm = outcomes.Where(o => o.Cell.Group == "TM + DropRes").Select(o => o.Records.First(r => r.Kind == "eval").Metrics["grad_round1"]).ToList();
        Assert.Contains($"| TM + DropRes | 2 | {Statistics.Mean(tm).ToString("E2", Inv)} |", md);
    }

    private static byte[] Bytes(Generator g)
    {
        using var s = g.get_state();
        return s.data<byte>().ToArray();
    }
}
