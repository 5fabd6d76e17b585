namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// Where and how one run executes, passed to the experiment instead of being process-wide state: libtorch threads,
/// solver parallelism, the finite-logits check, the device, the run's folder, checkpoint cadence, resume, a stop token
/// (SIGTERM: checkpoint and exit) and a log.
/// </summary>
public sealed record RunContext
{
    /// <summary>libtorch intra-op threads of the run (and the solvers' worker threads).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>"cpu" or "cuda[:N]".</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Whether estimators check their logits for NaN and infinity.</summary>
    public bool CheckFinite { get; init; } = true;
    /// <summary>The run's folder (metrics, checkpoints, summary).</summary>
    public string OutputDirectory { get; init; } = "";
    /// <summary>Checkpoint every this many steps (0: only at the end; null: the experiment's default).</summary>
    public long? CheckpointEvery { get; init; }
    /// <summary>Continue from the latest checkpoint in <see cref="OutputDirectory"/>.</summary>
    public bool Resume { get; init; }
    /// <summary>Settings allowed to differ from the checkpoint's configuration on resume (option names).</summary>
    public IReadOnlySet<string> ResumeOverrides { get; init; } = new HashSet<string>();
    /// <summary>Canonical settings of the run (option name -> text): its configuration fingerprint.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
    /// <summary>The command line that made the grid (for reports).</summary>
    public string Command { get; init; } = "";
    /// <summary>Cancelled when the run must stop early (SIGTERM, Ctrl+C): it checkpoints and returns.</summary>
    public CancellationToken Stop { get; init; }
    /// <summary>Progress of the run.</summary>
    public IRunObserver? Observer { get; init; }
    /// <summary>Whether the run has its process to itself (<c>run-cell</c>), so process-wide measurements and settings
    /// (its peak resident memory, the allocator's thresholds, no-GC regions) are the run's own; false for cells run inside another
    /// process (inline grids, tests).</summary>
    public bool OwnsProcess { get; init; }
    /// <summary>Informational messages (data downloads and the like).</summary>
    public Action<string> Log { get; init; } = _ => { };

    /// <summary>The device as a TorchSharp device (validated: cuda needs a CUDA build of libtorch).</summary>
    public TorchSharp.torch.Device TorchDevice
    {
        get
        {
            if (Device.StartsWith("cuda", StringComparison.Ordinal) && !TorchSharp.torch.cuda.is_available())
                throw new SettingException("--device", $"--device {Device}: CUDA is not available (this libtorch is a CPU build); use --device cpu.");
            return TorchSharp.torch.device(Device);
        }
    }

    /// <summary>The runner options of this context for a training task.</summary>
    public RunnerOptions ToRunnerOptions(long logEvery, long defaultCheckpointEvery) => new(OutputDirectory, LogEvery: logEvery,
        CheckpointEvery: CheckpointEvery ?? defaultCheckpointEvery, Resume: Resume, Command: Command)
    {
        Settings = Settings,
        ResumeOverrides = ResumeOverrides,
        Stop = Stop,
        ExclusiveProcess = OwnsProcess,
    };
}
