using System.Diagnostics;
using DiscreteGrad.Estimators;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>One run of the grid: an estimator, a power p and a seed.</summary>
/// <param name="Estimator">The gradient estimator.</param>
/// <param name="Power">p.</param>
/// <param name="Seed">Seed of the run's generator (initialisation and every sample).</param>
public sealed record PolynomialRunSpec(EstimatorKind Estimator, double Power, int Seed);

/// <summary>A point of a learning curve.</summary>
/// <param name="Step">Number of Adam updates applied so far (0 = initialisation).</param>
/// <param name="TrainLoss">Loss of the batch drawn at this theta (the training loss of update Step + 1).</param>
/// <param name="ExactLoss">Exact E[f] at this theta.</param>
/// <param name="ExcessLoss">E[f] - min f at this theta, computed without cancellation.</param>
public sealed record PolynomialCurvePoint(int Step, double TrainLoss, double ExactLoss, double ExcessLoss);

/// <summary>Outcome of one run.</summary>
/// <param name="Spec">Which run.</param>
/// <param name="Curve">Points at steps 0, LogEvery, 2 LogEvery, ..., and the last step.</param>
/// <param name="FinalExactLoss">Exact E[f] at the final theta.</param>
/// <param name="FinalExcessLoss">E[f] - min f at the final theta.</param>
/// <param name="FinalTrainLoss">Mean training loss of the last <see cref="PolynomialConfig.FinalWindow"/> updates.</param>
/// <param name="FinalTheta">The final theta [N, 2], row-major, as float64 (exact copies of the stored values).</param>
/// <param name="Elapsed">Wall time of the run.</param>
public sealed record PolynomialRunResult(PolynomialRunSpec Spec, IReadOnlyList<PolynomialCurvePoint> Curve, double FinalExactLoss,
    double FinalExcessLoss, double FinalTrainLoss, double[] FinalTheta, TimeSpan Elapsed)
{
    /// <summary>Exact E[f] at the initial theta.</summary>
    public double InitialExactLoss => Curve[0].ExactLoss;

    /// <summary>mean_i P(z_i = 1) = mean_i softmax(theta_i)[0] at the final theta (0 at the optimum for c &lt; 1/2).</summary>
    public double FinalMeanQ => PolynomialObjective.MeanProbabilityOfOne(FinalTheta);
}

/// <summary>Thrown when a run's training loss becomes NaN or infinite.</summary>
public sealed class PolynomialDivergenceException : Exception
{
    /// <summary>Creates the exception for the given run, step and loss value.</summary>
    public PolynomialDivergenceException(PolynomialRunSpec spec, int step, double loss)
        : base($"non-finite training loss {loss} at step {step} ({EstimatorNames.Display(spec.Estimator)}, p = {spec.Power}, seed {spec.Seed}).")
    {
        Spec = spec;
        Step = step;
        Loss = loss;
    }

    /// <summary>The run that diverged.</summary>
    public PolynomialRunSpec Spec { get; }

    /// <summary>The step (number of updates applied before the offending forward pass).</summary>
    public int Step { get; }

    /// <summary>The non-finite loss value.</summary>
    public double Loss { get; }
}

/// <summary>Trains theta for one <see cref="PolynomialRunSpec"/>.</summary>
public static class PolynomialRunner
{
    /// <summary>
    /// Runs the training loop. theta [N, 2] starts U(-r, r) and each step expands it to [B, N, 2], draws
    /// <c>Categorical.Sample</c> with the run's estimator, takes z = value[..., 0], loss = mean_b (1/N) sum_i |z_i - c|^p and
    /// applies one Adam update. One <see cref="torch.Generator"/> seeded with the run's seed feeds the initialisation and
    /// every sample, so the same seed gives the same run. Each step runs inside its own dispose scope.
    /// </summary>
    /// <param name="config">Settings (validated here).</param>
    /// <param name="spec">Estimator, power and seed.</param>
    /// <param name="onSteps">Called with the number of newly completed steps (every LogEvery steps and at the end).</param>
    /// <param name="cancellationToken">Checked every step.</param>
    /// <exception cref="PolynomialDivergenceException">The training loss became NaN or infinite.</exception>
    public static PolynomialRunResult Run(PolynomialConfig config, PolynomialRunSpec spec, Action<int>? onSteps = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(spec);
        config.Validate();
        var sw = Stopwatch.StartNew();
        var device = torch.device(config.Device);
        double c = config.Target, p = spec.Power;
        int n = config.Dimension, steps = config.Steps, window = Math.Min(config.FinalWindow, steps);
        var options = config.EstimatorOptions;

        using var generator = new Generator((ulong)spec.Seed, device);
        Parameter theta;
        using (var init = torch.NewDisposeScope())
        {
            var u = torch.rand(new long[] { n, 2 }, dtype: config.DType, device: device, generator: generator);
            var t0 = u.mul(2 * config.InitRange).sub_(config.InitRange);
            theta = new Parameter(t0, requires_grad: true);
            init.MoveToOuter(theta);
        }
        using var thetaScope = theta;
        using var optimizer = torch.optim.Adam(new[] { theta }, config.LearningRate);

        var curve = new List<PolynomialCurvePoint>(steps / config.LogEvery + 2);
        double windowSum = 0;
        int reported = 0;
        for (int step = 0; step <= steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var logits = theta.unsqueeze(0).expand(config.Batch, n, 2);
            var sample = Categorical.Sample(logits, spec.Estimator, options, generator);
            var z = sample.Value.select(-1, 0);
            var loss = PolynomialObjective.Loss(z, c, p);
            double lossValue = loss.ToDouble();
            if (!double.IsFinite(lossValue)) throw new PolynomialDivergenceException(spec, step, lossValue);

            if (step % config.LogEvery == 0 || step == steps)
            {
                curve.Add(new PolynomialCurvePoint(step, lossValue,
                    PolynomialObjective.ExpectedLoss(theta, c, p), PolynomialObjective.ExpectedExcessLoss(theta, c, p)));
            }
            if (step == steps) break;                      // the last forward pass only evaluates the final theta
            if (step >= steps - window) windowSum += lossValue;

            optimizer.zero_grad();
            loss.backward();
            optimizer.step();

            int done = step + 1;
            if (onSteps is not null && (done % config.LogEvery == 0 || done == steps))
            {
                onSteps(done - reported);
                reported = done;
            }
        }

        double finalExact = PolynomialObjective.ExpectedLoss(theta, c, p);
        double finalExcess = PolynomialObjective.ExpectedExcessLoss(theta, c, p);
        double[] finalTheta;
        using (var s = torch.NewDisposeScope())
            finalTheta = theta.detach().to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
        sw.Stop();
        return new PolynomialRunResult(spec, curve, finalExact, finalExcess, windowSum / window, finalTheta, sw.Elapsed);
    }
}
