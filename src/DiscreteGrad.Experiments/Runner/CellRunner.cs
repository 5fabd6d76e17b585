using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using DiscreteGrad.Solvers;
using TorchSharp;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>Exit codes of a cell's process (<c>discretegrad run-cell</c>).</summary>
public static class CellExitCodes
{
    /// <summary>The cell finished.</summary>
    public const int Done = 0;
    /// <summary>The cell failed; its one-line message is in its status and the trace in its log.</summary>
    public const int Failed = 2;
    /// <summary>The cell was stopped by SIGTERM / SIGINT after writing a checkpoint (a requeue resumes it); EX_TEMPFAIL.</summary>
    public const int Preempted = 75;
}

/// <summary>
/// Runs one cell of a grid in the calling process, as <c>discretegrad run-cell GRID_DIR INDEX</c> does: takes the cell
/// folder's lock, sets the run's context (libtorch threads, solver parallelism, finite checks, device), resumes from the
/// cell's checkpoint when there is one, writes <c>status.json</c> as it goes, turns SIGTERM and SIGINT into "checkpoint
/// and stop", and ends every failure as one line in the status (the full trace in <c>cell.log</c>).
/// </summary>
public static class CellRunner
{
    /// <summary>Runs cell <paramref name="index"/> of the grid in <paramref name="grid"/>; returns a <see cref="CellExitCodes"/> value.</summary>
    /// <param name="catalog">The experiments to find the grid's by name.</param>
    /// <param name="grid">The grid folder.</param>
    /// <param name="index">The cell's index.</param>
    /// <param name="console">Where progress lines and the failure line go (null: nowhere).</param>
    /// <param name="stop">An extra stop signal (besides SIGTERM / SIGINT).</param>
    /// <param name="ownsProcess">The cell has this process to itself (<c>run-cell</c>): register SIGTERM / SIGINT handlers and set
    /// libtorch's thread count. False for cells run inside another process (in-process grids, tests).</param>
    public static int Run(IReadOnlyList<IExperiment> catalog, string grid, int index, TextWriter? console = null,
        CancellationToken stop = default, bool ownsProcess = true)
    {
        var file = GridFolder.Read(grid);
        var experiment = catalog.FirstOrDefault(e => e.Name == file.Experiment)
            ?? throw new InvalidDataException($"{grid}: unknown experiment '{file.Experiment}'.");
        if (index < 0 || index >= file.Cells.Count)
            throw new SettingException("INDEX", $"INDEX must be in [0, {file.Cells.Count - 1}] for {grid} (got {index}).");
        var cell = file.Cells[index];
        string dir = GridFolder.CellDirectory(grid, cell);
        using var cellLock = OutputLock.Acquire(dir, "cell folder");
        string logPath = Path.Combine(dir, "cell.log");
        using var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        void Log(string line)
        {
            log.WriteLine($"{DateTime.UtcNow:O} {line}");
            console?.WriteLine(line);
        }
        Log($"cell {index} ({cell.Label}) of {file.Experiment}, pid {Environment.ProcessId}, {file.Run.Threads} thread(s)");

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var registrations = new List<PosixSignalRegistration>();
        if (ownsProcess)
        {
            foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT })
                registrations.Add(PosixSignalRegistration.Create(signal, c =>
                {
                    c.Cancel = true;   // do not terminate: finish the step, checkpoint, exit with Preempted
                    // A Slurm preemption or `scancel --full` signals the array script too, which forwards the signal:
                    // the cell then gets it twice; the second changes nothing.
                    if (cts.IsCancellationRequested) return;
                    Log($"{c.Signal}: checkpointing and stopping");
                    cts.Cancel();
                }));
        }
        var observer = new StatusObserver(dir, Log);
        try
        {
            if (file.Run.Threads < 1) throw new SettingException("--threads", "--threads must be >= 1.");
            if (ownsProcess) torch.set_num_threads(file.Run.Threads);
            Log($"libtorch threads: {torch.get_num_threads()}");
            var context = new RunContext
            {
                Threads = file.Run.Threads,
                Device = file.Run.Device,
                CheckFinite = file.Run.CheckFinite,
                OutputDirectory = dir,
                CheckpointEvery = file.Run.CheckpointEvery,
                Resume = true,
                ResumeOverrides = (file.Run.ResumeOverrides ?? new List<string>()).ToHashSet(),
                Settings = cell.Settings.Where(kv => !IsLocal(experiment, kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value),
                Command = file.Command,
                Stop = cts.Token,
                Observer = observer,
                Log = Log,
                OwnsProcess = ownsProcess,
            };
            _ = context.TorchDevice;   // fails early, with one line, for cuda without CUDA
            GridFolder.WriteStatus(dir, new CellStatus("running", Pid: Environment.ProcessId, Updated: DateTime.UtcNow));
            CellRunResult result;
            using (SolverParallelism.Limit(file.Run.Threads))
            using (Guard.FiniteChecks(file.Run.CheckFinite))
                result = experiment.RunCell(cell, context);
            var state = result.Stopped ? "preempted" : "done";
            if (!result.Stopped) GridFolder.WriteAtomically(Path.Combine(dir, "settings.json"), System.Text.Json.JsonSerializer.Serialize(cell.Settings));
            GridFolder.WriteStatus(dir, new CellStatus(state, result.Steps, observer.Total, observer.Latest, Environment.ProcessId, DateTime.UtcNow));
            Log(result.Stopped ? $"stopped after {result.Steps} steps; a checkpoint is kept" : $"done after {result.Steps} steps");
            return result.Stopped ? CellExitCodes.Preempted : CellExitCodes.Done;
        }
        catch (Exception e)
        {
            string line = ErrorLine(e);
            log.WriteLine($"{DateTime.UtcNow:O} FAILED: {line}");
            log.WriteLine(e.ToString());
            GridFolder.WriteStatus(dir, new CellStatus("failed", observer.Steps, observer.Total, line, Environment.ProcessId, DateTime.UtcNow));
            console?.WriteLine("error: " + line);
            return CellExitCodes.Failed;
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    /// <summary>
    /// Records in the cell's status how its process ended when the process could not say so itself. An exit code other
    /// than <see cref="CellExitCodes"/>' (a native crash, killed by a signal, e.g. by the kernel for memory) marks the cell
    /// failed, keeping its steps, unless it had finished (killed on its way out); <see cref="CellExitCodes.Preempted"/>
    /// for a cell still marked running (stopped by a signal before it could checkpoint: it resumes from its last
    /// checkpoint) marks it preempted; otherwise the status stays as the process wrote it.
    /// </summary>
    /// <param name="cellDirectory">The cell's folder.</param>
    /// <param name="exitCode">The process's exit code (128 + N for signal N, as a shell reports it).</param>
    /// <param name="log">The file that holds the process's output, named in the message.</param>
    public static void RecordExit(string cellDirectory, int exitCode, string log)
    {
        if (exitCode is CellExitCodes.Done or CellExitCodes.Failed) return;
        var last = GridFolder.ReadStatus(cellDirectory);
        if (exitCode == CellExitCodes.Preempted)
        {
            if (last.State is "running" or "pending")
                GridFolder.WriteStatus(cellDirectory, last with
                {
                    State = "preempted",
                    Message = "stopped by a signal before it could checkpoint; it resumes from its last checkpoint",
                    Updated = DateTime.UtcNow,
                });
            return;
        }
        if (last.State == "done") return;
        int signal = exitCode - 128;
        string why = exitCode > 128 ? $"killed by signal {signal}{(signal == 9 ? " (out of memory?)" : "")}" : $"exited with code {exitCode}";
        GridFolder.WriteStatus(cellDirectory, last with
        {
            State = "failed",
            Message = $"the cell's process {why}; see {log}",
            Updated = DateTime.UtcNow,
        });
    }

    /// <summary>
    /// The one line that stands for a failure: the message of the innermost meaningful exception (an
    /// <see cref="AggregateException"/> or <see cref="System.Reflection.TargetInvocationException"/> is unwrapped), without .NET's
    /// "(Parameter ...)" suffix; a native libtorch error keeps its first line.
    /// </summary>
    public static string ErrorLine(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is not null)
            e = e.InnerException!;
        string m = e.Message.Split(" (Parameter '")[0];
        m = m.Split('\n')[0].Trim();
        bool known = e is ArgumentException or IOException or InvalidDataException or NonFiniteLossException or UnauthorizedAccessException
            or System.Text.Json.JsonException;
        if (e is OutOfMemoryException || m.Contains("DefaultCPUAllocator", StringComparison.Ordinal))
            return $"out of memory: {m} (use a smaller batch or model, or fewer --jobs)";
        return known ? m : $"{e.GetType().Name}: {m}";
    }

    private static bool IsLocal(IExperiment experiment, string key) =>
        experiment.Settings.FirstOrDefault(s => s.Name == key)?.Attribute.Local == true;

    /// <summary>
    /// Writes the cell's progress to status.json at most twice a second (and on every evaluation); logs where the run
    /// starts (step 0, or the step of the checkpoint it resumes from).
    /// </summary>
    private sealed class StatusObserver(string dir, Action<string> log) : IRunObserver
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _lastWrite = double.NegativeInfinity;
        public long Steps { get; private set; }
        public long Total { get; private set; }
        public string? Latest { get; private set; }

        public void Started(string name, long startStep, long totalSteps)
        {
            Steps = startStep;
            Total = totalSteps;
            log(startStep > 0 ? $"{name}: resuming from the checkpoint at step {startStep} of {totalSteps}" : $"{name}: starting at step 0 of {totalSteps}");
            Write();
        }

        public void Stepped(long stepsDone, IReadOnlyDictionary<string, double> metrics)
        {
            Steps = stepsDone;
            if (_clock.Elapsed.TotalSeconds - _lastWrite >= 0.5) Write();
        }

        public void Evaluated(long stepsDone, IReadOnlyDictionary<string, double> metrics)
        {
            Latest = string.Join("  ", metrics.Where(kv => kv.Key != "rss_mb" && kv.Key != "epoch").Take(3)
                .Select(kv => $"{kv.Key} {kv.Value.ToString("G4", CultureInfo.InvariantCulture)}"));
            Write();
        }

        private void Write()
        {
            _lastWrite = _clock.Elapsed.TotalSeconds;
            GridFolder.WriteStatus(dir, new CellStatus("running", Steps, Total, Latest, Environment.ProcessId, DateTime.UtcNow));
        }
    }
}
