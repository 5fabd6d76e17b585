using System.Text.Json;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>How a grid runs, from the shared command-line options.</summary>
/// <param name="Out">The grid folder.</param>
/// <param name="Command">The command line (for the reports).</param>
/// <param name="Jobs">Cells at once (local backend).</param>
/// <param name="Threads">libtorch threads per cell.</param>
/// <param name="Device">cpu or cuda.</param>
/// <param name="Resume">Continue a grid already in <paramref name="Out"/>.</param>
/// <param name="ResumeOverrides">Settings allowed to differ from the cells' checkpoints.</param>
/// <param name="CheckpointEvery">Checkpoint interval in steps (null: each experiment's default).</param>
/// <param name="LocalCores">Cores of this machine: --threads may not exceed it for a local grid (null: no check).</param>
public sealed record GridOptions(string Out, string Command = "", int Jobs = 1, int Threads = 1, string Device = "cpu", bool Resume = false,
    IReadOnlyList<string>? ResumeOverrides = null, long? CheckpointEvery = null, int? LocalCores = null)
{
    /// <summary>Throws <see cref="SettingException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Out)) throw new SettingException("--out", "--out must name a folder.");
        if (Jobs < 1 || Jobs > 256) throw new SettingException("--jobs", $"--jobs must be an integer in [1, 256] (got {Jobs}).");
        if (Threads < 1) throw new SettingException("--threads", $"--threads must be >= 1 (got {Threads}).");
        if (LocalCores is int cores && Threads > cores)
            throw new SettingException("--threads", $"--threads must be in [1, {cores}]: this machine has {cores} cores (got {Threads}; run cells side by side with --jobs instead).");
        if (Device is not "cpu" && !Device.StartsWith("cuda", StringComparison.Ordinal))
            throw new SettingException("--device", $"--device must be cpu or cuda (got '{Device}').");
        if (CheckpointEvery is < 0) throw new SettingException("--checkpoint-every", $"--checkpoint-every must be >= 0 (got {CheckpointEvery}).");
    }
}

/// <summary>
/// Receives the progress of a grid's cells (the CLI draws it): first the status of every cell that had finished before
/// this launch (a resume), then, from the backend, the statuses a launched cell writes, its final one last.
/// </summary>
public interface IGridProgress
{
    /// <summary>A cell's latest status.</summary>
    void Update(GridCell cell, CellStatus status);
}

/// <summary>What launching a grid did.</summary>
/// <param name="Completed">The cells ran here and have finished (false: submitted to a cluster).</param>
/// <param name="Message">What the backend says (e.g. the Slurm job id), or null.</param>
public sealed record GridLaunch(bool Completed, string? Message);

/// <summary>Runs or submits the cells of a grid.</summary>
public interface IGridBackend
{
    /// <summary>Runs (or submits) <paramref name="cells"/> of the grid in <paramref name="grid"/>.</summary>
    GridLaunch Launch(string grid, GridFile file, IReadOnlyList<GridCell> cells, IGridProgress? progress, CancellationToken cancel);
}

/// <summary>
/// The grid runner: writes the grid folder of an experiment's cells (refusing a folder that holds another grid unless
/// resuming it, and locking it while it runs), picks the cells still to run, hands them to a backend (one process per
/// cell locally, or a Slurm array), and collects what finished into the report.
/// </summary>
public static class GridRunner
{
    /// <summary>Plans and launches a grid; returns the launch and the cells' outcomes (empty when only submitted).</summary>
    public static (GridLaunch Launch, IReadOnlyList<CellOutcome> Outcomes) Run(IExperiment experiment, IReadOnlyList<GridCell> cells,
        GridOptions options, IGridBackend backend, IGridProgress? progress = null, CancellationToken cancel = default)
    {
        using var prepared = Prepare(experiment, cells, options);
        return prepared.Launch(backend, progress, cancel);
    }

