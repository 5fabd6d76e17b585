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
/// <c>discretegrad run-cell GRID_DIR $SLURM_ARRAY_TASK_ID</c>, which resumes from the cell's checkpoint, so a requeued task
/// continues where it stopped. SIGTERM (preemption, <c>scancel --signal=TERM --full</c>) makes the cell checkpoint and
/// exit with code 75, upon which the script requeues its own task (<c>scontrol requeue</c>). Follow the grid with
/// <c>discretegrad status</c> and aggregate it with <c>discretegrad report</c>.
/// </summary>
/// <param name="options">Resources and submission settings.</param>
/// <param name="launcher">How a task starts the tool (absolute paths: the tasks run from another working directory).</param>
public sealed class SlurmBackend(SlurmOptions options, CellLauncher launcher) : IGridBackend
{
    /// <summary>Path of the array script inside a grid folder.</summary>
    public static string ScriptPath(string grid) => Path.Combine(grid, "slurm", "array.sbatch");

    /// <inheritdoc />
    public GridLaunch Launch(string grid, GridFile file, IReadOnlyList<GridCell> cells, IGridProgress? progress, CancellationToken cancel)
    {
        string script = ScriptPath(grid);
        GridFolder.WriteAtomically(script, Script(grid, file, cells));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        foreach (var c in cells) Directory.CreateDirectory(GridFolder.CellDirectory(grid, c));
        if (options.DryRun)
            return new GridLaunch(false, $"dry run: the array script is {script} (submit it with: {options.Sbatch} {script})\n{File.ReadAllText(script)}");
        var psi = new ProcessStartInfo(options.Sbatch) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--parsable");
        psi.ArgumentList.Add(script);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new IOException($"cannot start {options.Sbatch}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SettingException("--backend", $"--backend slurm: cannot run {options.Sbatch} ({e.Message}); is Slurm installed here?");
        }
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new IOException($"sbatch refused the grid (exit {p.ExitCode}): {stderr.Trim().Split('\n')[0]}");
        string job = stdout.Trim().Split(';')[0];
        GridFolder.WriteAtomically(Path.Combine(grid, "slurm", "job"), job + "\n");
        return new GridLaunch(false, $"submitted Slurm array job {job} with {cells.Count} task(s): {script}");
    }

    /// <summary>The sbatch array script of the cells.</summary>
    public string Script(string grid, GridFile file, IReadOnlyList<GridCell> cells)
    {
        string full = Path.GetFullPath(grid);
        string logs = Path.Combine(full, "slurm");
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
        sb.AppendLine($"#SBATCH --output={logs}/%A_%a.out");
        foreach (var line in options.ExtraLines ?? Array.Empty<string>()) sb.AppendLine($"#SBATCH {line}");
        sb.AppendLine("# One cell of a DiscreteGrad grid per array task. The cell resumes from its checkpoint, so a requeued task");
        sb.AppendLine("# continues; on SIGTERM it checkpoints and exits 75, and the task requeues itself.");
        sb.AppendLine("set -u");
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root) sb.AppendLine($"export DOTNET_ROOT={CellLauncher.Quote(root)}");
        sb.AppendLine($"{launcher.ShellCommand(full, "\"$SLURM_ARRAY_TASK_ID\"").Replace("'\"$SLURM_ARRAY_TASK_ID\"'", "\"$SLURM_ARRAY_TASK_ID\"")} &");
        sb.AppendLine("child=$!");
        sb.AppendLine("trap 'kill -TERM \"$child\" 2>/dev/null' TERM INT");
        sb.AppendLine("wait \"$child\"; code=$?");
        sb.AppendLine("# wait returns early when the trap ran; wait again for the cell's own exit code.");
        sb.AppendLine("while kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; code=$?; done");
        sb.AppendLine($"if [ \"$code\" -eq {CellExitCodes.Preempted} ]; then");
        sb.AppendLine("  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\" || true");
        sb.AppendLine("fi");
        sb.AppendLine("exit \"$code\"");
        return sb.ToString();
    }
}
