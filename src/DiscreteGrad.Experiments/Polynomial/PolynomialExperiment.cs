using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Reporting;
using TorchSharp;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>Receives progress from the runs of <see cref="PolynomialExperiment.Run"/>; called from worker threads, so
/// implementations must be thread-safe.</summary>
public interface IPolynomialProgress
{
    /// <summary>A run is about to start.</summary>
    void RunStarted(PolynomialRunSpec spec);

    /// <summary><paramref name="steps"/> more steps of the run are done.</summary>
    void StepsCompleted(PolynomialRunSpec spec, int steps);

    /// <summary>A run finished.</summary>
    void RunCompleted(PolynomialRunResult result);
}

/// <summary>Mean +- sample std over seeds of one (estimator, p) cell.</summary>
/// <param name="Estimator">The estimator.</param>
/// <param name="Power">p.</param>
/// <param name="Runs">Number of seeds.</param>
/// <param name="ExactMean">Mean final exact expected loss.</param>
/// <param name="ExactStd">Its sample std over seeds.</param>
/// <param name="TrainMean">Mean final training loss (mean of the last FinalWindow training losses).</param>
/// <param name="TrainStd">Its sample std over seeds.</param>
/// <param name="ExcessMean">Mean final E[f] - min f.</param>
/// <param name="ExcessStd">Its sample std over seeds.</param>
/// <param name="SecondsPerRun">Mean wall time of one run, in seconds.</param>
/// <param name="QMean">Mean over seeds of the final mean_i P(z_i = 1).</param>
/// <param name="QStd">Its sample std over seeds.</param>
public sealed record PolynomialSummaryRow(EstimatorKind Estimator, double Power, int Runs, double ExactMean, double ExactStd,
    double TrainMean, double TrainStd, double ExcessMean, double ExcessStd, double SecondsPerRun, double QMean, double QStd);

/// <summary>Everything the grid produced.</summary>
/// <param name="Config">The settings.</param>
/// <param name="Runs">One result per (estimator, p, seed), ordered by estimator, then p, then seed (independent of the
/// order in which the runs were executed).</param>
/// <param name="Summary">One row per (estimator, p), ordered by estimator, then p.</param>
/// <param name="WallTime">Wall time of the whole grid.</param>
public sealed record PolynomialResults(PolynomialConfig Config, IReadOnlyList<PolynomialRunResult> Runs,
    IReadOnlyList<PolynomialSummaryRow> Summary, TimeSpan WallTime)
{
    /// <summary>The 1, 5 and 15 minute load averages of the machine when the grid started (Linux /proc/loadavg), or null.
    /// Wall times are only comparable between runs on an otherwise idle machine.</summary>
    public string? LoadAverageAtStart { get; init; }

    /// <summary>The load averages when the grid finished, or null.</summary>
    public string? LoadAverageAtEnd { get; init; }

    /// <summary>The summary row of one cell.</summary>
    public PolynomialSummaryRow Cell(EstimatorKind estimator, double power)
        => Summary.Single(r => r.Estimator == estimator && r.Power == power);
}

/// <summary>Runs the whole (estimator x p x seed) grid of the polynomial-programming experiment.</summary>
public static class PolynomialExperiment
{
    /// <summary>Every run of the grid, ordered by estimator, then p, then seed.</summary>
    public static IReadOnlyList<PolynomialRunSpec> Grid(PolynomialConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return (from e in config.Estimators from p in config.Powers from s in config.SeedValues
                select new PolynomialRunSpec(e, p, s)).ToArray();
    }

    /// <summary>
    /// Runs the grid with up to <see cref="PolynomialConfig.Threads"/> runs in parallel. Every run uses one libtorch
    /// intra-op thread and its own seeded generator, so the results do not depend on the number of threads or on the
    /// execution order. Runs are handed out one at a time, the expensive GR-MCK runs first, to balance the load.
    /// </summary>
    /// <exception cref="PolynomialDivergenceException">A run's loss became NaN or infinite (the other runs are cancelled).</exception>
    public static PolynomialResults Run(PolynomialConfig config, IPolynomialProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.Device.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new ArgumentException("device cuda was requested but CUDA is not available in this libtorch build or machine.", "device");

        var grid = Grid(config);
        var results = new PolynomialRunResult[grid.Count];
        var order = Enumerable.Range(0, grid.Count).OrderByDescending(i => CostWeight(grid[i].Estimator, config)).ToArray();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? failure = null;
        var loadAtStart = LoadAverage();
        var sw = Stopwatch.StartNew();
        try
        {
            Parallel.ForEach(Partitioner.Create(order, EnumerablePartitionerOptions.NoBuffering), new ParallelOptions { MaxDegreeOfParallelism = config.Threads, CancellationToken = cts.Token }, i =>
            {
                torch.set_num_threads(1);
                var spec = grid[i];
                progress?.RunStarted(spec);
                try
                {
                    results[i] = PolynomialRunner.Run(config, spec, n => progress?.StepsCompleted(spec, n), cts.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Interlocked.CompareExchange(ref failure, ex, null);
                    cts.Cancel();
                    throw;
                }
                progress?.RunCompleted(results[i]);
            });
        }
        catch (Exception) when (failure is not null)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
        catch (AggregateException ae) when (ae.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Capture(ae.InnerExceptions[0]).Throw();
        }
        sw.Stop();
        return new PolynomialResults(config, results, Summarize(config, results), sw.Elapsed)
        {
            LoadAverageAtStart = loadAtStart,
            LoadAverageAtEnd = LoadAverage(),
        };
    }

    /// <summary>"l1 l5 l15" from /proc/loadavg, or null where it cannot be read.</summary>
    public static string? LoadAverage()
    {
        try
        {
            if (!File.Exists("/proc/loadavg")) return null;
            var parts = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 3 ? string.Join(" ", parts.Take(3)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Aggregates the runs into one row per (estimator, p): mean and sample std over seeds.</summary>
    public static IReadOnlyList<PolynomialSummaryRow> Summarize(PolynomialConfig config, IReadOnlyList<PolynomialRunResult> runs)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(runs);
        var rows = new List<PolynomialSummaryRow>();
        foreach (var e in config.Estimators)
        {
            foreach (var p in config.Powers)
            {
                var cell = runs.Where(r => r.Spec.Estimator == e && r.Spec.Power == p).ToArray();
                if (cell.Length == 0) continue;
                var exact = cell.Select(r => r.FinalExactLoss).ToArray();
                var train = cell.Select(r => r.FinalTrainLoss).ToArray();
                var excess = cell.Select(r => r.FinalExcessLoss).ToArray();
                var q = cell.Select(r => r.FinalMeanQ).ToArray();
                rows.Add(new PolynomialSummaryRow(e, p, cell.Length,
                    Statistics.Mean(exact), Statistics.SampleStd(exact),
                    Statistics.Mean(train), Statistics.SampleStd(train),
                    Statistics.Mean(excess), Statistics.SampleStd(excess),
                    cell.Average(r => r.Elapsed.TotalSeconds), Statistics.Mean(q), Statistics.SampleStd(q)));
            }
        }
        return rows;
    }

    /// <summary>Rough relative cost of one step, used only to start the expensive runs first.</summary>
    private static double CostWeight(EstimatorKind kind, PolynomialConfig config)
        => kind == EstimatorKind.GumbelRao ? 1.0 + config.GumbelRaoK / 4.0 : 1.0;
}
