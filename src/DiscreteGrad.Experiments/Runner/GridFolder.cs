using System.Text.Json;
using System.Text.Json.Serialization;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>How every cell of a grid runs (stored in the grid file, read by each cell's process).</summary>
/// <param name="Threads">libtorch threads per cell.</param>
/// <param name="Device">cpu or cuda.</param>
/// <param name="CheckpointEvery">Checkpoint interval in steps (null: the experiment's default).</param>
/// <param name="ResumeOverrides">Settings allowed to differ from a cell's checkpoint.</param>
/// <param name="CheckFinite">Finite checks of the estimators' logits.</param>
public sealed record GridRunSettings(int Threads = 1, string Device = "cpu", long? CheckpointEvery = null,
    List<string>? ResumeOverrides = null, bool CheckFinite = true);

/// <summary>The grid file <c>grid.json</c>: the experiment, the command that made it, the cells and how they run.</summary>
/// <param name="Experiment">The experiment's name.</param>
/// <param name="Command">The command line.</param>
/// <param name="Run">How the cells run.</param>
/// <param name="Cells">Every cell.</param>
public sealed record GridFile(string Experiment, string Command, GridRunSettings Run, List<GridCell> Cells);

/// <summary>The state a cell's process reports in <c>status.json</c> (rewritten atomically as it goes).</summary>
/// <param name="State">pending, running, done, failed or preempted (readers also show interrupted: see <see cref="GridFolder.ReadObservedStatus"/>).</param>
/// <param name="Steps">Steps done.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Message">One-line failure message or latest evaluation.</param>
/// <param name="Pid">Process id of the cell's process.</param>
/// <param name="Updated">UTC time of this status.</param>
public sealed record CellStatus(string State, long Steps = 0, long TotalSteps = 0, string? Message = null, int Pid = 0, DateTime Updated = default);

/// <summary>
/// The files of a grid folder: <c>grid.json</c>, <c>cells/KEY/</c> (one run each: metrics, checkpoints,
/// <c>status.json</c>, <c>cell.log</c>), the report and, for Slurm, the array script. Every file is written to a
/// temporary name and renamed, so a reader never sees half a file.
/// </summary>
public static class GridFolder
{
    /// <summary>Name of the grid file.</summary>
    public const string GridFileName = "grid.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The folder of a cell.</summary>
    public static string CellDirectory(string grid, GridCell cell) => Path.Combine(grid, "cells", cell.Key);

    /// <summary>Reads the grid file, or throws naming the folder.</summary>
    public static GridFile Read(string grid)
    {
        string path = Path.Combine(grid, GridFileName);
        if (!File.Exists(path)) throw new SettingException("GRID_DIR", $"{grid} holds no grid ({GridFileName} is missing): give the --out folder of a grid.");
        try
        {
            return JsonSerializer.Deserialize<GridFile>(File.ReadAllText(path), Json) ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a grid file: {e.Message}");
        }
    }

    /// <summary>Writes the grid file atomically.</summary>
    public static void Write(string grid, GridFile file) => WriteAtomically(Path.Combine(grid, GridFileName), JsonSerializer.Serialize(file, Json));

    /// <summary>Reads a cell's status (pending when it has none yet).</summary>
    public static CellStatus ReadStatus(string cellDirectory)
    {
        string path = Path.Combine(cellDirectory, "status.json");
        if (!File.Exists(path)) return new CellStatus("pending");
        try
        {
            return JsonSerializer.Deserialize<CellStatus>(File.ReadAllText(path), Json) ?? new CellStatus("pending");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return new CellStatus("unknown", Message: e.Message);
        }
    }

    /// <summary>
    /// A cell's status as a reader of the grid should see it: as <see cref="ReadStatus"/>, except that a cell whose status
    /// still says running while its process is gone (killed with the whole grid, so nothing recorded how it ended) is
    /// <c>interrupted</c>. The process is the one named by the cell folder's lock (<see cref="OutputLock.Holder"/>): gone
    /// when the lock has no owner file, or the owner is on this machine and no process with its id runs that started
    /// before the status was written (a later process with the same id is another one). A holder on another machine (a
    /// Slurm node) is taken to be running. <c>interrupted</c> is never written: <c>--resume</c> continues such a cell from
    /// its last checkpoint.
    /// </summary>
    public static CellStatus ReadObservedStatus(string cellDirectory)
    {
        var status = ReadStatus(cellDirectory);
        if (status.State != "running") return status;
        var holder = OutputLock.Holder(cellDirectory);
        if (holder is { } h && (h.Host != Environment.MachineName || IsAlive(h.Pid, status.Updated))) return status;
        string who = holder is { } g ? $"its process {g.Pid} is gone" : "no process holds it";
        return status with { State = "interrupted", Message = $"{who} (killed?); --resume continues it from its last checkpoint" };
    }

    private static bool IsAlive(int pid, DateTime statusWritten)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            if (p.HasExited) return false;
            // Status times are UTC; a process that started after the status was written cannot have written it.
            return statusWritten == default || p.StartTime.ToUniversalTime() <= statusWritten.ToUniversalTime().AddSeconds(1);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Writes a cell's status atomically.</summary>
    public static void WriteStatus(string cellDirectory, CellStatus status) =>
        WriteAtomically(Path.Combine(cellDirectory, "status.json"), JsonSerializer.Serialize(status, Json));

    /// <summary>Writes text to a temporary file beside <paramref name="path"/>, flushes it and renames it over the target.</summary>
    public static void WriteAtomically(string path, string text)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp");
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        using (var w = new StreamWriter(fs))
        {
            w.Write(text);
            w.Flush();
            fs.Flush(true);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
