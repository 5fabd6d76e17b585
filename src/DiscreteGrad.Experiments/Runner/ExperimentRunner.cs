using System.Diagnostics;
using TorchSharp;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>What a finished run reports.</summary>
/// <param name="Name">The run.</param>
/// <param name="StartStep">Step it started (or resumed) at.</param>
/// <param name="Steps">Total steps done.</param>
/// <param name="WallSeconds">Wall time of this invocation.</param>
/// <param name="FinalTrain">Last logged training metrics.</param>
/// <param name="FinalEval">Last evaluation metrics (empty when none).</param>
/// <param name="Records">Every logged record.</param>
/// <param name="OutputDirectory">Where everything was written.</param>
/// <param name="Stopped">True when the run stopped early on <see cref="RunnerOptions.Stop"/> (checkpointed, resumable).</param>
public sealed record RunResult(string Name, long StartStep, long Steps, double WallSeconds,
    IReadOnlyDictionary<string, double> FinalTrain, IReadOnlyDictionary<string, double> FinalEval,
    IReadOnlyList<MetricsRecord> Records, string OutputDirectory, bool Stopped = false)
{
    /// <summary>Whether this invocation's steps ran in no-GC windows (<see cref="CollectionWindows.Guarded"/>).</summary>
    public bool CollectionsGuarded { get; init; }

    /// <summary>Windows of this invocation in which collections could start after all (<see cref="CollectionWindows.Unguarded"/>).</summary>
    public int WindowsUnguarded { get; init; }

    /// <summary>Seconds per step of this invocation.</summary>
    public double SecondsPerStep => Steps > StartStep ? WallSeconds / (Steps - StartStep) : double.NaN;
}

