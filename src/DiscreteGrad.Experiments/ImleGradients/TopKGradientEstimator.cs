using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>
/// One gradient estimate of E_{z ~ p_theta}[||z - b||^2] at a single theta [n] by each method of <see cref="GradientMethod"/>,
/// through the library's layers: <see cref="ImleLayer"/> on <see cref="TopKSolver"/> (Sum-of-Gamma(k, 10) noise at
/// temperature 1 for input and target, S samples stacked, the gradient is the mean of the S per-sample estimates),
/// <see cref="StraightThroughMapLayer"/>, <see cref="ScoreFunctionMap"/>, and the exact-sampling score function on
/// <see cref="KSubsetFamily"/>. Float64 throughout.
/// </summary>
public sealed class TopKGradientEstimator
{
    private readonly KSubsetFamily _family;
    private readonly TopKSolver _solver;
    private readonly ImleNoise _noise;

    /// <summary>Creates the estimator for the family's n and k.</summary>
    public TopKGradientEstimator(KSubsetFamily family)
    {
        _family = family ?? throw new ArgumentNullException(nameof(family));
        _solver = new TopKSolver(family.K);
        _noise = ImleNoise.SumOfGamma(family.K);
    }

    /// <summary>The noise of the perturb-and-MAP samples: Sum-of-Gamma(k, s = 10).</summary>
    public ImleNoise Noise => _noise;

    /// <summary>
    /// The estimate g [n] of grad_theta E[L] by <paramref name="method"/> with <paramref name="samples"/> samples.
    /// </summary>
    /// <param name="method">The estimator (<see cref="GradientMethod.Exact"/> returns the exact gradient).</param>
    /// <param name="theta">The parameters [n].</param>
    /// <param name="b">The loss target [n].</param>
    /// <param name="samples">Samples S &gt;= 1 (the leave-one-out SFE uses max(2, S)).</param>
    /// <param name="lambda">Fixed lambda of I-MLE (ignored by the other methods).</param>
    /// <param name="adaptive">The stateful target of AIMLE (required by the AIMLE methods; updated by the call).</param>
    /// <param name="generator">Random source of the noise and of the exact samples.</param>
    public double[] Estimate(GradientMethod method, double[] theta, double[] b, int samples, double lambda,
        AdaptiveImleTarget? adaptive, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(theta);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(generator);
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples must be >= 1 (got {samples}).");
        int n = _family.N;
        switch (method)
        {
            case GradientMethod.Exact:
                return _family.ExpectedLoss(theta, b).Gradient;
            case GradientMethod.ScoreFunctionExact:
                return ScoreFunctionExact(theta, b, samples, generator);
        }
        using var scope = torch.NewDisposeScope();
        var th = KSubsetFamily.Owned(theta, new long[] { 1, n }).requires_grad_(true);
        var bt = KSubsetFamily.Owned(b, new long[] { 1, n });
        Tensor loss;
        if (method == GradientMethod.ScoreFunctionPam)
        {
            var sfe = new ScoreFunctionMap(_solver, _noise, 1.0, Math.Max(2, samples), false, generator);
            var z = sfe.Sample(th);
            var f = (z - bt).pow(2).sum(1);
            loss = sfe.Surrogate(th, z, f);
        }
        else
        {
            Tensor z;
            if (method == GradientMethod.StraightThrough)
                z = new StraightThroughMapLayer(_solver, _noise, 1.0, samples, generator: generator).forward(th);
            else
            {
                ImleTargetDistribution target = method switch
                {
                    GradientMethod.ImleForward or GradientMethod.ImleCentral => ImleTargetDistribution.Fixed(lambda),
                    GradientMethod.AimleForward or GradientMethod.AimleCentral =>
                        adaptive ?? throw new ArgumentNullException(nameof(adaptive), $"{method} needs an AdaptiveImleTarget."),
                    _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
                };
                var options = new ImleOptions
                {
                    Noise = _noise, Samples = samples, Target = target,
                    Difference = method is GradientMethod.ImleCentral or GradientMethod.AimleCentral ? FiniteDifference.Central : FiniteDifference.Forward,
                };
                z = new ImleLayer(_solver, options, generator).forward(th);
            }
            // Sum over the S stacked rows: each row's upstream gradient is 2 (z_s - b); the layers average the per-sample estimates.
            loss = (z - bt).pow(2).sum();
        }
        loss.backward();
        return th.grad!.reshape(n).data<double>().ToArray();
    }

    /// <summary>(1/S) sum_s L(z_s) (z_s - mu(theta)) with z_s exact samples of p_theta (the reference's SFE, no baseline).</summary>
    private double[] ScoreFunctionExact(double[] theta, double[] b, int samples, Generator generator)
    {
        int n = _family.N;
        var mu = _family.Marginals(theta);
        using var z = _family.Sample(theta, samples, generator);
        var zs = z.data<double>().ToArray();
        var g = new double[n];
        for (int s = 0; s < samples; s++)
        {
            double l = 0;
            for (int i = 0; i < n; i++) l += (zs[s * n + i] - b[i]) * (zs[s * n + i] - b[i]);
            for (int i = 0; i < n; i++) g[i] += l * (zs[s * n + i] - mu[i]) / samples;
        }
        return g;
    }

    /// <summary>Cosine similarity a.b / (|a| |b|); 0 when either vector is zero (an all-zero estimate carries no direction).</summary>
    public static double Cosine(double[] a, double[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length != b.Length) throw new ArgumentException("a and b must have the same length.", nameof(b));
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        return aa == 0 || bb == 0 ? 0 : ab / Math.Sqrt(aa * bb);
    }
}
