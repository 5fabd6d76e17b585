using TorchSharp;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace DiscreteGrad.Experiments.Runner.Backends;

/// <summary>How to start <c>discretegrad run-cell GRID_DIR INDEX</c>: an executable and the arguments before "run-cell".</summary>
/// <param name="FileName">The executable (the apphost, or <c>dotnet</c>), an absolute path.</param>
/// <param name="PrefixArguments">Arguments before "run-cell" (the CLI's dll when <paramref name="FileName"/> is dotnet).</param>
/// <param name="DotnetRoot">
/// The .NET installation that runs the tool, for <c>DOTNET_ROOT</c> where the apphost starts it somewhere else (a Slurm
/// task whose environment is not the submitter's); null when <paramref name="FileName"/> is the dotnet host itself or
/// the tool is self-contained.
/// </param>
public sealed record CellLauncher(string FileName, IReadOnlyList<string> PrefixArguments, string? DotnetRoot = null)
{
    /// <summary>The launcher of the running CLI process (its apphost, or <c>dotnet</c> with its entry dll).</summary>
    public static CellLauncher Current()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown.");
        string entry = Assembly.GetEntryAssembly()?.Location ?? "";
        return Path.GetFileNameWithoutExtension(process) == "dotnet" && entry.Length > 0
            ? new CellLauncher(Path.GetFullPath(process), new[] { Path.GetFullPath(entry) })
            : new CellLauncher(Path.GetFullPath(process), Array.Empty<string>(), RunningDotnetRoot());
    }

    /// <summary>The launcher of a CLI dll run by the dotnet host that runs this process (for tests).</summary>
    public static CellLauncher ForDll(string dll)
    {
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return new CellLauncher(host, new[] { Path.GetFullPath(dll) });
    }

    /// <summary>
    /// The root of the shared .NET installation that runs this process (the folder holding <c>shared/Microsoft.NETCore.App</c>),
    /// or null for a self-contained app (its runtime lies beside it).
    /// </summary>
    public static string? RunningDotnetRoot()
    {
        string runtime = Path.GetFullPath(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory()).TrimEnd(Path.DirectorySeparatorChar);
        if (Path.GetFullPath(AppContext.BaseDirectory).TrimEnd(Path.DirectorySeparatorChar) == runtime) return null;
        // .../DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION
        var version = new DirectoryInfo(runtime);
        var framework = version.Parent;
        var shared = framework?.Parent;
        return shared is { Name: "shared", Parent: { } root } ? root.FullName : null;
    }

    /// <summary>The whole command line of one cell, each word quoted for a POSIX shell; <paramref name="index"/> is written as is.</summary>
    /// <param name="grid">The grid folder (made absolute).</param>
    /// <param name="index">The cell's index as a shell word (e.g. <c>"$SLURM_ARRAY_TASK_ID"</c>, not quoted again).</param>
    /// <param name="extra">Further arguments after the index (quoted).</param>
    public string ShellCommand(string grid, string index, params string[] extra) =>
        string.Join(" ", new[] { FileName }.Concat(PrefixArguments).Concat(new[] { "run-cell", Path.GetFullPath(grid) }).Select(Quote)
            .Append(index).Concat(extra.Select(Quote)));

    /// <summary>Quotes a word for a POSIX shell (single quotes unless it is plainly safe).</summary>
    public static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./:=+,@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}

/// <summary>
/// Runs every cell in a child process of its own (<c>run-cell</c>), at most <see cref="Jobs"/> at once and in the grid's
/// order, each with the grid's libtorch thread count. A crashed cell (native error, killed by the kernel) is marked
/// failed with its exit code and does not stop the others. Cancelling sends SIGTERM to the running cells, which checkpoint and stop.
/// </summary>
/// <param name="jobs">Cells at once (&gt;= 1).</param>
/// <param name="launcher">How to start a cell.</param>
public sealed class LocalProcessBackend(int jobs, CellLauncher launcher) : IGridBackend
{
    /// <summary>Cells at once.</summary>
    public int Jobs { get; } = jobs >= 1 ? jobs : throw new SettingException("--jobs", $"--jobs must be >= 1 (got {jobs}).");