    /// <summary>
    /// Checks the options and the folder, takes the folder's lock and writes the grid file: every refusal (bad option,
    /// a folder holding another grid, a locked folder) happens here, before anything runs. Dispose the result to release
    /// the lock.
    /// </summary>
    public static PreparedGrid Prepare(IExperiment experiment, IReadOnlyList<GridCell> cells, GridOptions options)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(cells);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (cells.Count == 0) throw new SettingException("--config", "the grid has no cells.");
        string grid = options.Out;
        var gridLock = OutputLock.Acquire(grid);
        try
        {
            string gridFile = Path.Combine(grid, GridFolder.GridFileName);
            if (File.Exists(gridFile))
            {
                var old = GridFolder.Read(grid);
                if (old.Experiment != experiment.Name)
                    throw new SettingException("--out", $"--out {grid} holds a grid of {old.Experiment}, not {experiment.Name}; choose another --out.");
                if (!options.Resume)
                    throw new SettingException("--out", $"--out {grid} already holds a grid of {old.Experiment}: continue it with --resume, or choose another --out.");
            }
            else if (Directory.EnumerateFileSystemEntries(grid).Any(e => !Path.GetFileName(e).StartsWith(".lock", StringComparison.Ordinal)) && !options.Resume)
                throw new SettingException("--out", $"--out {grid} is not empty and holds no grid; choose an empty or new folder.");
            var run = new GridRunSettings(options.Threads, options.Device, options.CheckpointEvery, options.ResumeOverrides?.ToList());
            var file = new GridFile(experiment.Name, options.Command, run, cells.ToList());
            GridFolder.Write(grid, file);
            return new PreparedGrid(grid, file, cells.Where(c => !IsFinished(grid, c)).ToList(), gridLock);
        }
        catch
        {
            gridLock.Dispose();
            throw;
        }
    }

    /// <summary>Whether a cell finished under exactly its current settings (then a resumed grid skips it).</summary>
    public static bool IsFinished(string grid, GridCell cell)
    {
        string dir = GridFolder.CellDirectory(grid, cell);
        if (GridFolder.ReadStatus(dir).State != "done") return false;
        string settings = Path.Combine(dir, "settings.json");
        if (!File.Exists(settings)) return false;
        var saved = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(settings));
        return saved is not null && saved.Count == cell.Settings.Count && saved.All(kv => cell.Settings.GetValueOrDefault(kv.Key) == kv.Value);
    }
}

/// <summary>A grid whose folder is checked, locked and written, ready to launch (<see cref="GridRunner.Prepare"/>).</summary>
public sealed class PreparedGrid : IDisposable
{
    private readonly OutputLock _lock;

    internal PreparedGrid(string directory, GridFile file, IReadOnlyList<GridCell> todo, OutputLock outputLock)
    {
        Directory = directory;
        File = file;
        Todo = todo;
        _lock = outputLock;
    }

    /// <summary>The grid folder.</summary>
    public string Directory { get; }
    /// <summary>The grid file as written.</summary>
    public GridFile File { get; }
    /// <summary>The cells still to run (not finished under their current settings).</summary>
    public IReadOnlyList<GridCell> Todo { get; }

    /// <summary>
    /// Reports the cells that had finished to <paramref name="progress"/>, hands the cells still to run to
    /// <paramref name="backend"/>; returns the launch and, when they ran here, every cell's outcome.
    /// </summary>
    public (GridLaunch Launch, IReadOnlyList<CellOutcome> Outcomes) Launch(IGridBackend backend, IGridProgress? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (progress is not null)
            foreach (var c in File.Cells.Where(c => Todo.All(t => t.Index != c.Index)))
                progress.Update(c, GridFolder.ReadStatus(GridFolder.CellDirectory(Directory, c)));
        GridLaunch launch = Todo.Count == 0 ? new GridLaunch(true, "every cell had finished already") : backend.Launch(Directory, File, Todo, progress, cancel);
        return (launch, launch.Completed ? GridReport.Collect(Directory) : Array.Empty<CellOutcome>());
    }

    /// <summary>Releases the folder's lock.</summary>
    public void Dispose() => _lock.Dispose();
}