/// <summary>
/// Runs an <see cref="ITrainingTask"/>: every step inside a TorchSharp DisposeScope; training metrics averaged over
/// <see cref="RunnerOptions.LogEvery"/> steps to CSV and JSON lines; evaluations on the task's cadence (and of the
/// initial model when the cadence asks for it); atomic checkpoints
/// every <see cref="RunnerOptions.CheckpointEvery"/> steps and at the end; resume from the latest checkpoint (on CPU a
/// resumed run is bit-identical to an uninterrupted one); a NaN or infinite loss stops the run with
/// <see cref="NonFiniteLossException"/> naming the step; at the end a summary JSON, PNG plots and a markdown report.
/// <para>Every checkpoint records the run's configuration fingerprint (<see cref="RunnerOptions.Settings"/>); a resume
/// under different settings is refused with <see cref="ConfigurationMismatchException"/> naming the keys, unless they are
/// listed in <see cref="RunnerOptions.ResumeOverrides"/> (then a changed learning rate takes effect). A checkpoint is only
/// written when the parameters and the optimiser state are finite, so the one a NaN stop names can be resumed.</para>
/// <para>Memory: a run sets the process's native heap policy (<see cref="NativeHeap.KeepFreedBlocks"/>: freed blocks stay
/// in the process for the next step instead of being unmapped and faulted in again) and collects garbage every 25 steps
/// (for TorchSharp's finaliser-only Scalar objects; see the loop). In a process of its own
/// (<see cref="RunnerOptions.ExclusiveProcess"/>) no collection starts between those points (<see cref="CollectionWindows"/>:
/// one that starts during a native call can free the Scalar libtorch is reading).</para>
/// </summary>
public static class ExperimentRunner
{
    /// <summary>Runs the task to its last step.</summary>
    public static RunResult Run(ITrainingTask task, RunnerOptions options, IRunObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        NativeHeap.KeepFreedBlocks();
        observer ??= new NullObserver();
        string dir = options.OutputDirectory;
        Directory.CreateDirectory(dir);
        long start = 0;
        IReadOnlyDictionary<string, string> fingerprint = options.Settings.Count > 0 ? options.Settings : task.Configuration;
        CheckpointState? restored = null;
        if (options.Resume && CheckpointStore.PeekState(dir) is { } peek)
        {
            var changed = CheckResumeConfiguration(task.Name, peek.Settings, fingerprint, options.ResumeOverrides);
            // The learning rate the task was built with (the new configuration's), before the optimiser state overwrites it.
            var rates = task.Optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
            restored = CheckpointStore.TryRestoreState(task, dir);
            if (changed.Count > 0)
            {
                int i = 0;
                foreach (var g in task.Optimizer.ParamGroups) g.LearningRate = rates[i++];
            }
        }
        if (restored is not null) start = restored.Step;
        else if (File.Exists(Path.Combine(dir, CheckpointStore.PointerFile)))
        {
            // A fresh run in a folder with old checkpoints: drop them so a later --resume cannot mix two runs.
            File.Delete(Path.Combine(dir, CheckpointStore.PointerFile));
            if (Directory.Exists(Path.Combine(dir, "checkpoints"))) Directory.Delete(Path.Combine(dir, "checkpoints"), true);
        }
        string? lastCheckpoint = CheckpointStore.Latest(dir);
        var cadence = task.Cadence;
        cadence.Validate();
        using var log = new MetricsLog(dir, options.Resume ? start : null);
        observer.Started(task.Name, start, task.TotalSteps);
        task.Model.train();
        var sums = restored?.LogWindow is { } w ? new Dictionary<string, double>(w) : new Dictionary<string, double>();
        long inWindow = restored?.LogWindowCount ?? 0;
        var clock = Stopwatch.StartNew();
        Dictionary<string, double> lastTrain = log.Records.LastOrDefault(r => r.Kind == "train")?.Metrics ?? new();
        Dictionary<string, double> lastEval = log.Records.LastOrDefault(r => r.Kind == "eval")?.Metrics ?? new();
        long end = Math.Min(task.TotalSteps, options.StopAtStep ?? long.MaxValue);
        bool stopped = false;
        void Evaluate(long done, long failedStep)
        {
            IReadOnlyDictionary<string, double> e;
            task.Model.eval();
            try
            {
                using (torch.no_grad())
                using (torch.NewDisposeScope())
                    e = task.Evaluate(done);
            }
            catch (NonFiniteValueException ex)
            {
                throw new NonFiniteLossException(task.Name, failedStep, double.NaN, lastCheckpoint, ex.Message);
            }
            task.Model.train();
            lastEval = e.ToDictionary(kv => kv.Key, kv => kv.Value);
            lastEval["rss_mb"] = ResidentMegabytes();
            log.Write(new MetricsRecord("eval", done, lastEval));
            observer.Evaluated(done, lastEval);
        }
        using var windows = new CollectionWindows(options.ExclusiveProcess);
        // The initial model's evaluation, once: not again when a run that had not reached its first checkpoint is resumed.
        if (cadence.AtStart && start == 0 && !log.Records.Any(r => r.Kind == "eval" && r.Step == 0)) Evaluate(0, 0);
        long step = start;
        for (; step < end; step++)
        {
            if (options.Stop.IsCancellationRequested)
            {
                stopped = true;
                break;
            }
            IReadOnlyDictionary<string, double> m;
            try
            {
                using (torch.NewDisposeScope()) m = task.TrainStep(step);
            }
            catch (NonFiniteValueException e)
            {
                throw new NonFiniteLossException(task.Name, step, double.NaN, lastCheckpoint, e.Message);
            }
            if (!m.TryGetValue("loss", out double loss))
                throw new InvalidOperationException($"task '{task.Name}' returned no \"loss\" metric at step {step}.");
            if (!double.IsFinite(loss)) throw new NonFiniteLossException(task.Name, step, loss, lastCheckpoint);
            foreach (var (k, v) in m) sums[k] = sums.GetValueOrDefault(k) + v;
            inWindow++;
            long done = step + 1;
            observer.Stepped(done, m);
            if (done % options.LogEvery == 0 || done == task.TotalSteps)
            {
                lastTrain = sums.ToDictionary(kv => kv.Key, kv => kv.Value / inWindow);
                log.Write(new MetricsRecord("train", done, lastTrain));
                sums.Clear();
                inWindow = 0;
            }
            // The step's tensors and autograd graphs are already freed (its DisposeScope; TorchSharp frees a custom
            // autograd node with the tensors it saved when libtorch releases the graph). What the collection between two
            // windows frees is TorchSharp's Scalar: every tensor operation with a number argument (x * 0.5, clamp(min, max),
            // the mul_(beta1) of TorchSharp's own optimisers) creates one, whose small native block only its finaliser
            // frees. Left between a step's large temporaries, these blocks fragment glibc's heap, which then grows until a
            // natural collection hundreds of steps later (VAE 10x30 steps on TorchSharp's Adam: 707 MiB resident after 800
            // steps without these collections, 290 MiB with them; on DiscreteGrad.Optim.Adam, which creates no Scalars,
            // 250-259 MiB over 20k ReinMax steps without them). Inside a window no collection starts in a process of the
            // run's own (see CollectionWindows: a collection during a native call can free the Scalar it reads).
            if (done % CollectionWindows.Steps == 0) windows.Next();
            if (cadence.ShouldEvaluate(done, task.TotalSteps)) Evaluate(done, step);
            if ((options.CheckpointEvery > 0 && done % options.CheckpointEvery == 0) || done == end)
                lastCheckpoint = SaveIfFinite(task, dir, done, sums, inWindow, fingerprint, lastCheckpoint, observer);
        }
        if (stopped && step > start)
            lastCheckpoint = SaveIfFinite(task, dir, step, sums, inWindow, fingerprint, lastCheckpoint, observer);
        windows.Dispose();   // the report that follows allocates freely
        var result = new RunResult(task.Name, start, stopped ? step : Math.Max(start, end), clock.Elapsed.TotalSeconds, lastTrain, lastEval,
            log.Records.ToList(), dir, stopped)
        {
            CollectionsGuarded = windows.Guarded,
            WindowsUnguarded = windows.Unguarded,
        };
        RunReport.WriteSummary(task, options, result);
        if (options.WriteReport && !stopped) RunReport.WritePlotsAndMarkdown(task, options, result);
        return result;
    }

