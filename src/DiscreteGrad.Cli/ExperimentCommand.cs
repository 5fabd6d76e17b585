using System.CommandLine;
using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using Spectre.Console;

namespace DiscreteGrad.Cli;

/// <summary>
/// The command of an experiment: one option per setting of its configuration record (the same parser and limits as its
/// <c>--config</c> keys), the shared options defined once here, and a call of the <see cref="GridRunner"/>. Nothing else.
/// </summary>
internal static class ExperimentCommand
{
    /// <summary>The shared options, one meaning each.</summary>
    internal sealed class Shared
    {
        public readonly Option<string?> Out = new("--out") { Description = "Folder of the grid: one sub-folder per cell, the report (default runs/NAME)." };
        public readonly Option<int?> Jobs = new("--jobs", "--parallel") { Description = "Cells run at once, each in its own process (default: as many as the cores allow)." };
        public readonly Option<int?> Threads = new("--threads") { Description = "libtorch threads per cell, at most the core count (default: the cores divided by --jobs)." };
        public readonly Option<string> Device = new("--device") { Description = "cpu or cuda.", DefaultValueFactory = _ => "cpu" };
        public readonly Option<bool> Resume = new("--resume") { Description = "Continue the grid in --out: finished cells are kept, the others resume from their checkpoints." };
        public readonly Option<string?> ResumeOverride = new("--resume-override") { Description = "Comma list of settings allowed to differ from the checkpoints on --resume (e.g. epochs,lr)." };
        public readonly Option<long?> CheckpointEvery = new("--checkpoint-every") { Description = "Checkpoint every this many steps (0: only at the end; default: the experiment's)." };
        public readonly Option<string?> Docs = new("--docs") { Description = "Also write the markdown report to this path, its plots beside it (default: only into --out)." };
        public readonly Option<string?> Note = new("--note") { Description = "Text placed near the top of the report." };
        public readonly Option<string?> Config = new("--config") { Description = "JSON file of settings (keys as the options, without dashes); options on the command line override it." };
        public readonly Option<string> Backend = new("--backend") { Description = "local (a process per cell), slurm (an sbatch array) or inline (in this process, one cell after another).", DefaultValueFactory = _ => "local" };
        public readonly SlurmCommandOptions Slurm = new();

