using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace DiscreteGrad.Experiments.Runner.Backends;

/// <summary>Resources and submission settings of a Slurm array (one array task per cell).</summary>
/// <param name="CpusPerTask">--cpus-per-task of each cell (null: Slurm's default).</param>
/// <param name="Memory">--mem of each cell, e.g. "4G" (null: Slurm's default).</param>
/// <param name="Time">--time limit of each cell, e.g. "02:00:00" (null: the partition's default).</param>
/// <param name="Partition">--partition (null: the default partition).</param>
/// <param name="Account">--account (null: the user's default).</param>
/// <param name="ExtraLines">Further lines for the script's header, each written as "#SBATCH LINE".</param>
/// <param name="MaxConcurrent">At most this many cells at once (the array's %N), or null.</param>
/// <param name="DryRun">Write and print the script without submitting it.</param>
/// <param name="Sbatch">The sbatch executable.</param>
public sealed record SlurmOptions(int? CpusPerTask = null, string? Memory = null, string? Time = null, string? Partition = null,
    string? Account = null, IReadOnlyList<string>? ExtraLines = null, int? MaxConcurrent = null, bool DryRun = false, string Sbatch = "sbatch");

/// <summary>
/// Submits a grid to Slurm as one job array, one task per cell, and returns at once. Each task runs
/// <c>discretegrad run-cell GRID_DIR $SLURM_ARRAY_TASK_ID</c> (absolute paths, from the grid folder), which resumes from
/// the cell's checkpoint, so a requeued task continues where it stopped. SIGTERM or SIGINT makes the cell finish its
/// step, checkpoint and exit with code 75, upon which the script requeues its own task (<c>scontrol requeue</c>) if Slurm
/// still runs it (not when Slurm is ending it: a cancel, a time limit, or a requeue or preemption by Slurm itself); after
/// a crash (another exit code) it marks the cell failed. The script traps the signal and forwards it to the cell, so both
/// <c>scancel --signal=TERM --batch JOB_TASK</c> (only the script gets it) and <c>--full</c> or a preemption by Slurm (the
/// cell gets it twice) stop the cell; a plain <c>scancel --signal=TERM</c> signals only job steps and the cell is none.
/// Follow the grid with <c>discretegrad status</c> and aggregate it with <c>discretegrad report</c>.
/// </summary>
/// <param name="options">Resources and submission settings.</param>
/// <param name="launcher">How a task starts the tool (absolute paths: the tasks run from another working directory).</param>
public sealed class SlurmBackend(SlurmOptions options, CellLauncher launcher) : IGridBackend
{
    /// <summary>Path of the array script inside a grid folder.</summary>
    public static string ScriptPath(string grid) => Path.Combine(grid, "slurm", "array.sbatch");

    /// <summary>Path of the file that holds the id of the grid's latest array job.</summary>
    public static string JobPath(string grid) => Path.Combine(grid, "slurm", "job");

