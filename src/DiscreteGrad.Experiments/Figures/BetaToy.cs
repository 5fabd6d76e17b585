using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>
/// Settings of the beta-vs-tau toy of the DCCG paper (Figure 2): y = softmax((theta + eps) / tau), eps ~ Gumbel(0, beta),
/// theta in R^2, loss = cross-entropy between y and the constant target (1, 0), i.e. -log y_1; plain SGD on theta. One
/// cell: every beta trains in it, from the same standard Gumbel draws.
/// </summary>
public sealed record BetaToyConfig : IValidatedConfig
{
    /// <summary>Gumbel scales compared (each &gt;= 0; 0 is the noise-free softmax), without repeats.</summary>
    [Setting("betas", "Gumbel scales beta.", Min = 0, Max = 1e3)]
    public double[] Betas { get; init; } = { 0.0, 0.5, 1.0, 2.0, 4.0 };

    /// <summary>Independent training runs per beta (rows of theta, each with its own noise).</summary>
    [Setting("runs", "Independent runs per beta.", Min = 1, Max = 100_000)]
    public int Runs { get; init; } = 128;

    /// <summary>SGD steps per run.</summary>
    [Setting("steps", "SGD steps.", Min = 1, Max = 10_000_000)]
    public int Steps { get; init; } = 2000;