        public Shared()
        {
            Device.AcceptOnlyFromAmong("cpu", "cuda");
            Backend.AcceptOnlyFromAmong("local", "slurm", "inline");
            Jobs.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1 or > 256) r.AddError("--jobs must be an integer in [1, 256]."); });
            Threads.Validators.Add(r => { if (r.GetValueOrDefault<int?>() is < 1) r.AddError($"--threads must be in [1, {Environment.ProcessorCount}] (this machine has {Environment.ProcessorCount} cores)."); });
            CheckpointEvery.Validators.Add(r => { if (r.GetValueOrDefault<long?>() is < 0) r.AddError("--checkpoint-every must be >= 0."); });
        }

        public IEnumerable<Option> All => new Option[] { Out, Jobs, Threads, Device, Resume, ResumeOverride, CheckpointEvery, Docs, Note, Config, Backend }.Concat(Slurm.All);
    }

    /// <summary>Builds the command of <paramref name="experiment"/>.</summary>
    public static Command Create(IExperiment experiment, string[] args)
    {
        var shared = new Shared();
        var command = new Command(experiment.Name, experiment.Description);
        var settingOptions = new List<(SettingSpec Spec, Option Option)>();
        foreach (var spec in experiment.Settings)
        {
            Option o;
            if (spec.ElementType == typeof(bool) && !spec.IsAxis && !spec.IsArray)
                o = new Option<bool>(spec.Option) { Description = spec.Help, Hidden = spec.Attribute.Hidden };
            else
            {
                var so = new Option<string>(spec.Option) { Description = spec.Help, Hidden = spec.Attribute.Hidden, HelpName = spec.IsAxis || spec.IsArray ? "LIST" : "VALUE" };
                var s = spec;
                so.Validators.Add(r =>
                {
                    if (r.Tokens.Count == 0) return;
                    try
                    {
                        s.ParseList(string.Join(" ", r.Tokens.Select(t => t.Value)));
                    }
                    catch (ArgumentException e)
                    {
                        r.AddError(e.Message);
                    }
                });
                o = so;
            }
            settingOptions.Add((spec, o));
            command.Options.Add(o);
        }
        foreach (var o in shared.All) command.Options.Add(o);
        command.SetAction(CommandErrors.Guarded(pr => Run(experiment, pr, shared, settingOptions, args), pr => pr.GetValue(shared.Out)));
        return command;
    }

    private static int Run(IExperiment experiment, ParseResult pr, Shared shared, List<(SettingSpec Spec, Option Option)> settingOptions, string[] args)
    {
        var given = new Dictionary<string, string>();
        foreach (var (spec, option) in settingOptions)
        {
            if (pr.GetResult(option) is not { Implicit: false } optionResult) continue;
            given[spec.Name] = option is Option<bool> b ? (pr.GetValue(b) ? "true" : "false") : string.Join(" ", optionResult.Tokens.Select(t => t.Value));
        }
        var cells = experiment.Plan(given, pr.GetValue(shared.Config));
        foreach (var why in experiment.Exclusions(given, pr.GetValue(shared.Config)))
            AnsiConsole.MarkupLine($"[yellow]left out:[/] {Markup.Escape(why)}");
        string backendName = pr.GetValue(shared.Backend)!;
        int cores = Environment.ProcessorCount;
        int? jobsGiven = pr.GetValue(shared.Jobs), threadsGiven = pr.GetValue(shared.Threads);
        if (backendName != "slurm" && threadsGiven > cores)
            throw new SettingException("--threads", $"--threads must be in [1, {cores}]: this machine has {cores} cores (got {threadsGiven}; run cells side by side with --jobs instead).");
        int jobs = jobsGiven ?? Math.Max(1, Math.Min(cells.Count, cores / Math.Max(1, threadsGiven ?? 1)));
        int threads = threadsGiven ?? (backendName == "slurm" ? pr.GetValue(shared.Slurm.Cpus) ?? 1 : Math.Max(1, cores / Math.Min(jobs, cells.Count)));
        string outDir = pr.GetValue(shared.Out) ?? Path.Combine("runs", experiment.Name);
        var overrides = (pr.GetValue(shared.ResumeOverride) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var key in overrides)
            if (experiment.Settings.All(s => s.Name != key))
                throw new SettingException("--resume-override", $"--resume-override: unknown setting '{key}'; allowed: {string.Join(", ", experiment.Settings.Select(s => s.Name))}.");
        var options = new GridOptions(outDir, CommandLine.Of(args), jobs, threads, pr.GetValue(shared.Device)!, pr.GetValue(shared.Resume), overrides,
            pr.GetValue(shared.CheckpointEvery), backendName == "slurm" ? null : cores);
        if (backendName != "slurm" && options.Device.StartsWith("cuda", StringComparison.Ordinal) && !TorchSharp.torch.cuda.is_available())
            throw new SettingException("--device", $"--device {options.Device}: CUDA is not available here (this libtorch is a CPU build); use --device cpu.");
        IGridBackend backend = backendName switch
        {
            "slurm" => shared.Slurm.Backend(pr, CellLauncher.Current()),
            "inline" => new InProcessBackend(ExperimentCatalog.All, setsThreads: true),
            _ => new LocalProcessBackend(jobs, CellLauncher.Current()),
        };
        using var prepared = GridRunner.Prepare(experiment, cells, options);   // every refusal happens here, before any output
        AnsiConsole.MarkupLine($"[grey]{Markup.Escape(experiment.Name)}: {cells.Count} cell(s) ({prepared.Todo.Count} to run), {jobs} at once, {threads} libtorch thread(s) each, into {Markup.Escape(outDir)}[/]");
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        (GridLaunch launch, IReadOnlyList<CellOutcome> outcomes) result = default;
        if (backendName == "slurm")
            result = prepared.Launch(backend, null, cancel.Token);
        else if (Console.IsOutputRedirected)
            // A file or a pipe: plain lines (a bar redrawn in place cannot be shown there), the last of each cell its end.
            result = prepared.Launch(backend, new GridProgressLog(Console.Out, cells.Count), cancel.Token);
        else
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var progress = new GridProgressBars(ctx, cells);
                    result = prepared.Launch(backend, progress, cancel.Token);
                    progress.Finish();
                });
        if (result.launch is null || !result.launch.Completed)
        {
            // Plain text, never wrapped: a dry run prints the whole array script, to be read or copied as it is.
            Console.Out.WriteLine(result.launch?.Message ?? "submitted");
            AnsiConsole.MarkupLine($"Follow it with [bold]discretegrad status {Markup.Escape(outDir)}[/]; aggregate with [bold]discretegrad report {Markup.Escape(outDir)}[/].");
            return 0;
        }
        return ReportCommand.Print(experiment, outDir, pr.GetValue(shared.Docs), pr.GetValue(shared.Note));
    }

    /// <summary>
    /// One progress bar per cell on a terminal, moved from the cells' status files; a finished cell (also one that had
    /// finished before a resume) shows 100% and its final evaluation.
    /// </summary>
    private sealed class GridProgressBars : IGridProgress
    {
        private readonly Dictionary<int, ProgressTask> _tasks;
        private readonly Dictionary<int, string> _labels;

        public GridProgressBars(ProgressContext ctx, IReadOnlyList<GridCell> cells)
        {
            _labels = cells.ToDictionary(c => c.Index, c => c.Label);
            _tasks = cells.ToDictionary(c => c.Index, c => ctx.AddTask(Markup.Escape(c.Label), autoStart: false));
        }

        public void Update(GridCell cell, CellStatus status)
        {
            var t = _tasks[cell.Index];
            if (status.State == "pending") return;
            if (!t.IsStarted) t.StartTask();
            if (status.TotalSteps > 0)
            {
                t.MaxValue = status.TotalSteps;
                t.Value = status.Steps;
            }
            string extra = status.State switch
            {
                "failed" => "  [red]failed[/]",
                "preempted" => "  [yellow]stopped (checkpoint kept)[/]",
                _ => status.Message is { Length: > 0 } m ? "  " + Markup.Escape(m) : "",
            };
            t.Description = Markup.Escape(_labels[cell.Index]) + extra;
            if (status.State is "done")
            {
                t.Value = t.MaxValue;
                t.StopTask();
            }
            else if (status.State is "failed" or "preempted") t.StopTask();
        }

        public void Finish()
        {
            foreach (var t in _tasks.Values) if (!t.IsFinished) t.StopTask();
        }
    }
}

/// <summary>The command line as typed, for reports: the launcher (DISCRETEGRAD_LAUNCHER, set by ./discretegrad) and the arguments.</summary>
internal static class CommandLine
{
    public static string Of(string[] args)
    {
        var launcher = Environment.GetEnvironmentVariable("DISCRETEGRAD_LAUNCHER");
        if (string.IsNullOrWhiteSpace(launcher)) launcher = "discretegrad";
        return string.Join(" ", new[] { launcher }.Concat(args.Select(CellLauncher.Quote)));
    }
}