    /// <summary>The id of the grid's latest array job, or null when it was never submitted.</summary>
    public static string? LatestJob(string grid)
    {
        string path = JobPath(grid);
        return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } job ? job : null;
    }

    /// <inheritdoc />
    public GridLaunch Launch(string grid, GridFile file, IReadOnlyList<GridCell> cells, IGridProgress? progress, CancellationToken cancel)
    {
        // Two arrays must never run one cell at once (the second task would find the cell locked and fail).
        if (!options.DryRun && LatestJob(grid) is { } previous && QueuedTasks(previous) is { Count: > 0 } queued)
            throw new SettingException("--resume",
                $"Slurm array job {previous} of this grid still has {queued.Count} task(s) queued or running ({string.Join(", ", queued.Take(5))}{(queued.Count > 5 ? ", ..." : "")}); " +
                $"wait for them (discretegrad status {grid}) or cancel them (scancel {previous}) before submitting the grid again.");
        string script = ScriptPath(grid);
        GridFolder.WriteAtomically(script, Script(grid, file, cells));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        foreach (var c in cells) Directory.CreateDirectory(GridFolder.CellDirectory(grid, c));
        if (options.DryRun)
            return new GridLaunch(false, $"dry run: the array script is {script} (submit it with: {options.Sbatch} {script})\n{File.ReadAllText(script)}");
        var (code, stdout, stderr) = Execute(options.Sbatch, "--parsable", script);
        if (code != 0)
            throw new IOException($"sbatch refused the grid (exit {code}): {FirstLine(stderr)}");
        // --parsable prints "JOBID" or "JOBID;CLUSTER".
        string job = stdout.Trim().Split('\n')[^1].Split(';')[0].Trim();
        if (job.Length == 0 || !job.All(char.IsAsciiDigit))
            throw new IOException($"sbatch printed no job id (stdout: '{stdout.Trim()}', stderr: '{FirstLine(stderr)}').");
        GridFolder.WriteAtomically(JobPath(grid), job + "\n");
        File.AppendAllText(Path.Combine(grid, "slurm", "jobs.log"), string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:O} job {job}: cells {string.Join(",", cells.Select(c => c.Index))}\n"));
        return new GridLaunch(false, $"submitted Slurm array job {job} with {cells.Count} task(s): {script} (logs: {Path.Combine(Path.GetFullPath(grid), "slurm")})");
    }

    /// <summary>
    /// The tasks of array job <paramref name="job"/> that Slurm still holds as pending or running (<c>squeue</c>), e.g.
    /// "12_3"; empty when none, or when squeue cannot be run (then nothing is known to be running).
    /// </summary>
    public IReadOnlyList<string> QueuedTasks(string job) =>
        QueueStates(job, Path.Combine(Path.GetDirectoryName(options.Sbatch) ?? "", "squeue")) is { } states
            ? states.Keys.Order().Select(i => $"{job}_{i.ToString(CultureInfo.InvariantCulture)}").ToList()
            : Array.Empty<string>();

    /// <summary>
    /// The state of each task of array job <paramref name="job"/> that Slurm still holds (pending, running, requeued,
    /// completing), by array index, e.g. "PENDING (BeginTime)"; an empty map when none is left; null when squeue cannot
    /// be run or does not know the job.
    /// </summary>
    /// <param name="job">The array job id.</param>
    /// <param name="squeue">The squeue executable.</param>
    public static IReadOnlyDictionary<int, string>? QueueStates(string job, string squeue = "squeue")
    {
        (int Code, string Stdout, string Stderr) r;
        try
        {
            r = Execute(squeue, "-h", "-r", "-j", job, "-o", "%K|%T|%r");
        }
        catch (SettingException)
        {
            return null;
        }
        // squeue fails ("Invalid job id specified") once Slurm has forgotten a finished job (MinJobAge).
        if (r.Code != 0) return r.Stderr.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) ? new Dictionary<int, string>() : null;
        var states = new Dictionary<int, string>();
        foreach (var line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var w = line.Split('|');
            if (w.Length < 3 || !int.TryParse(w[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)) continue;
            if (w[1] is "COMPLETED" or "FAILED" or "CANCELLED" or "TIMEOUT" or "OUT_OF_MEMORY" or "NODE_FAIL" or "PREEMPTED" or "BOOT_FAIL" or "DEADLINE") continue;
            states[index] = w[1] == "PENDING" && w[2] is { Length: > 0 } reason && reason != "None" ? $"{w[1]} ({reason})" : w[1];
        }
        return states;
    }

    private static (int Code, string Stdout, string Stderr) Execute(string program, params string[] arguments)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new IOException($"cannot start {program}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SettingException("--backend", $"--backend slurm: cannot run {program} ({e.Message}); is Slurm installed here?");
        }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout, stderr.Result);
        }
    }

    private static string FirstLine(string s) => s.Trim().Split('\n')[0];

    /// <summary>The sbatch array script of the cells.</summary>
    public string Script(string grid, GridFile file, IReadOnlyList<GridCell> cells)
    {
        string full = Path.GetFullPath(grid);
        string logs = Path.Combine(full, "slurm");
        string q(string s) => CellLauncher.Quote(s);
        var sb = new StringBuilder();
        sb.AppendLine("#!/bin/bash");
        sb.AppendLine($"#SBATCH --job-name=dg-{file.Experiment}");
        string array = string.Join(",", cells.Select(c => c.Index.ToString(CultureInfo.InvariantCulture)));
        sb.AppendLine($"#SBATCH --array={array}{(options.MaxConcurrent is int m ? $"%{m}" : "")}");
        if (options.CpusPerTask is int cpus) sb.AppendLine($"#SBATCH --cpus-per-task={cpus}");
        if (options.Memory is { } mem) sb.AppendLine($"#SBATCH --mem={mem}");
        if (options.Time is { } time) sb.AppendLine($"#SBATCH --time={time}");
        if (options.Partition is { } part) sb.AppendLine($"#SBATCH --partition={part}");
        if (options.Account is { } acct) sb.AppendLine($"#SBATCH --account={acct}");
        sb.AppendLine("#SBATCH --requeue");
        sb.AppendLine("#SBATCH --open-mode=append");
        sb.AppendLine($"#SBATCH --chdir={full}");
        sb.AppendLine($"#SBATCH --output={logs}/%A_%a.out");
        foreach (var line in options.ExtraLines ?? Array.Empty<string>()) sb.AppendLine($"#SBATCH {line}");
        sb.AppendLine($$"""
            # One cell of the DiscreteGrad grid {{full}} per array task (written by the grid runner; submitted with
            # `sbatch --parsable` by `discretegrad ... --backend slurm`; resubmit the unfinished cells with `... --resume`).
            # The cell resumes from its checkpoint, so a requeued task continues. On SIGTERM/SIGINT the cell finishes its step,
            # checkpoints and exits 75, and this task requeues itself unless Slurm is ending it (scancel without --signal,
            # the time limit, a requeue or preemption by Slurm). The script forwards the signal to the cell, so
            # `scancel --signal=TERM --batch JOB_TASK` (only this script gets it) works as well as `--full` or a preemption
            # by Slurm (the cell gets it twice; the second changes nothing). A plain `scancel --signal=TERM` signals only
            # job steps, and the cell is none.
            set -u
            """);
        if (launcher.DotnetRoot is { } root) sb.AppendLine($"export DOTNET_ROOT={q(root)}");
        string cell = launcher.ShellCommand(full, "\"$SLURM_ARRAY_TASK_ID\"");
        string record = launcher.ShellCommand(full, "\"$SLURM_ARRAY_TASK_ID\"", "--exit-code");
        sb.Append($$"""
            cd {{q(full)}}
            task="${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
            note() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) [task $task, job ${SLURM_JOB_ID}, restart ${SLURM_RESTART_COUNT:-0}] $*"; }
            child=''
            signals=0
            forward() {
              signals=$((signals + 1))
              note "got SIG$1: forwarding it to the cell"
              if [ -n "$child" ]; then kill -"$1" "$child" 2>/dev/null || true; fi
            }
            trap 'forward TERM' TERM
            trap 'forward INT' INT
            note "cell $SLURM_ARRAY_TASK_ID on $(hostname)"
            {{cell}} &
            child=$!
            if [ "$signals" -gt 0 ]; then kill -TERM "$child" 2>/dev/null || true; fi   # signalled before the cell started
            # `wait` returns early (128 + signal) when a trapped signal arrives; wait again for the cell's own exit status.
            code=''
            last=''
            while [ -z "$code" ]; do
              before=$signals
              wait "$child"; rc=$?
              if [ "$signals" -ne "$before" ] && [ "$rc" -gt 128 ]; then last=$rc; continue; fi
              if [ "$rc" -eq 127 ] && [ -n "$last" ]; then rc=$last; fi   # the cell had been waited for already
              code=$rc
            done
            if [ "$signals" -gt 0 ] && { [ "$code" -eq 143 ] || [ "$code" -eq 130 ]; }; then
              # The signal ended the cell before it could trap it (while it started): nothing since its last checkpoint
              # is kept, and a requeue resumes from there.
              note "the cell ended on the signal before it could checkpoint"
              {{record}} {{CellExitCodes.Preempted}} --log {{q(logs)}}/"$task.out" || true
              code={{CellExitCodes.Preempted}}
            fi
            case "$code" in
              0) note "cell done" ;;
              2) note "cell failed (see its cell.log)" ;;
              {{CellExitCodes.Preempted}})
                # Requeue only a task that Slurm still runs (the signal came from `scancel --signal` or the like). While
                # Slurm ends it itself (COMPLETING: cancelled, time limit, requeued or preempted by Slurm) a requeue would
                # undo a cancel; Slurm requeues what it preempts or requeues.
                state=$(squeue -h -j "$SLURM_JOB_ID" -o %T 2>/dev/null | head -n 1)
                if [ -n "$state" ] && [ "$state" != RUNNING ]; then
                  note "cell stopped (checkpoint kept) while Slurm ends $task itself ($state): not requeueing it; if it does not come back, continue the grid with --resume"
                elif ! answer=$(scontrol requeue "$task" 2>&1); then
                  state=$(squeue -h -j "$task" -o %T 2>/dev/null | head -n 1)
                  case "$state" in
                    PENDING|REQUEUE*) note "Slurm requeues $task itself (it is $state)" ;;
                    *) note "could not requeue $task ($answer); continue the grid with --resume" ;;
                  esac
                else
                  note "cell stopped: requeued $task (it resumes from its last checkpoint)"
                fi ;;
              *)
                note "the cell's process exited with $code: marking the cell failed"
                {{record}} "$code" --log {{q(logs)}}/"$task.out" || true ;;
            esac
            exit "$code"

            """);
        return sb.ToString();
    }
}
