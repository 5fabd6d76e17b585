using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>How one estimator's gradient of E_q[BCE(z, x)] with respect to the encoder logits compares with the exact one,
/// for one image (the analysis of the ReinMax reference, model.analyze_gradient).</summary>
/// <param name="Estimator">The estimator.</param>
/// <param name="Image">Index of the test image.</param>
/// <param name="Draws">Number of estimates averaged.</param>
/// <param name="Cosine">cos(mean of the draws, exact gradient).</param>
/// <param name="RelativeBias">||mean - exact|| / ||exact||.</param>
/// <param name="NoiseFloor">sqrt(trace Cov / draws) / ||exact||: the expected RelativeBias of an unbiased estimator with
/// this variance (Monte Carlo noise alone).</param>
/// <param name="RelativeStd">sqrt(trace Cov) / ||exact||: spread of one estimate.</param>
/// <param name="GroupCosine">Cosine of the means of consecutive groups of draws (one value per group).</param>
/// <param name="GroupRelativeBias">Relative bias of those group means.</param>
/// <param name="ExactCosine">cos(E[estimate], exact) with the expectation over z enumerated (null when the estimator has
/// continuous noise: STGS, GR-MCK).</param>
/// <param name="ExactRelativeBias">||E[estimate] - exact|| / ||exact||, enumerated (null as above).</param>
public sealed record GradientBiasRow(VaeEstimator Estimator, int Image, long Draws, double Cosine, double RelativeBias,
    double NoiseFloor, double RelativeStd, double[] GroupCosine, double[] GroupRelativeBias, double? ExactCosine, double? ExactRelativeBias);

/// <summary>
/// Gradient-bias analysis of the categorical VAE (the 8x4 analysis of Liu et al. 2023, "Bridging Discrete and
/// Backpropagation: Straight-Through and Beyond"): for a fixed model and one image x, the exact
/// gradient g* = d E_{z ~ q(.|x)}[BCE(z, x)] / d theta over the L x C encoder logits, by enumerating all C^L codes
/// (<see cref="Enumeration.Exact"/>), against the mean of many independent estimates. As in the reference only the BCE
/// term is analysed (the KL term is exact for every estimator). Per estimator, the estimate of one draw is:
/// <list type="bullet">
/// <item>pathwise: d BCE(z~, x) / d theta through <see cref="DiscreteGrad.Estimators.Categorical.Sample(Tensor, DiscreteGrad.Estimators.EstimatorKind, DiscreteGrad.Estimators.EstimatorOptions?, long, Generator?, Tensor?, Tensor?)"/>;</item>
/// <item>REINFORCE+MA: (f(z) - b) d log q(z) / d theta with the constant b given (what the moving average tracks: the mean
/// of E[f] over the analysed images);</item>
/// <item>NVIL: (f(z) - b(x)) d log q(z) / d theta with b(x) = E[f | x] (the ideal input-dependent baseline its network is
/// trained towards) and without the variance division (a positive step-size factor);</item>
/// <item>MuProp: the library's estimator (Taylor baseline at softmax(theta) plus the analytic correction);</item>
/// <item>IndeCateR: the library's estimator with one code per draw;</item>
/// <item>REBAR and RELAX: <see cref="Relax.Categorical"/> with REBAR's control variate at its initial eta = 1, lambda = 0.5
/// (an analysed model has no trained control variate; the estimate is unbiased for every control variate, only its
/// variance depends on it).</item>
/// </list>
/// VIMCO is not analysed: it estimates the gradient of the K-sample bound, a different objective.
/// </summary>
public static class VaeGradientBias
{
    /// <summary>The estimators of "all" the analysis covers (the nine but VIMCO).</summary>
    public static IReadOnlyList<VaeEstimator> Analysed { get; } = VaeEstimators.All.Where(e => e != VaeEstimator.Vimco).ToArray();

    /// <summary>Every estimator the analysis covers ("every": all but VIMCO).</summary>
    public static IReadOnlyList<VaeEstimator> AnalysedEvery { get; } = VaeEstimators.Every.Where(e => e != VaeEstimator.Vimco).ToArray();