    /// <summary>SGD learning rate.</summary>
    [Setting("lr", "SGD learning rate.", Min = 0, MinExclusive = true, Max = 1e3)]
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Gumbel-softmax temperature (fixed; 1 in the paper's toy).</summary>
    [Setting("tau", "Gumbel-softmax temperature.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 1.0;

    /// <summary>Initial theta = (theta_1, theta_2).</summary>
    public (double Theta1, double Theta2) Initial { get; init; } = (0.0, 0.0);

    /// <summary>Seed of the generator; every beta gets a fresh generator with this seed, so all betas see the same standard
    /// Gumbel draws, scaled by beta (common random numbers).</summary>
    [Setting("seed", "Seed of the random generator.", Min = 0, Max = int.MaxValue)]
    public ulong Seed { get; init; }

    /// <summary>Checks what the settings' ranges do not: at least one beta, none twice, a finite initial theta.</summary>
    public void Validate()
    {
        FigureOutput.CheckList(Betas, nameof(Betas));
        if (!double.IsFinite(Initial.Theta1) || !double.IsFinite(Initial.Theta2))
            throw new ArgumentException("the initial theta must be finite.", nameof(Initial));
    }
}

/// <summary>
/// The recorded training of one beta: per run r and step t (before the update of step t, t = 0 .. Steps - 1) the gradient
/// magnitude |dL/dtheta|, theta_1 - theta_2 and the noise-free probability of class 1, softmax(theta / tau)_1.
/// </summary>
/// <param name="Beta">The Gumbel scale.</param>
/// <param name="GradNorm">[runs, steps]: Euclidean norm of dL/dtheta of the run at the step.</param>
/// <param name="ThetaGap">[runs, steps]: theta_1 - theta_2 at the step.</param>
/// <param name="Prob1">[runs, steps]: softmax(theta / tau)_1 at the step.</param>
public sealed record BetaToyTrace(double Beta, double[,] GradNorm, double[,] ThetaGap, double[,] Prob1)
{
    /// <summary>Number of runs.</summary>
    public int Runs => GradNorm.GetLength(0);

    /// <summary>Number of steps.</summary>
    public int Steps => GradNorm.GetLength(1);
}

/// <summary>Summary of one beta over two windows of steps: mean over the window per run, then mean and std over runs.</summary>
/// <param name="Beta">The Gumbel scale.</param>
/// <param name="EarlyGradMean">|dL/dtheta| in the early window: mean over runs.</param>
/// <param name="EarlyGradStd">|dL/dtheta| in the early window: std over runs.</param>
/// <param name="LateGradMean">|dL/dtheta| in the late window: mean over runs.</param>
/// <param name="LateGradStd">|dL/dtheta| in the late window: std over runs.</param>
/// <param name="EarlyProb1Mean">softmax(theta)_1 at the end of the early window: mean over runs.</param>
/// <param name="EarlyProb1Std">softmax(theta)_1 at the end of the early window: std over runs.</param>
/// <param name="FinalGapMean">theta_1 - theta_2 at the last step: mean over runs.</param>
/// <param name="FinalGapStd">theta_1 - theta_2 at the last step: std over runs.</param>
/// <param name="FinalProb1Mean">softmax(theta)_1 at the last step: mean over runs.</param>
public sealed record BetaToySummary(double Beta, double EarlyGradMean, double EarlyGradStd, double LateGradMean, double LateGradStd,
    double EarlyProb1Mean, double EarlyProb1Std, double FinalGapMean, double FinalGapStd, double FinalProb1Mean);

/// <summary>The beta-vs-tau toy of the DCCG paper (Figure 2).</summary>
public static class BetaToy
{
    /// <summary>
    /// The toy's loss for each row of <paramref name="theta"/> [R, 2]: -log y_1 with y = GumbelSoftmax(theta, tau, beta)
    /// (<see cref="discrete.functional.gumbel_softmax"/>); returns the per-row losses [R]. Their sum's gradient with respect to row r
    /// is that row's dL/dtheta = (y - (1, 0)) / tau.
    /// </summary>
    /// <param name="theta">Logits [R, 2], float64.</param>
    /// <param name="tau">Temperature.</param>
    /// <param name="beta">Gumbel scale.</param>
    /// <param name="generator">Source of the Gumbel noise.</param>
    public static Tensor Loss(Tensor theta, double tau, double beta, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(theta);
        if (theta.dim() != 2 || theta.shape[1] != 2)
            throw new ArgumentException($"theta must have shape [R, 2] (got [{string.Join(", ", theta.shape)}]).", nameof(theta));
        using var scope = torch.NewDisposeScope();
        var y = discrete.functional.gumbel_softmax(theta, tau, hard: false, beta: beta, generator: generator);
        var loss = y.select(1, 0).log().neg();
        return scope.MoveToOuter(loss);
    }

    /// <summary>
    /// One gradient of the toy for each row of <paramref name="theta"/> [R, 2] (by autograd through
    /// <see cref="Loss"/>); returns dL/dtheta [R, 2] without gradient history.
    /// </summary>
    public static Tensor Gradient(Tensor theta, double tau, double beta, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(theta);
        using var scope = torch.NewDisposeScope();
        var leaf = theta.detach().clone().requires_grad_(true);
        var loss = Loss(leaf, tau, beta, generator).sum();
        var grad = torch.autograd.grad(new[] { loss }, new[] { leaf })[0];
        return scope.MoveToOuter(grad.detach());
    }

    /// <summary>Trains theta with SGD for every beta of the configuration and records the traces (CPU, float64).</summary>
    public static IReadOnlyList<BetaToyTrace> Run(BetaToyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config.Betas.Select(b => RunOne(config, b)).ToArray();
    }

    private static BetaToyTrace RunOne(BetaToyConfig config, double beta)
    {
        int runs = config.Runs, steps = config.Steps;
        var gradNorm = new double[runs, steps];
        var gap = new double[runs, steps];
        var prob1 = new double[runs, steps];
        using var generator = new Generator(config.Seed);
        var init = torch.tensor(new[] { config.Initial.Theta1, config.Initial.Theta2 }, dtype: ScalarType.Float64);
        var theta = init.unsqueeze(0).expand(runs, 2).clone();
        init.Dispose();
        try
        {
            for (int t = 0; t < steps; t++)
            {
                using var scope = torch.NewDisposeScope();
                var grad = Gradient(theta, config.Tau, beta, generator);
                var norms = grad.pow(2).sum(dim: 1).sqrt().data<double>().ToArray();
                var gaps = (theta.select(1, 0) - theta.select(1, 1)).data<double>().ToArray();
                var p1 = (theta / config.Tau).softmax(-1).select(1, 0).contiguous().data<double>().ToArray();
                for (int r = 0; r < runs; r++)
                {
                    gradNorm[r, t] = norms[r];
                    gap[r, t] = gaps[r];
                    prob1[r, t] = p1[r];
                }
                theta.sub_(grad.mul(config.LearningRate));
            }
        }
        finally
        {
            theta.Dispose();
        }
        return new BetaToyTrace(beta, gradNorm, gap, prob1);
    }

    /// <summary>
    /// Per-beta summary: the early window is steps [0, w), the late window the last w steps, w = max(1, Steps / 10);
    /// a run's value in a window is its mean over the window's steps.
    /// </summary>
    public static BetaToySummary Summarize(BetaToyTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        int n = trace.Steps, w = Window(n);
        var early = RunMeans(trace.GradNorm, 0, w);
        var late = RunMeans(trace.GradNorm, n - w, n);
        var earlyP = Column(trace.Prob1, w - 1);
        var finalGap = Column(trace.ThetaGap, n - 1);
        var finalP = Column(trace.Prob1, n - 1);
        return new BetaToySummary(trace.Beta,
            Reporting.Statistics.Mean(early), Reporting.Statistics.SampleStd(early),
            Reporting.Statistics.Mean(late), Reporting.Statistics.SampleStd(late),
            Reporting.Statistics.Mean(earlyP), Reporting.Statistics.SampleStd(earlyP),
            Reporting.Statistics.Mean(finalGap), Reporting.Statistics.SampleStd(finalGap),
            Reporting.Statistics.Mean(finalP));
    }

    /// <summary>Length of the early and late windows of <see cref="Summarize"/>: max(1, steps / 10).</summary>
    public static int Window(int steps) => Math.Max(1, steps / 10);

    /// <summary>Per step: mean and sample std over runs of <paramref name="values"/> [runs, steps].</summary>
    public static (double[] Mean, double[] Std) OverRuns(double[,] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int runs = values.GetLength(0), steps = values.GetLength(1);
        var mean = new double[steps];
        var std = new double[steps];
        var column = new double[runs];
        for (int t = 0; t < steps; t++)
        {
            for (int r = 0; r < runs; r++) column[r] = values[r, t];
            mean[t] = Reporting.Statistics.Mean(column);
            std[t] = Reporting.Statistics.SampleStd(column);
        }
        return (mean, std);
    }

    private static double[] RunMeans(double[,] values, int from, int to)
    {
        int runs = values.GetLength(0);
        var result = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            double s = 0;
            for (int t = from; t < to; t++) s += values[r, t];
            result[r] = s / (to - from);
        }
        return result;
    }

    private static double[] Column(double[,] values, int t)
    {
        var result = new double[values.GetLength(0)];
        for (int r = 0; r < result.Length; r++) result[r] = values[r, t];
        return result;
    }
}
