namespace DiscreteGrad.Experiments.Runner;

/// <summary>How the <see cref="ExperimentRunner"/> logs, checkpoints and reports a run.</summary>
/// <param name="OutputDirectory">Folder of the run: metrics, checkpoints, plots, summary, report.</param>
/// <param name="LogEvery">Write the mean of the training metrics every this many steps (&gt;= 1).</param>
/// <param name="CheckpointEvery">Checkpoint every this many steps (0: only at the end).</param>
/// <param name="Resume">Continue from the latest checkpoint in <paramref name="OutputDirectory"/> if there is one.</param>
/// <param name="Command">The command line that reproduces the run (for the report).</param>
/// <param name="WriteReport">Write plots and the markdown report at the end.</param>
/// <param name="StopAtStep">Stop (with a checkpoint) once this many steps are done, before the task's end; null: run to the end.</param>
public sealed record RunnerOptions(string OutputDirectory, long LogEvery = 50, long CheckpointEvery = 1000, bool Resume = false,
    string Command = "", bool WriteReport = true, long? StopAtStep = null)
{
    /// <summary>
    /// The run's configuration fingerprint (setting -> canonical text), stored with every checkpoint; a resume whose
    /// settings differ is refused, naming the keys, unless they are in <see cref="ResumeOverrides"/>. Empty: the task's
    /// <see cref="ITrainingTask.Configuration"/> is the fingerprint.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Settings that may differ on resume (e.g. epochs, lr); a changed learning rate takes effect at once.</summary>
    public IReadOnlySet<string> ResumeOverrides { get; init; } = new HashSet<string>();

    /// <summary>
    /// Whether the run has its process to itself (a <c>run-cell</c> process): then garbage collections are held to the
    /// boundaries between windows of steps by process-wide no-GC regions (<see cref="CollectionWindows"/>). False (the
    /// default) where other work shares the process (tests, inline grids).
    /// </summary>
    public bool ExclusiveProcess { get; init; }

    /// <summary>When cancelled the run checkpoints after the current step and returns early (<see cref="RunResult.Stopped"/>).</summary>
    public CancellationToken Stop { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory))
            throw new ArgumentException("OutputDirectory must name a folder.", nameof(OutputDirectory));
        Guard.AtLeast(LogEvery, 1, nameof(LogEvery));
        Guard.AtLeast(CheckpointEvery, 0, nameof(CheckpointEvery));
        if (StopAtStep is long s) Guard.AtLeast(s, 1, nameof(StopAtStep));
    }
}