    /// <summary>f(z) = BCE(z, x) for codes z [S, L, C] and one image x [1, 784], in z's dtype, shape [S].</summary>
    public static Func<Tensor, Tensor> BceOfCodes(CategoricalVae vae, Tensor image)
        => z => vae.Bce(z.unsqueeze(-3), image).squeeze(-1).to(z.dtype);

    /// <summary>Exact E_q[BCE] and its gradient w.r.t. theta [L, C] (float64), by enumerating the C^L codes.</summary>
    public static ExactExpectation Exact(CategoricalVae vae, Tensor image, Tensor theta) => Enumeration.Exact(theta, BceOfCodes(vae, image));

    /// <summary>
    /// Gradients of one estimate per row, [S, L, C]: S independent draws at theta [L, C] (float64), or one per pinned code
    /// when <paramref name="pinned"/> [S, L, C] is given (not for the estimators with continuous noise, <see cref="VaeEstimators.HasContinuousNoise"/>).
    /// </summary>
    /// <param name="vae">The fixed model.</param>
    /// <param name="image">x [1, 784].</param>
    /// <param name="theta">The encoder logits of x, [L, C].</param>
    /// <param name="estimator">Which estimator (not VIMCO).</param>
    /// <param name="options">tau and GR-MCK's K for the pathwise estimators.</param>
    /// <param name="draws">S when nothing is pinned.</param>
    /// <param name="baseline">b of REINFORCE / NVIL (ignored by the others).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="pinned">Optional one-hot codes [S, L, C].</param>
    public static Tensor DrawGradients(CategoricalVae vae, Tensor image, Tensor theta, VaeEstimator estimator, EstimatorOptions options,
        long draws, double baseline, Generator? generator, Tensor? pinned = null)
    {
        if (estimator == VaeEstimator.Vimco)
            throw new ArgumentException("VIMCO estimates the gradient of the K-sample bound, not of E_q[BCE]; it is not analysed.", nameof(estimator));
        using var scope = torch.NewDisposeScope();
        long s = pinned?.shape[0] ?? draws;
        var leaf = theta.detach().unsqueeze(0).expand(s, theta.shape[0], theta.shape[1]).clone().requires_grad_(true);
        var f = BceOfCodes(vae, image);
        Tensor total;
        if (VaeEstimators.IsPathwise(estimator))
        {
            var z = DiscreteGrad.Estimators.Categorical.Sample(leaf, VaeEstimators.PathwiseKind(estimator), options, generator: generator, sample: pinned).Value;
            total = f(z).sum();
        }
        else if (estimator is VaeEstimator.Rebar or VaeEstimator.Relax)
        {
            if (pinned is not null) throw new ArgumentException($"{VaeEstimators.Display(estimator)} draws continuous noise; its draws cannot be pinned.", nameof(pinned));
            using var control = new RelaxControl(categorical: true, eventDims: 2, eventSize: theta.shape[0] * theta.shape[1], hidden: null, theta.dtype);
            // Each of the S rows is its own problem: f maps [1, S, L, C] to [1, S].
            var r = Relax.Categorical(leaf, f, z => control.Value(z, f), 1, generator);
            return scope.MoveToOuter(r.Gradients[0].detach());
        }
        else if (estimator == VaeEstimator.IndeCateR)
            total = IndeCateR.Categorical(leaf, f, 1, generator, pinned?.unsqueeze(0)).Surrogate.sum();
        else if (estimator == VaeEstimator.MuProp)
            total = MuProp.Categorical(leaf, f, generator: generator, sample: pinned).Surrogate.sum();
        else
            total = Reinforce.Categorical(leaf, f, new ConstantBaseline(baseline), generator: generator, sample: pinned).Surrogate.sum();
        var g = torch.autograd.grad(new[] { total }, new[] { leaf })[0];
        return scope.MoveToOuter(g.detach());
    }