    /// <inheritdoc />
    public GridLaunch Launch(string grid, GridFile file, IReadOnlyList<GridCell> cells, IGridProgress? progress, CancellationToken cancel)
    {
        // Cells start in the grid's order, the order of the option lists (list the longest cells first to have them done
        // soonest); a semaphore would admit its waiting threads in any order.
        var queue = new System.Collections.Concurrent.ConcurrentQueue<GridCell>(cells);
        // When each cell's process was started: until its process writes a status, the cell's status.json is the one a
        // previous run left (failed, preempted), which is not this run's progress.
        var launched = new System.Collections.Concurrent.ConcurrentDictionary<int, DateTime>();
        var threads = Enumerable.Range(0, Math.Min(Jobs, cells.Count)).Select(_ => new Thread(() =>
        {
            while (!cancel.IsCancellationRequested && queue.TryDequeue(out var cell))
            {
                launched[cell.Index] = DateTime.UtcNow;
                try
                {
                    RunOne(grid, cell, cancel);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
                {
                    // The cell's process could not be started (or its log opened): that cell fails, the others run.
                    GridFolder.WriteStatus(GridFolder.CellDirectory(grid, cell),
                        new CellStatus("failed", Message: $"its process could not be started: {e.Message}", Updated: DateTime.UtcNow));
                }
            }
        }) { IsBackground = true }).ToList();
        foreach (var t in threads) t.Start();
        while (threads.Any(t => t.IsAlive))
        {
            foreach (var c in cells)
            {
                if (progress is null || !launched.TryGetValue(c.Index, out var since)) continue;
                var status = GridFolder.ReadStatus(GridFolder.CellDirectory(grid, c));
                if (status.Updated >= since) progress.Update(c, status);
            }
            Thread.Sleep(250);
        }
        foreach (var c in cells.Where(c => launched.ContainsKey(c.Index))) progress?.Update(c, GridFolder.ReadStatus(GridFolder.CellDirectory(grid, c)));
        return new GridLaunch(true, null);
    }

    private void RunOne(string grid, GridCell cell, CancellationToken cancel)
    {
        string dir = GridFolder.CellDirectory(grid, cell);
        Directory.CreateDirectory(dir);
        var psi = new ProcessStartInfo(launcher.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in launcher.PrefixArguments) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("run-cell");
        psi.ArgumentList.Add(Path.GetFullPath(grid));
        psi.ArgumentList.Add(cell.Index.ToString(CultureInfo.InvariantCulture));
        using var output = new StreamWriter(Path.Combine(dir, "process.log"), append: true) { AutoFlush = true };
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine(e.Data); };
        if (cancel.IsCancellationRequested) return;   // stopped before it started: it stays as it was (pending, preempted)
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var onCancel = cancel.Register(() => Signal(process));
        process.WaitForExit();
        CellRunner.RecordExit(dir, process.ExitCode, Path.Combine(dir, "process.log"));
    }

    private static void Signal(Process p)
    {
        try
        {
            if (!p.HasExited) Process.Start("kill", new[] { "-TERM", p.Id.ToString(CultureInfo.InvariantCulture) })?.WaitForExit();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }
    }
}

/// <summary>
/// Runs the cells one after another in this process (for tests and debugging; SIGTERM is not handled per cell).
/// Failures are recorded per cell as with <see cref="LocalProcessBackend"/>.
/// </summary>
/// <param name="catalog">The experiments, to find the grid's by name.</param>
/// <param name="setsThreads">Set libtorch's thread count to the grid's <c>--threads</c> for the cells, and back afterwards
/// (the command line's <c>--backend inline</c>, whose process is the grid's). False (tests, other hosts): the process's
/// count stays, since it is shared by everything else the process runs. Left at libtorch's default of one thread per
/// core on a loaded machine, a one-thread cell's parallel regions wait on a busy core: a Bernoulli VAE epoch took 8
/// times the CPU time of the same cell at one thread.</param>
public sealed class InProcessBackend(IReadOnlyList<IExperiment> catalog, bool setsThreads = false) : IGridBackend
{
    /// <inheritdoc />
    public GridLaunch Launch(string grid, GridFile file, IReadOnlyList<GridCell> cells, IGridProgress? progress, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(file);
        int before = torch.get_num_threads();
        if (setsThreads)
        {
            if (file.Run.Threads < 1) throw new SettingException("--threads", $"--threads must be >= 1 (got {file.Run.Threads}).");
            torch.set_num_threads(file.Run.Threads);
        }
        try
        {
            foreach (var c in cells)
            {
                if (cancel.IsCancellationRequested) break;
                CellRunner.Run(catalog, grid, c.Index, stop: cancel, ownsProcess: false);
                progress?.Update(c, GridFolder.ReadStatus(GridFolder.CellDirectory(grid, c)));
            }
        }
        finally
        {
            if (setsThreads) torch.set_num_threads(before);
        }
        return new GridLaunch(true, null);
    }
}
