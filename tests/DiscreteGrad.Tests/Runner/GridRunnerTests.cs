using System.Globalization;
using System.Text.Json;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using DiscreteGrad.Solvers;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Runner;

[Collection(GlobalGenerator.Name)]
public sealed class GridRunnerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-grid-").FullName;
    private static readonly ToyExperiment Toy = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    private static object[] Values(string key, string text) => GridSpec<ToyConfig>.Bind(Given((key, text)), null)
        .Single(kv => kv.Key.Name == key).Value;

    [Fact]
    public void Axes_take_counts_lists_and_ranges_and_refuse_repeats()
    {
        Assert.Equal(new object[] { 1, 2, 3 }, Values("seeds", "3"));
        Assert.Equal(new object[] { 2, 3, 4 }, Values("seeds", "2..4"));
        Assert.Equal(new object[] { 5, 7 }, Values("seeds", "5,7"));
        Assert.Equal(new object[] { 0.1, 0.2 }, Values("lr", "0.1,0.2"));
        Assert.Equal(new object[] { ToyShape.VeryLarge }, Values("shape", "very-large"));
        Assert.Equal(new object[] { 2.0, 0.25 }, Values("taus", "2,0.25"));
        Assert.Equal("--seeds: '1' is listed twice (every grid cell must differ).", Assert.Throws<SettingException>(() => Values("seeds", "1,1")).Message);
        Assert.Equal("--lr: '0.1' is listed twice (every grid cell must differ).", Assert.Throws<SettingException>(() => Values("lr", "0.1,0.1")).Message);
        Assert.Equal("--lr must list at least one value.", Assert.Throws<SettingException>(() => Values("lr", ",")).Message);
        Assert.Equal("--lr must be a finite number in (0, 10] (got '0').", Assert.Throws<SettingException>(() => Values("lr", "0")).Message);
        Assert.Equal("--lr must be a finite number in (0, 10] (got 'NaN').", Assert.Throws<SettingException>(() => Values("lr", "NaN")).Message);
        Assert.Equal("--steps must be an integer in [10, 100000] (got '5').", Assert.Throws<SettingException>(() => Values("steps", "5")).Message);
        Assert.Equal("--steps must be an integer in [10, 100000] (got '1e3').", Assert.Throws<SettingException>(() => Values("steps", "1e3")).Message);
        Assert.Equal("--shape: unknown value 'huge'; allowed: small, very-large.", Assert.Throws<SettingException>(() => Values("shape", "huge")).Message);
        Assert.Equal("--taus must be a finite number in (0, inf) (got '-1').", Assert.Throws<SettingException>(() => Values("taus", "1,-1")).Message);
        Assert.Equal("--seeds must be a count in [1, 100000], a list a,b,c or a range a..b (got '0').", Assert.Throws<SettingException>(() => Values("seeds", "0")).Message);
    }

    [Fact]
    public void A_config_file_meets_the_same_limits_as_the_options_and_refuses_unknown_keys()
    {
        string path = Path.Combine(_dir, "c.json");
        void Write(string json) => File.WriteAllText(path, json);
        Write("""{"lr": 0}""");
        var fromFile = Assert.Throws<SettingException>(() => GridSpec<ToyConfig>.Bind(Given(), path)).Message;
        var fromOption = Assert.Throws<SettingException>(() => Values("lr", "0")).Message;
        Assert.Equal(fromOption, fromFile);
        Write("""{"lr": 0.5, "epochs": 3}""");
        Assert.StartsWith($"--config: {path} has an unknown key 'epochs'; allowed: seeds, lr,", Assert.Throws<SettingException>(() => GridSpec<ToyConfig>.Bind(Given(), path)).Message);
        Write("""{"seeds": [4], "LearningRate": [0.1, 0.2], "steps": 20}""");
        var v = GridSpec<ToyConfig>.Bind(Given(), path);
        Assert.Equal(new object[] { 4 }, v.Single(kv => kv.Key.Name == "seeds").Value);
        Assert.Equal(new object[] { 0.1, 0.2 }, v.Single(kv => kv.Key.Name == "lr").Value);
        // The command line overrides the file.
        v = GridSpec<ToyConfig>.Bind(Given(("steps", "40")), path);
        Assert.Equal(new object[] { 40 }, v.Single(kv => kv.Key.Name == "steps").Value);
        Write("""{"seeds": 2}""");
        Assert.Equal(new object[] { 1, 2 }, GridSpec<ToyConfig>.Bind(Given(), path).Single(kv => kv.Key.Name == "seeds").Value);
        Write("""{"steps": {"a": 1}}""");
        Assert.Contains("'steps' must be a value", Assert.Throws<SettingException>(() => GridSpec<ToyConfig>.Bind(Given(), path)).Message);
        Write("{");
        Assert.StartsWith($"--config: {path} is not valid JSON", Assert.Throws<SettingException>(() => GridSpec<ToyConfig>.Bind(Given(), path)).Message);
        Assert.StartsWith("--config: cannot read", Assert.Throws<SettingException>(() => GridSpec<ToyConfig>.Bind(Given(), Path.Combine(_dir, "none.json"))).Message);
    }

    [Fact]
    public void The_grid_is_every_combination_in_declaration_order_with_stable_keys_and_validated_cells()
    {
        var cells = Toy.Plan(Given(("seeds", "2"), ("lr", "0.01,0.02")), null);
        Assert.Equal(new[] { "seed-1_learning-rate-0.01", "seed-1_learning-rate-0.02", "seed-2_learning-rate-0.01", "seed-2_learning-rate-0.02" },
            cells.Select(c => c.Key));
        Assert.Equal(new[] { "lr 0.01 seed 1", "lr 0.02 seed 1", "lr 0.01 seed 2", "lr 0.02 seed 2" }, cells.Select(c => c.Label));
        Assert.Equal(new[] { "lr 0.01", "lr 0.02", "lr 0.01", "lr 0.02" }, cells.Select(c => c.Group));
        Assert.Equal(Enumerable.Range(0, 4), cells.Select(c => c.Index));
        // A cell's settings round-trip into its configuration.
        var back = GridSpec<ToyConfig>.FromSettings(cells[3].Settings);
        Assert.Equal(new ToyConfig { Seed = 2, LearningRate = 0.02 }.Seed, back.Seed);
        Assert.Equal(0.02, back.LearningRate);
        Assert.Equal(new[] { 1.0, 0.5 }, back.Taus);
        // Cross-setting checks name the option.
        Assert.Equal("--nan-at: NanAt must be < Steps = 30.",
            Assert.Throws<SettingException>(() => Toy.Plan(Given(("nan-at", "30")), null)).Message);
    }

    [Fact]
    public void A_grid_runs_every_cell_reports_mean_and_std_over_seeds_and_a_failed_cell_does_not_stop_the_others()
    {
        string grid = Path.Combine(_dir, "g");
        var cells = Toy.Plan(Given(("seeds", "3"), ("lr", "0.01,0.03"), ("nan-at", "15")), null);
        var (launch, outcomes) = GridRunner.Run(Toy, cells, new GridOptions(grid, "toy test"), new InProcessBackend(ToyExperiment.Catalog));
        Assert.True(launch.Completed);
        Assert.Equal(6, outcomes.Count);
        // Seed 2's cells hit the NaN and failed with one line naming the step and the checkpoint; the others finished.
        var failed = outcomes.Where(o => o.State == "failed").ToList();
        Assert.Equal(new[] { "lr 0.01 seed 2", "lr 0.03 seed 2" }, failed.Select(o => o.Cell.Label));
        Assert.All(failed, o => Assert.Matches(@"^run 'toy' stopped at step 15: the loss is NaN\. The last good checkpoint is .*step-000000010 ", o.Message));
        Assert.All(outcomes.Where(o => o.State != "failed"), o => Assert.Equal("done", o.State));
        // The report's rows: mean +- sample std of each done cell's final evaluation, read from its own eval.csv.
        var (header, rows) = GridReport.Table(Toy, outcomes);
        Assert.Equal(new[] { "run", "seeds", "mse", "loss" }, header);
        foreach (var (row, lr) in rows.Zip(new[] { "0.01", "0.03" }))
        {
            var mses = outcomes.Where(o => o.State == "done" && o.Cell.Group == $"lr {lr}")
                .Select(o => double.Parse(File.ReadAllLines(Path.Combine(o.Directory, "eval.csv"))[^1].Split(',')[1], CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(2, mses.Count);
            Assert.Equal($"lr {lr}", row[0]);
            Assert.Equal("2", row[1]);
            Assert.Equal($"{Statistics.Mean(mses).ToString("F6", CultureInfo.InvariantCulture)} +- {Statistics.SampleStd(mses).ToString("F6", CultureInfo.InvariantCulture)}", row[2]);
        }
        var written = GridReport.Write(Toy, grid, Path.Combine(_dir, "docs", "toy.md"));
        string md = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.Contains("toy test", md);
        Assert.Contains("## Cells not finished", md);
        Assert.Contains("lr 0.03 seed 2 | failed", md);
        Assert.True(File.Exists(Path.Combine(grid, "mse.png")));
        Assert.True(File.Exists(Path.Combine(_dir, "docs", "toy-mse.png")));
        Assert.Contains(Path.Combine(_dir, "docs", "toy.md"), written);
    }

    /// <summary>
    /// The command line's inline backend runs its cells at the grid's --threads and restores the process's count after;
    /// the tests' (the default) leaves the count alone. Each cell's log records the count its cell ran with.
    /// </summary>
    [Fact]
    public void The_inline_backend_of_the_command_line_runs_cells_at_the_grids_thread_count()
    {
        int before = get_num_threads();
        var cells = Toy.Plan(Given(("seeds", "1")), null);
        string Logged(string grid) => File.ReadAllLines(Path.Combine(grid, "cells", cells[0].Key, "cell.log")).Single(l => l.Contains("libtorch threads:"));
        string sets = Path.Combine(_dir, "threads-set"), keeps = Path.Combine(_dir, "threads-kept");
        try
        {
            GridRunner.Run(Toy, cells, new GridOptions(sets, Threads: 1, LocalCores: 2), new InProcessBackend(ToyExperiment.Catalog, setsThreads: true));
            Assert.EndsWith("libtorch threads: 1", Logged(sets));
            Assert.Equal(before, get_num_threads());
            if (before == 1) return;   // the second half needs a process count other than the grid's
            GridRunner.Run(Toy, cells, new GridOptions(keeps, Threads: 1, LocalCores: 2), new InProcessBackend(ToyExperiment.Catalog));
            Assert.EndsWith($"libtorch threads: {before}", Logged(keeps));
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Fact]
    public void A_grid_folder_is_not_reused_without_resume_and_a_resume_skips_finished_cells()
    {
        string grid = Path.Combine(_dir, "r");
        var cells = Toy.Plan(Given(("seeds", "1")), null);
        var backend = new InProcessBackend(ToyExperiment.Catalog);
        GridRunner.Run(Toy, cells, new GridOptions(grid), backend);
        var again = Assert.Throws<SettingException>(() => GridRunner.Run(Toy, cells, new GridOptions(grid), backend));
        Assert.Equal($"--out {grid} already holds a grid of toy: continue it with --resume, or choose another --out.", again.Message);
        var (launch, outcomes) = GridRunner.Run(Toy, cells, new GridOptions(grid, Resume: true), backend);
        Assert.Equal("every cell had finished already", launch.Message);
        Assert.Equal("done", outcomes.Single().State);
        File.WriteAllText(Path.Combine(_dir, "file"), "x");
        Assert.Equal($"--out {Path.Combine(_dir, "file")} is a file, not a folder.",
            Assert.Throws<SettingException>(() => GridRunner.Run(Toy, cells, new GridOptions(Path.Combine(_dir, "file")), backend)).Message);
        Assert.Equal("--threads must be in [1, 2]: this machine has 2 cores (got 3; run cells side by side with --jobs instead).",
            Assert.Throws<SettingException>(() => GridRunner.Run(Toy, cells, new GridOptions(Path.Combine(_dir, "t"), Threads: 3, LocalCores: 2), backend)).Message);
    }

    [Fact]
    public void Resume_under_changed_settings_is_refused_naming_the_keys_unless_overridden()
    {
        string grid = Path.Combine(_dir, "o");
        var backend = new InProcessBackend(ToyExperiment.Catalog);
        GridRunner.Run(Toy, Toy.Plan(Given(("steps", "30")), null), new GridOptions(grid), backend);
        var longer = Toy.Plan(Given(("steps", "40")), null);
        var (_, refused) = GridRunner.Run(Toy, longer, new GridOptions(grid, Resume: true), backend);
        Assert.Equal("failed", refused.Single().State);
        Assert.Equal("--resume: run 'toy' was started with other settings: steps 30 -> 40. Resume with the original settings, use another --out, " +
                     "or allow the change with --resume-override steps.", refused.Single().Message);
        var (_, allowed) = GridRunner.Run(Toy, longer, new GridOptions(grid, Resume: true, ResumeOverrides: new[] { "steps" }), backend);
        Assert.Equal("done", allowed.Single().State);
        Assert.Equal(40, allowed.Single().Records.Last(r => r.Kind == "train").Step);
    }

    [Fact]
    public void A_resumed_run_with_an_allowed_smaller_learning_rate_uses_it_and_an_unchanged_one_keeps_the_checkpoint_state()
    {
        string d = Path.Combine(_dir, "lr");
        var s1 = new Dictionary<string, string> { ["lr"] = "0.01" };
        ExperimentRunner.Run(new ToyTask(5, 40, lr: 1e-2), new RunnerOptions(d, LogEvery: 10, CheckpointEvery: 10, WriteReport: false, StopAtStep: 20) { Settings = s1 });
        var s2 = new Dictionary<string, string> { ["lr"] = "0.001" };
        var e = Assert.Throws<ConfigurationMismatchException>(() =>
            ExperimentRunner.Run(new ToyTask(5, 40, lr: 1e-3), new RunnerOptions(d, LogEvery: 10, Resume: true, WriteReport: false) { Settings = s2 }));
        Assert.Contains("lr 0.01 -> 0.001", e.Message);
        var resumed = new ToyTask(5, 40, lr: 1e-3);
        ExperimentRunner.Run(resumed, new RunnerOptions(d, LogEvery: 10, Resume: true, WriteReport: false, StopAtStep: 30)
        {
            Settings = s2,
            ResumeOverrides = new HashSet<string> { "lr" },
        });
        Assert.Equal(1e-3, resumed.LearningRate);
    }

    [Fact]
    public void A_diverged_update_is_never_checkpointed_so_the_named_checkpoint_resumes()
    {
        string d = Path.Combine(_dir, "poison");
        // Step 14's update writes NaN into the weights (its loss was finite): the checkpoint due after it (15) is skipped,
        // and step 15's logits check stops the run naming the step and the checkpoint of step 10.
        var e = Assert.Throws<NonFiniteLossException>(() =>
            ExperimentRunner.Run(new ToyTask(3, 30, poisonAt: 14), new RunnerOptions(d, LogEvery: 5, CheckpointEvery: 5, WriteReport: false)));
        Assert.Equal(15, e.Step);
        Assert.Contains("stopped at step 15: logits must be finite; it contains NaN or infinity.", e.Message);
        Assert.EndsWith("step-000000010", e.LastCheckpoint);
        Assert.Equal(e.LastCheckpoint, CheckpointStore.Latest(d));
        var again = new ToyTask(3, 30);
        var result = ExperimentRunner.Run(again, new RunnerOptions(d, LogEvery: 5, CheckpointEvery: 5, Resume: true, WriteReport: false));
        Assert.Equal(10, result.StartStep);
        Assert.All(again.Parameters(), p => Assert.True(float.IsFinite(p)));
    }

    [Fact]
    public void A_stop_request_checkpoints_and_the_resumed_run_equals_a_straight_one()
    {
        var straight = new ToyTask(7, 60);
        ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(_dir, "s"), LogEvery: 10, CheckpointEvery: 0, WriteReport: false));
        string d = Path.Combine(_dir, "stop");
        using var cts = new CancellationTokenSource();
        var first = ExperimentRunner.Run(new ToyTask(7, 60), new RunnerOptions(d, LogEvery: 10, CheckpointEvery: 0, WriteReport: false) { Stop = cts.Token },
            new CancelAt(27, cts));
        Assert.True(first.Stopped);
        Assert.Equal(27, first.Steps);
        Assert.EndsWith("step-000000027", CheckpointStore.Latest(d));
        var second = new ToyTask(7, 60);
        var rest = ExperimentRunner.Run(second, new RunnerOptions(d, LogEvery: 10, CheckpointEvery: 0, Resume: true, WriteReport: false));
        Assert.Equal(27, rest.StartStep);
        Assert.Equal(straight.Parameters(), second.Parameters());
        Assert.False(File.Exists(Path.Combine(d, "metrics.jsonl.tmp")));
        var steps = File.ReadAllLines(Path.Combine(d, "metrics.jsonl")).Select(l => JsonSerializer.Deserialize<MetricsRecord>(l)!).Where(r => r.Kind == "train").Select(r => r.Step);
        Assert.Equal(new long[] { 10, 20, 30, 40, 50, 60 }, steps);
    }

    private sealed class CancelAt(long step, CancellationTokenSource cts) : IRunObserver
    {
        public void Stepped(long stepsDone, IReadOnlyDictionary<string, double> metrics)
        {
            if (stepsDone == step) cts.Cancel();
        }
    }

    [Fact]
    public void An_output_folder_is_locked_against_a_second_writer_naming_the_holder()
    {
        string d = Path.Combine(_dir, "lock");
        using (OutputLock.Acquire(d))
        {
            var e = Assert.Throws<OutputLockedException>(() => OutputLock.Acquire(d));
            Assert.Equal($"--out {d} is in use by process {Environment.ProcessId} on {Environment.MachineName}; wait for it to finish or choose another --out.", e.Message);
        }
        using (OutputLock.Acquire(d)) { }   // released
    }

    [Fact]
    public void Solver_parallelism_and_finite_checks_are_scoped_to_the_calling_flow()
    {
        Assert.Equal(Environment.ProcessorCount, SolverParallelism.MaxDegreeOfParallelism);
        Assert.True(Guard.CheckFiniteLogits);
        using (SolverParallelism.Limit(1))
        using (Guard.FiniteChecks(false))
        {
            Assert.Equal(1, SolverParallelism.MaxDegreeOfParallelism);
            Assert.False(Guard.CheckFiniteLogits);
            using (SolverParallelism.Limit(3)) Assert.Equal(3, SolverParallelism.MaxDegreeOfParallelism);
            Assert.Equal(1, SolverParallelism.MaxDegreeOfParallelism);
            // Another thread is not affected; a task started here inherits the scope.
            int other = 0;
            bool otherChecks = false;
            var t = new Thread(() => { other = SolverParallelism.MaxDegreeOfParallelism; otherChecks = Guard.CheckFiniteLogits; });
            t.UnsafeStart();
            t.Join();
            Assert.Equal(Environment.ProcessorCount, other);
            Assert.True(otherChecks);
            int inherited = 0;
            var flowing = new Thread(() => inherited = SolverParallelism.MaxDegreeOfParallelism);   // Start flows the execution context
            flowing.Start();
            flowing.Join();
            Assert.Equal(1, inherited);
            using var nan = tensor(new[] { float.NaN, 0f });
            Guard.Finite(nan, "logits");   // no check inside the scope
        }
        using var bad = tensor(new[] { float.NaN, 0f });
        Assert.Throws<NonFiniteValueException>(() => Guard.Finite(bad, "logits"));
        Assert.Equal(Environment.ProcessorCount, SolverParallelism.MaxDegreeOfParallelism);
    }

    [Theory]
    [InlineData(6, 1, 1)]
    [InlineData(7, 3, 1)]
    [InlineData(5, 5, 1)]
    [InlineData(4, 1, 3)]
    public void The_evaluation_cadence_matches_the_tasks_former_rules(long stepsPerEpoch, int evalsPerEpoch, int everyEpochs)
    {
        var c = new EvaluationCadence(stepsPerEpoch, evalsPerEpoch, everyEpochs);
        long total = stepsPerEpoch * 7;
        long EvalsAt(long s) => s / stepsPerEpoch * evalsPerEpoch + s % stepsPerEpoch * evalsPerEpoch / stepsPerEpoch;
        for (long s = 1; s <= total; s++)
        {
            bool former = everyEpochs > 1
                ? s == total || (s % stepsPerEpoch == 0 && s / stepsPerEpoch % everyEpochs == 0)
                : s == total || EvalsAt(s) > EvalsAt(s - 1);
            Assert.Equal(former, c.ShouldEvaluate(s, total));
        }
        Assert.Equal(everyEpochs > 1 ? 3 : 7 * evalsPerEpoch, Enumerable.Range(1, (int)total).Count(s => c.ShouldEvaluate(s, total)));
    }
}