    /// <summary>The expected estimate E_z[g(z)] by enumerating all codes (null for the estimators with continuous noise,
    /// <see cref="VaeEstimators.HasContinuousNoise"/>).</summary>
    public static Tensor? EnumeratedExpectation(CategoricalVae vae, Tensor image, Tensor theta, VaeEstimator estimator,
        EstimatorOptions options, double baseline)
    {
        if (VaeEstimators.HasContinuousNoise(estimator)) return null;
        using var scope = torch.NewDisposeScope();
        var states = Enumeration.JointStates(theta.shape[0], theta.shape[1], theta.dtype, theta.device);
        var p = Enumeration.LogProbabilities(theta.detach(), states).exp();
        var mean = torch.zeros_like(theta);
        long n = states.shape[0];
        for (long s = 0; s < n; s += 1024)
        {
            using var inner = torch.NewDisposeScope();
            long c = Math.Min(1024, n - s);
            var g = DrawGradients(vae, image, theta, estimator, options, c, baseline, null, states.narrow(0, s, c));
            mean.add_((p.narrow(0, s, c).view(c, 1, 1) * g).sum(dim: 0));
        }
        return scope.MoveToOuter(mean);
    }

    /// <summary>Analyses one estimator on one image: <paramref name="groups"/> groups of <paramref name="drawsPerGroup"/> draws.</summary>
    public static GradientBiasRow Analyse(CategoricalVae vae, Tensor image, int imageIndex, Tensor theta, Tensor exactGradient,
        VaeEstimator estimator, EstimatorOptions options, double baseline, int groups, int drawsPerGroup, Generator generator)
    {
        Guard.AtLeast(groups, 2, nameof(groups));
        Guard.AtLeast(drawsPerGroup, 2, nameof(drawsPerGroup));
        using var scope = torch.NewDisposeScope();
        var gstar = exactGradient.to(ScalarType.Float64).flatten();
        double nstar = gstar.norm().item<double>();
        var sum = torch.zeros_like(gstar);
        var sumSq = torch.zeros_like(gstar);
        var groupCos = new double[groups];
        var groupRel = new double[groups];
        for (int gi = 0; gi < groups; gi++)
        {
            using var inner = torch.NewDisposeScope();
            var gsum = torch.zeros_like(gstar);
            for (int done = 0; done < drawsPerGroup; done += 500)
            {
                using var chunkScope = torch.NewDisposeScope();
                int c = Math.Min(500, drawsPerGroup - done);
                var g = DrawGradients(vae, image, theta, estimator, options, c, baseline, generator).reshape(c, -1);
                gsum.add_(g.sum(dim: 0));
                sumSq.add_(g.pow(2).sum(dim: 0));
            }
            sum.add_(gsum);
            var gm = gsum / drawsPerGroup;
            (groupCos[gi], groupRel[gi]) = Compare(gm, gstar, nstar);
        }
        long n = (long)groups * drawsPerGroup;
        var mean = sum / n;
        var variance = ((sumSq / n) - mean.pow(2)).clamp_min(0) * ((double)n / (n - 1));
        double trace = variance.sum().item<double>();
        var (cos, rel) = Compare(mean, gstar, nstar);
        double? exactCos = null, exactRel = null;
        var expected = EnumeratedExpectation(vae, image, theta, estimator, options, baseline);
        if (expected is not null) (exactCos, exactRel) = Compare(expected.flatten(), gstar, nstar);
        return new GradientBiasRow(estimator, imageIndex, n, cos, rel, Math.Sqrt(trace / n) / nstar, Math.Sqrt(trace) / nstar,
            groupCos, groupRel, exactCos, exactRel);
    }

    private static (double Cos, double Rel) Compare(Tensor a, Tensor b, double nb)
    {
        double na = a.norm().item<double>();
        double cos = na == 0 || nb == 0 ? double.NaN : a.dot(b).item<double>() / (na * nb);
        return (cos, (a - b).norm().item<double>() / nb);
    }
}
