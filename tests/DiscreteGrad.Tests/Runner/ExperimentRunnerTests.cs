using System.Text.Json;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Tests.Runner;

[Collection(GlobalGenerator.Name)]
public sealed class ExperimentRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-runner-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Resume_after_a_stop_is_bit_identical_to_a_straight_run()
    {
        var straight = new ToyTask(7, 60);
        ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(_dir, "a"), LogEvery: 10, CheckpointEvery: 0, WriteReport: false));

        string b = Path.Combine(_dir, "b");
        var first = new ToyTask(7, 60);
        var half = ExperimentRunner.Run(first, new RunnerOptions(b, LogEvery: 10, CheckpointEvery: 0, WriteReport: false, StopAtStep: 33));
        Assert.Equal(33, half.Steps);
        var second = new ToyTask(7, 60);                       // a fresh process would build the task the same way
        Assert.NotEqual(straight.Parameters(), second.Parameters());
        var rest = ExperimentRunner.Run(second, new RunnerOptions(b, LogEvery: 10, CheckpointEvery: 0, Resume: true, WriteReport: false));
        Assert.Equal(33, rest.StartStep);
        Assert.Equal(straight.Parameters(), second.Parameters());   // exact float equality, element by element

        // The logs read as one run: each train step logged once, and the same values as the straight run's.
        var stepsA = Records(Path.Combine(_dir, "a"), "train");
        var stepsB = Records(b, "train");
        Assert.Equal(stepsA.Select(r => r.Step), stepsB.Select(r => r.Step));
        Assert.Equal(stepsA.Select(r => r.Metrics["beta"]), stepsB.Select(r => r.Metrics["beta"]));
    }

    private static List<MetricsRecord> Records(string dir, string kind) =>
        File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonSerializer.Deserialize<MetricsRecord>(l)!)
            .Where(r => r.Kind == kind).ToList();

    [Fact]
    public void A_nan_loss_stops_the_run_naming_the_step_and_keeps_the_last_good_checkpoint()
    {
        string d = Path.Combine(_dir, "nan");
        var task = new ToyTask(3, 50, nanAt: 13);
        var e = Assert.Throws<NonFiniteLossException>(() => ExperimentRunner.Run(task, new RunnerOptions(d, LogEvery: 5, CheckpointEvery: 5, WriteReport: false)));
        Assert.Equal(13, e.Step);
        Assert.Contains("step 13", e.Message);
        Assert.NotNull(e.LastCheckpoint);
        Assert.EndsWith("step-000000010", e.LastCheckpoint);
        Assert.Equal(e.LastCheckpoint, CheckpointStore.Latest(d));
        Assert.True(File.Exists(Path.Combine(e.LastCheckpoint!, "model.bin")));
        // Resuming from it works and reaches the end once the fault is gone.
        var again = ExperimentRunner.Run(new ToyTask(3, 50), new RunnerOptions(d, LogEvery: 5, CheckpointEvery: 5, Resume: true, WriteReport: false));
        Assert.Equal(10, again.StartStep);
        Assert.Equal(50, again.Steps);
    }

    [Fact]
    public void A_run_leaves_metrics_summary_plots_report_and_at_most_two_checkpoints()
    {
        string d = Path.Combine(_dir, "full");
        var r = ExperimentRunner.Run(new ToyTask(5, 40), new RunnerOptions(d, LogEvery: 10, CheckpointEvery: 10, Command: "discretegrad toy"));
        foreach (var f in new[] { "metrics.jsonl", "train.csv", "eval.csv", "summary.json", "report.md", "plots/train-loss.png", "plots/eval-mse.png" })
            Assert.True(File.Exists(Path.Combine(d, f)), $"{f} missing");
        var csv = File.ReadAllLines(Path.Combine(d, "train.csv"));
        Assert.Equal("step,beta,loss", csv[0]);
        Assert.Equal(new[] { "10", "20", "30", "40" }, csv.Skip(1).Select(l => l.Split(',')[0]));
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(d, "checkpoints")).Length);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "summary.json")));
        Assert.Equal(40, summary.RootElement.GetProperty("steps").GetInt64());
        Assert.True(summary.RootElement.GetProperty("finalEval").GetProperty("rss_mb").GetDouble() > 0);
        Assert.Contains("discretegrad toy", File.ReadAllText(Path.Combine(d, "report.md")));
        Assert.True(r.FinalEval.ContainsKey("mse"));
    }

    [Fact]
    public void Resuming_a_finished_run_runs_no_step_and_keeps_its_final_metrics()
    {
        string d = Path.Combine(_dir, "done");
        var first = ExperimentRunner.Run(new ToyTask(2, 30), new RunnerOptions(d, LogEvery: 10, CheckpointEvery: 0, WriteReport: false));
        var again = ExperimentRunner.Run(new ToyTask(2, 30), new RunnerOptions(d, LogEvery: 10, CheckpointEvery: 0, Resume: true, WriteReport: false));
        Assert.Equal(30, again.StartStep);
        Assert.Equal(30, again.Steps);
        Assert.True(double.IsNaN(again.SecondsPerStep));
        Assert.Equal(first.FinalTrain["loss"], again.FinalTrain["loss"]);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "summary.json")));
        Assert.Equal(JsonValueKind.Null, summary.RootElement.GetProperty("secondsPerStep").ValueKind);
        Assert.Equal(3, Records(d, "train").Count);     // the resumed invocation logged nothing twice
    }

    [Fact]
    public void Bad_options_are_named()
    {
        Assert.Equal("LogEvery", Assert.ThrowsAny<ArgumentException>(() => new RunnerOptions(_dir, LogEvery: 0).Validate()).ParamName);
        Assert.Equal("OutputDirectory", Assert.ThrowsAny<ArgumentException>(() => new RunnerOptions(" ").Validate()).ParamName);
    }
}
