using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Diagnostics;

/// <summary>
/// Bias and variance of a pathwise estimator on f(z) over N independent categoricals with logits [N, K].
/// <para>For ST, ReinMax, GST and ZGR, whose only randomness is the sample D, E_D[g_hat] = sum_D p(D) g_hat(D) is computed
/// exactly by enumerating every joint sample. For Gumbel-softmax, STGS, GR-MCK and the decoupled forms (continuous noise)
/// it is a Monte Carlo mean with its standard error.</para>
/// The estimator is applied to the batch of states at once: the logits are replicated [S, N, K] as a leaf so one backward
/// pass gives every per-sample gradient.
/// </summary>
public static class EstimatorDiagnostics
{
    /// <summary>True when <see cref="ExpectedGradient"/> enumerates the sample for this estimator.</summary>
    public static bool IsEnumerable(EstimatorKind kind) => kind is EstimatorKind.StraightThrough or EstimatorKind.ReinMax
        or EstimatorKind.GappedStraightThrough or EstimatorKind.Zgr;

    /// <summary>The expected gradient of <paramref name="kind"/> for E[f], exactly where possible.</summary>
    /// <param name="logits">theta [N, K], any floating dtype: the estimator runs on a float64 copy, so f receives float64
    /// tensors and the results (<see cref="GradientEstimate.Mean"/>, <see cref="GradientEstimate.StandardError"/>) are
    /// float64 whatever the logits' dtype (float32 logits give the float64 numbers of their values).</param>
    /// <param name="f">[S, N, K] (the estimator's output per sample, float64) to [S].</param>
    /// <param name="kind">Estimator.</param>
    /// <param name="options">Its hyperparameters.</param>
    /// <param name="monteCarloSamples">Number of estimates averaged when the expectation cannot be enumerated.</param>
    /// <param name="generator">Random source of the Monte Carlo draws.</param>
    /// <param name="batchSize">Estimates computed per backward pass.</param>
    public static GradientEstimate ExpectedGradient(Tensor logits, Func<Tensor, Tensor> f, EstimatorKind kind,
        EstimatorOptions? options = null, long monteCarloSamples = 10_000, Generator? generator = null, long batchSize = 2048)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(f);
        if (logits.dim() != 2)
            throw new ArgumentException($"logits must have shape [N, K] (got {logits.dim()} dimensions).", nameof(logits));
        Guard.CategoricalLogits(logits);
        Guard.AtLeast(monteCarloSamples, 2, nameof(monteCarloSamples));
        Guard.AtLeast(batchSize, 1, nameof(batchSize));
        using var scope = torch.NewDisposeScope();
        var theta = logits.detach().to(ScalarType.Float64);
        GradientEstimate r = IsEnumerable(kind) ? Enumerated(theta, f, kind, options) : MonteCarlo(theta, f, kind, options, monteCarloSamples, generator, batchSize);
        return new GradientEstimate(scope.MoveToOuter(r.Mean), scope.MoveToOuter(r.StandardError), r.Variance, r.Samples, r.Exact);
    }

    /// <summary>Compares an expected gradient with the exact one.</summary>
    public static BiasReport Compare(GradientEstimate estimate, Tensor exactGradient)
    {
        using var scope = torch.NewDisposeScope();
        var a = estimate.Mean.to(ScalarType.Float64).flatten();
        var b = exactGradient.to(ScalarType.Float64).flatten();
        double nb = b.norm().item<double>();
        double na = a.norm().item<double>();
        double cos = na == 0 || nb == 0 ? double.NaN : (a.dot(b).item<double>() / (na * nb));
        double rel = nb == 0 ? double.NaN : (a - b).norm().item<double>() / nb;
        double se = estimate.StandardError.numel() == 0 ? 0 : estimate.StandardError.max().item<double>();
        return new BiasReport(cos, rel, estimate.Variance, se, estimate.Exact);
    }

    /// <summary>Exact gradient, expected estimator gradient and their comparison in one call (float64 inside for any
    /// floating dtype of <paramref name="logits"/>).</summary>
    public static BiasReport Analyse(Tensor logits, Func<Tensor, Tensor> f, EstimatorKind kind, EstimatorOptions? options = null,
        long monteCarloSamples = 10_000, Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        var exact = Enumeration.Exact(logits.to(ScalarType.Float64), f);
        var est = ExpectedGradient(logits, f, kind, options, monteCarloSamples, generator);
        return Compare(est, exact.Gradient);
    }

    private static GradientEstimate Enumerated(Tensor theta, Func<Tensor, Tensor> f, EstimatorKind kind, EstimatorOptions? options)
    {
        long n = theta.shape[0], k = theta.shape[1];
        var states = Enumeration.JointStates(n, k, theta.dtype, theta.device);
        long s = states.shape[0];
        var p = Enumeration.LogProbabilities(theta, states).exp();                      // [S]
        var leaf = theta.unsqueeze(0).expand(s, n, k).clone().requires_grad_(true);
        var value = Categorical.Sample(leaf, kind, options, sample: states).Value;
        var grads = PerSampleGradients(leaf, f(value));                                  // [S, N, K]
        var pw = p.view(s, 1, 1);
        var mean = (pw * grads).sum(dim: 0);
        double variance = (pw * (grads - mean).pow(2)).sum().item<double>();
        return new GradientEstimate(mean, torch.zeros_like(mean), variance, s, true);
    }

    private static GradientEstimate MonteCarlo(Tensor theta, Func<Tensor, Tensor> f, EstimatorKind kind, EstimatorOptions? options,
        long m, Generator? generator, long batchSize)
    {
        long n = theta.shape[0], k = theta.shape[1];
        var sum = torch.zeros_like(theta);
        var sumSq = torch.zeros_like(theta);
        for (long done = 0; done < m; done += batchSize)
        {
            using var inner = torch.NewDisposeScope();
            long b = Math.Min(batchSize, m - done);
            var leaf = theta.unsqueeze(0).expand(b, n, k).clone().requires_grad_(true);
            var value = Categorical.Sample(leaf, kind, options, generator: generator).Value;
            var grads = PerSampleGradients(leaf, f(value));
            sum.add_(grads.sum(dim: 0));
            sumSq.add_(grads.pow(2).sum(dim: 0));
        }
        var mean = sum / m;
        var varPerCoord = ((sumSq / m) - mean.pow(2)).clamp_min(0) * ((double)m / (m - 1));
        var se = (varPerCoord / m).sqrt();
        return new GradientEstimate(mean, se, varPerCoord.sum().item<double>(), m, false);
    }

    private static Tensor PerSampleGradients(Tensor leaf, Tensor values)
    {
        if (values.dim() != 1 || values.shape[0] != leaf.shape[0])
            throw new ArgumentException($"f must return one value per sample, shape [{leaf.shape[0]}] (got [{string.Join(", ", values.shape)}]).", "f");
        return torch.autograd.grad(new[] { values.sum() }, new[] { leaf }, allow_unused: true)[0];
    }
}
