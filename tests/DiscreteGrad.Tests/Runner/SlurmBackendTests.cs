using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;

namespace DiscreteGrad.Tests.Runner;

/// <summary>
/// The Slurm backend without a cluster: sbatch and squeue are fake scripts, and the array script runs under bash with the
/// SLURM_* variables of a task, a fake cell and a fake scontrol. (.ci/slurm-test runs it against a real one.)
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class SlurmBackendTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-slurm-").FullName;
    private static readonly ToyExperiment Toy = new();

    public void Dispose() => Directory.Delete(_dir, true);

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private string Executable(string name, string text)
    {
        string bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        string path = Path.Combine(bin, name);
        File.WriteAllText(path, "#!/bin/bash\n" + text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private (string Grid, GridFile File, IReadOnlyList<GridCell> Cells) Plan()
    {
        var cells = Toy.Plan(new Dictionary<string, string> { ["seeds"] = "2", ["lr"] = "0.1" }, null);
        string grid = Path.Combine(_dir, "grid");
        var file = new GridFile(Toy.Name, "test", new GridRunSettings(), cells.ToList());
        Directory.CreateDirectory(grid);
        GridFolder.Write(grid, file);
        return (grid, file, cells);
    }

    [Fact]
    public void Submitting_writes_the_array_script_with_absolute_paths_and_keeps_the_job_id_sbatch_prints()
    {
        if (OperatingSystem.IsWindows()) return;
        string args = Path.Combine(_dir, "sbatch.args");
        string sbatch = Executable("sbatch", $"echo \"$@\" > {args}\necho '4242;cluster-a'\n");
        var (grid, file, cells) = Plan();
        var launcher = new CellLauncher("/opt/dotnet/dotnet", new[] { "/opt/dg/DiscreteGrad.Cli.dll" });
        var backend = new SlurmBackend(new SlurmOptions(CpusPerTask: 1, Memory: "1G", Time: "00:10:00", MaxConcurrent: 1, Sbatch: sbatch), launcher);

        var launch = backend.Launch(grid, file, cells, null, CancellationToken.None);

        Assert.False(launch.Completed);
        Assert.Contains("submitted Slurm array job 4242 with 2 task(s)", launch.Message);
        Assert.Equal("4242", SlurmBackend.LatestJob(grid));
        string script = SlurmBackend.ScriptPath(grid);
        Assert.Equal($"--parsable {script}", File.ReadAllText(args).Trim());
        string text = File.ReadAllText(script);
        string full = Path.GetFullPath(grid);
        var lines = text.Split('\n').Select(l => l.Trim()).ToHashSet();
        foreach (var line in new[]
        {
            "#SBATCH --array=0,1%1", "#SBATCH --cpus-per-task=1", "#SBATCH --mem=1G", "#SBATCH --time=00:10:00", "#SBATCH --requeue",
            "#SBATCH --open-mode=append", $"#SBATCH --chdir={full}", $"#SBATCH --output={full}/slurm/%A_%a.out",
            $"/opt/dotnet/dotnet /opt/dg/DiscreteGrad.Cli.dll run-cell {full} \"$SLURM_ARRAY_TASK_ID\" &",
            "elif ! answer=$(scontrol requeue \"$task\" 2>&1); then",
        })
            Assert.Contains(line, lines);
        Assert.DoesNotContain("DOTNET_ROOT", text);   // the dotnet host needs none
        var apphost = new SlurmBackend(new SlurmOptions(Sbatch: sbatch), new CellLauncher("/opt/dg/DiscreteGrad.Cli", Array.Empty<string>(), "/opt/dotnet"));
        Assert.Contains("export DOTNET_ROOT=/opt/dotnet\n", apphost.Script(grid, file, cells));
    }

    [Fact]
    public void A_grid_is_not_submitted_again_while_its_array_still_has_tasks_in_the_queue()
    {
        if (OperatingSystem.IsWindows()) return;
        string sbatch = Executable("sbatch", "echo 17\n");
        Executable("squeue", "echo '1|RUNNING|None'\necho '0|COMPLETED|None'\n");
        var (grid, file, cells) = Plan();
        var backend = new SlurmBackend(new SlurmOptions(Sbatch: sbatch), new CellLauncher("/bin/true", Array.Empty<string>()));
        backend.Launch(grid, file, cells, null, CancellationToken.None);
        Assert.Equal("17", SlurmBackend.LatestJob(grid));

        var e = Assert.Throws<SettingException>(() => backend.Launch(grid, file, cells, null, CancellationToken.None));
        Assert.StartsWith("Slurm array job 17 of this grid still has 1 task(s) queued or running (17_1); wait for them", e.Message);
        Assert.Equal(new Dictionary<int, string> { [1] = "RUNNING" }, SlurmBackend.QueueStates("17", Path.Combine(_dir, "bin", "squeue")));
    }

    [Fact]
    public void An_sbatch_refusal_or_an_answer_without_a_job_id_is_an_error()
    {
        if (OperatingSystem.IsWindows()) return;
        var (grid, file, cells) = Plan();
        var launcher = new CellLauncher("/bin/true", Array.Empty<string>());
        string refusing = Executable("sbatch", "echo 'sbatch: error: invalid partition specified: gpu' >&2\nexit 1\n");
        var e = Assert.Throws<IOException>(() => new SlurmBackend(new SlurmOptions(Sbatch: refusing), launcher).Launch(grid, file, cells, null, CancellationToken.None));
        Assert.Equal("sbatch refused the grid (exit 1): sbatch: error: invalid partition specified: gpu", e.Message);
        string silent = Executable("sbatch2", "echo 'Submitted'\n");
        Assert.StartsWith("sbatch printed no job id", Assert.Throws<IOException>(() =>
            new SlurmBackend(new SlurmOptions(Sbatch: silent), launcher).Launch(grid, file, cells, null, CancellationToken.None)).Message);
        Assert.Null(SlurmBackend.LatestJob(grid));
    }

    /// <summary>
    /// Runs the array script of task 7_1 (job 9) with a fake cell; <paramref name="signal"/> gets the pids of script and
    /// cell once it runs; squeue answers <paramref name="queueState"/> for the task.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private (int Code, string CellLog, string Scontrol, string Output) RunTask(string mode, Action<int, int>? signal = null, string queueState = "RUNNING")
    {
        var (grid, file, cells) = Plan();
        string cellLog = Path.Combine(_dir, "cell.calls"), scontrol = Path.Combine(_dir, "scontrol.calls"), started = Path.Combine(_dir, "started");
        // The fake cell: run-cell GRID INDEX [--exit-code CODE --log LOG]. It traps TERM like the real one and exits 75.
        string cell = Executable("cell", $$"""
            echo "$*" >> {{cellLog}}
            if [ "${4:-}" = "--exit-code" ]; then exit 0; fi
            stop=0
            trap 'echo "TERM" >> {{cellLog}}; stop=1' TERM
            echo $$ > {{started}}.tmp && mv {{started}}.tmp {{started}}
            if [ "{{mode}}" = crash ]; then kill -SEGV $$; fi
            for i in $(seq 200); do sleep 0.02; if [ "$stop" = 1 ]; then sleep 0.1; exit 75; fi; done
            exit 0

            """);
        Executable("scontrol", $"echo \"$*\" >> {scontrol}\n");
        Executable("squeue", $"echo {queueState}\n");
        var backend = new SlurmBackend(new SlurmOptions(), new CellLauncher(cell, Array.Empty<string>()));
        string script = Path.Combine(_dir, "task.sh");
        File.WriteAllText(script, backend.Script(grid, file, cells));
        var psi = new ProcessStartInfo("bash", new[] { script }) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["PATH"] = Path.Combine(_dir, "bin") + ":" + Environment.GetEnvironmentVariable("PATH");
        psi.Environment["SLURM_ARRAY_JOB_ID"] = "7";
        psi.Environment["SLURM_ARRAY_TASK_ID"] = "1";
        psi.Environment["SLURM_JOB_ID"] = "9";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (signal is not null)
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(started) && clock.Elapsed.TotalSeconds < 30) Thread.Sleep(10);
            signal(p.Id, int.Parse(File.ReadAllText(started).Trim(), CultureInfo.InvariantCulture));
        }
        Assert.True(p.WaitForExit(60_000), "the array script did not end");
        string Read(string f) => File.Exists(f) ? File.ReadAllText(f) : "";
        return (p.ExitCode, Read(cellLog), Read(scontrol), stdout.Result + stderr.Result);
    }

    private static void Kill(string signal, params int[] pids)
    {
        using var kill = Process.Start("kill", new[] { "-" + signal }.Concat(pids.Select(p => p.ToString(CultureInfo.InvariantCulture))))!;
        kill.WaitForExit();
    }

    [Fact]
    public void A_signal_to_the_script_alone_reaches_the_cell_once_and_the_task_requeues_itself()
    {
        if (OperatingSystem.IsWindows()) return;
        // scancel --signal=TERM --batch: only the batch script gets the signal; it forwards it.
        var (code, cell, scontrol, output) = RunTask("run", (script, _) => Kill("TERM", script));
        Assert.Equal(75, code);
        Assert.Equal(1, cell.Split('\n').Count(l => l == "TERM"));
        Assert.Equal("requeue 7_1\n", scontrol);
        Assert.Contains("[task 7_1, job 9, restart 0] got SIGTERM: forwarding it to the cell", output);
        Assert.Contains("cell stopped: requeued 7_1 (it resumes from its last checkpoint)", output);
    }

    [Fact]
    public void A_signal_to_script_and_cell_together_also_ends_in_one_requeue()
    {
        if (OperatingSystem.IsWindows()) return;
        // scancel --full or a preemption by Slurm: every process of the task gets the signal; the cell then gets it twice.
        var (code, cell, scontrol, _) = RunTask("run", (script, c) => Kill("TERM", c, script));
        Assert.Equal(75, code);
        Assert.InRange(cell.Split('\n').Count(l => l == "TERM"), 1, 2);
        Assert.Equal("requeue 7_1\n", scontrol);
    }

    [Fact]
    public void A_task_that_Slurm_is_ending_itself_is_not_requeued()
    {
        if (OperatingSystem.IsWindows()) return;
        // scancel without --signal, the time limit, or a requeue by Slurm: the task is COMPLETING when the cell stops.
        var (code, _, scontrol, output) = RunTask("run", (script, c) => Kill("TERM", c, script), queueState: "COMPLETING");
        Assert.Equal(75, code);
        Assert.Equal("", scontrol);
        Assert.Contains("while Slurm ends 7_1 itself (COMPLETING): not requeueing it", output);
    }

    [Fact]
    public void A_finished_cell_ends_the_task_without_a_requeue_and_a_crashed_one_is_recorded()
    {
        if (OperatingSystem.IsWindows()) return;
        var done = RunTask("run");
        Assert.Equal(0, done.Code);
        Assert.Equal("", done.Scontrol);
        Assert.Contains("cell done", done.Output);

        File.Delete(Path.Combine(_dir, "cell.calls"));
        var crash = RunTask("crash");
        Assert.Equal(128 + 11, crash.Code);
        Assert.Equal("", crash.Scontrol);
        string grid = Path.GetFullPath(Path.Combine(_dir, "grid"));
        Assert.Equal($"run-cell {grid} 1\nrun-cell {grid} 1 --exit-code 139 --log {grid}/slurm/7_1.out\n", crash.CellLog);
    }

    [Fact]
    public void Recording_an_exit_marks_a_crash_failed_a_stop_before_the_checkpoint_preempted_and_keeps_a_finished_cell()
    {
        string cell = Path.Combine(_dir, "cell");
        Directory.CreateDirectory(cell);
        GridFolder.WriteStatus(cell, new CellStatus("running", 40, 100, "mse 1", 123));
        CellRunner.RecordExit(cell, 137, "/x/7_1.out");
        var s = GridFolder.ReadStatus(cell);
        Assert.Equal(("failed", 40L, "the cell's process killed by signal 9 (out of memory?); see /x/7_1.out"), (s.State, s.Steps, s.Message));

        GridFolder.WriteStatus(cell, new CellStatus("running", 40, 100));
        CellRunner.RecordExit(cell, CellExitCodes.Preempted, "/x/7_1.out");
        Assert.Equal("preempted", GridFolder.ReadStatus(cell).State);

        GridFolder.WriteStatus(cell, new CellStatus("done", 100, 100));
        CellRunner.RecordExit(cell, 143, "/x/7_1.out");
        CellRunner.RecordExit(cell, CellExitCodes.Preempted, "/x/7_1.out");
        Assert.Equal("done", GridFolder.ReadStatus(cell).State);
    }
}
