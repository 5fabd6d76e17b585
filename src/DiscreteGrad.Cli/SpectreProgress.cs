using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Polynomial;
using Spectre.Console;

namespace DiscreteGrad.Cli;

/// <summary>Feeds the experiment's progress into Spectre.Console progress tasks: one for the whole grid and one per
/// estimator. Spectre's <see cref="ProgressTask"/> is thread-safe, so the workers may call this concurrently.</summary>
internal sealed class SpectreProgress : IPolynomialProgress
{
    private readonly ProgressTask _all;
    private readonly Dictionary<EstimatorKind, ProgressTask> _perEstimator;
    private int _runsDone;
    private readonly int _runs;

    public SpectreProgress(ProgressContext context, PolynomialConfig config)
    {
        _runs = config.Estimators.Count * config.Powers.Count * config.Seeds;
        _all = context.AddTask($"[bold]all runs[/] (0/{_runs})", maxValue: (double)_runs * config.Steps);
        _perEstimator = config.Estimators.ToDictionary(e => e,
            e => context.AddTask(Markup.Escape(EstimatorNames.Display(e)), autoStart: false, maxValue: (double)config.Powers.Count * config.Seeds * config.Steps));
    }

    public void RunStarted(PolynomialRunSpec spec)
    {
        var t = _perEstimator[spec.Estimator];
        if (!t.IsStarted) t.StartTask();
    }

    public void StepsCompleted(PolynomialRunSpec spec, int steps)
    {
        _perEstimator[spec.Estimator].Increment(steps);
        _all.Increment(steps);
    }

    public void RunCompleted(PolynomialRunResult result)
    {
        int done = Interlocked.Increment(ref _runsDone);
        _all.Description = $"[bold]all runs[/] ({done}/{_runs})";
    }
}