    private static string? SaveIfFinite(ITrainingTask task, string dir, long done, Dictionary<string, double> sums, long inWindow,
        IReadOnlyDictionary<string, string> fingerprint, string? lastCheckpoint, IRunObserver observer)
    {
        if (!CheckpointStore.IsFinite(task))
        {
            // A diverged update: keep the last good checkpoint, so that the NaN stop that follows names one that resumes.
            observer.Checkpointed(done, lastCheckpoint ?? "");
            return lastCheckpoint;
        }
        string path = CheckpointStore.Save(task, dir, done, sums, inWindow, fingerprint);
        observer.Checkpointed(done, path);
        return path;
    }

    /// <summary>
    /// Compares the configuration a checkpoint was written under with the current one: throws
    /// <see cref="ConfigurationMismatchException"/> naming every differing key not in <paramref name="overrides"/>; returns
    /// the keys that differ (all of them allowed).
    /// </summary>
    public static IReadOnlyList<string> CheckResumeConfiguration(string run, IReadOnlyDictionary<string, string>? saved,
        IReadOnlyDictionary<string, string> current, IReadOnlySet<string> overrides)
    {
        if (saved is null) return Array.Empty<string>();
        var keys = saved.Keys.Union(current.Keys).OrderBy(k => k, StringComparer.Ordinal);
        var diff = keys.Where(k => saved.GetValueOrDefault(k) != current.GetValueOrDefault(k)).ToList();
        var refused = diff.Where(k => !overrides.Contains(k)).ToList();
        if (refused.Count > 0)
            throw new ConfigurationMismatchException(run, refused.Select(k => (k, saved.GetValueOrDefault(k), current.GetValueOrDefault(k))).ToList());
        return diff;
    }

    /// <summary>Resident memory of this process in MiB (VmRSS on Linux, the working set elsewhere).</summary>
    public static double ResidentMegabytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        return Environment.WorkingSet / (1024.0 * 1024.0);
    }

    private sealed class NullObserver : IRunObserver { }
}
