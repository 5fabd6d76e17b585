using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>
/// One gradient estimate of E_{z ~ p_theta}[||z - b||^2] at a single theta [n] by each method of <see cref="GradientMethod"/>,
/// through the library's layers: <see cref="ImleLayer"/> on <see cref="TensorTopKSolver"/> (the given noise, Gumbel(0, 1)
/// or Sum-of-Gamma(k, 10), at temperature 1 for input and target, S samples stacked, the gradient is the mean of the S
/// per-sample estimates), <see cref="StraightThroughMapLayer"/>, <see cref="ScoreFunctionMap"/>,
/// <see cref="SimpleKSubsetLayer"/> (exact samples, no noise) and the exact-sampling score function on
/// <see cref="KSubsetFamily"/>. Float64 throughout.
/// </summary>
public sealed class TopKGradientEstimator
{
    private readonly KSubsetFamily _family;
    private readonly TensorTopKSolver _solver;
    private readonly ImleNoise _noise;

    /// <summary>Creates the estimator for the family's n and k.</summary>
    /// <param name="family">The enumerated family (n, k, exact marginals and samples).</param>
    /// <param name="noise">Noise of the perturb-and-MAP estimators (null: Sum-of-Gamma(k, 10 terms)).</param>
    public TopKGradientEstimator(KSubsetFamily family, ImleNoise? noise = null)
    {
        _family = family ?? throw new ArgumentNullException(nameof(family));
        _solver = new TensorTopKSolver(family.K);
        _noise = noise ?? ImleNoise.SumOfGamma(family.K);
    }

    /// <summary>The noise of the perturb-and-MAP samples.</summary>
    public ImleNoise Noise => _noise;

    /// <summary>
    /// The estimate g [n] of grad_theta E[L] by <paramref name="method"/> with <paramref name="samples"/> samples.
    /// </summary>
    /// <param name="method">The estimator (<see cref="GradientMethod.Exact"/> returns the exact gradient).</param>
    /// <param name="theta">The parameters [n].</param>
    /// <param name="b">The loss target [n].</param>
    /// <param name="samples">Samples S &gt;= 1 (the leave-one-out SFE uses max(2, S)).</param>
    /// <param name="lambda">Fixed lambda of I-MLE, &gt;= 0 (ignored by the other methods); 0 gives the all-zero estimate, as the
    /// reference's target with beta = 0 (z - MAP(theta - 0 dz + eps) = 0).</param>
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
            case GradientMethod.ImleForward or GradientMethod.ImleCentral when lambda == 0:
                return new double[n];
        }
        using var scope = torch.NewDisposeScope();
        var th = KSubsetFamily.Owned(theta, new long[] { 1, n }).requires_grad_(true);
        var bt = KSubsetFamily.Owned(b, new long[] { 1, n });
        Tensor loss;
        if (method == GradientMethod.ScoreFunctionPam)
        {
            var sfe = Layer(method, samples, 0, null, () => new ScoreFunctionMap(_solver, _noise, 1.0, Math.Max(2, samples), false));
            sfe.Generator = generator;
            var z = sfe.Sample(th);
            var f = (z - bt).square().sum(1);
            loss = sfe.Surrogate(th, z, f);
        }
        else
        {
            Tensor z;
            if (method == GradientMethod.StraightThrough)
            {
                var ste = Layer(method, samples, 0, null, () => new StraightThroughMapLayer(_solver, _noise, 1.0, samples));
                ste.Generator = generator;
                z = ste.forward(th);
            }
            else if (method == GradientMethod.Simple)
            {
                var simple = Layer(method, samples, 0, null, () => new SimpleKSubsetLayer(_family.K, samples));
                simple.Generator = generator;
                z = simple.forward(th);
            }
            else
            {
                bool fixedLambda = method is GradientMethod.ImleForward or GradientMethod.ImleCentral;
                if (!fixedLambda && method is not (GradientMethod.AimleForward or GradientMethod.AimleCentral))
                    throw new ArgumentOutOfRangeException(nameof(method), method, null);
                if (!fixedLambda && adaptive is null) throw new ArgumentNullException(nameof(adaptive), $"{method} needs an AdaptiveImleTarget.");
                var imle = Layer(method, samples, fixedLambda ? lambda : 0, fixedLambda ? null : adaptive, () => new ImleLayer(_solver, new ImleOptions
                {
                    Noise = _noise, Samples = samples, Target = fixedLambda ? ImleTargetDistribution.Fixed(lambda) : adaptive!,
                    Difference = method is GradientMethod.ImleCentral or GradientMethod.AimleCentral ? FiniteDifference.Central : FiniteDifference.Forward,
                }));
                imle.Generator = generator;
                z = imle.forward(th);
            }
            // Sum over the S stacked rows: each row's upstream gradient is 2 (z_s - b); the layers average the per-sample estimates.
            loss = (z - bt).square().sum();
        }
        loss.backward();
        return th.grad!.reshape(n).data<double>().ToArray();
    }

    private readonly Dictionary<(GradientMethod, int, double), nn.Module> _layers = new();
    private (GradientMethod Method, int Samples, AdaptiveImleTarget Target, ImleLayer Layer)? _adaptiveLayer;

    /// <summary>
    /// The layer of a method, built once per (method, samples, lambda) and reused (building a module costs more than a
    /// small forward and backward pass); an AIMLE layer is kept for its target instance only (a new target, a new layer).
    /// The caller sets its generator before each use.
    /// </summary>
    private T Layer<T>(GradientMethod method, int samples, double lambda, AdaptiveImleTarget? target, Func<T> build) where T : nn.Module
    {
        if (target is not null)
        {
            if (_adaptiveLayer is { } a && a.Method == method && a.Samples == samples && ReferenceEquals(a.Target, target)) return (T)(nn.Module)a.Layer;
            var layer = build();
            _adaptiveLayer = (method, samples, target, (ImleLayer)(nn.Module)layer);
            return layer;
        }
        if (!_layers.TryGetValue((method, samples, lambda), out var cached))
        {
            cached = build();
            _layers[(method, samples, lambda)] = cached;
        }
        return (T)cached;
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
