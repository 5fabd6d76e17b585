using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Entry point for a categorical node with logits theta [..., K, ...] (K &gt;= 2 categories on axis <c>dim</c>, the last
/// by default): draws a sample and attaches the chosen estimator's gradient path. All randomness comes from the explicit
/// <see cref="Generator"/>, or from pinned tensors.
/// <para>An axis other than the last is handled by moving it to the end (<c>movedim(dim, -1)</c>), running the estimator
/// and moving the results back, so <c>Sample(x, kind, dim: 1)</c> on [B, K, N] equals
/// <c>Sample(x.transpose(1, 2), kind)</c> transposed back, draws and gradients included (the same generator state gives
/// the same draws).</para>
/// <para>Two classes (a category axis of size 2, floating-point logits, no pinned noise) take a specialised path that
/// works on the difference delta = theta_0 - theta_1 along any axis without moving it: one uniform per variable,
/// D_0 = 1[U &lt; sigmoid(delta)] (Gumbel-softmax and STGS: a logistic perturbation z = delta + beta logit(U), D_0 = 1[z &gt;= 0]),
/// the same law as the Gumbel-max draw of the general path but another random stream; and one autograd node whose
/// gradient c (g_0 - g_1) (1, -1) is the estimator's (c a per-variable slope: ST's J(softmax(theta / tau)), ReinMax's
/// second-order form, GST's gapped softmax, GR-MCK's average over conditional draws, the Gumbel-softmax's Jacobian).
/// A pinned sample is used as given. The forward values are those of the general path for the same sample.</para>
/// </summary>
public static class Categorical
{
    /// <summary>Draws from the node and returns the value with the estimator's gradient, the hard sample and the probabilities.</summary>
    /// <param name="logits">theta [..., K, ...], floating point and finite.</param>
    /// <param name="kind">Which estimator.</param>
    /// <param name="options">tau, beta, gap, K of GR-MCK, tau_f of the decoupled Gumbel-softmax; null for the defaults.</param>
    /// <param name="dim">Axis of the categories, in [-r, r - 1] for logits of r dimensions (default -1, the last).</param>
    /// <param name="generator">Random source (null: TorchSharp's default generator).</param>
    /// <param name="sample">Optional pinned one-hot sample D (the logits' shape, one-hot over <paramref name="dim"/>), only
    /// for the estimators that draw D ~ Cat(softmax(theta)) (ST, ReinMax, GST, GR-MCK, ZGR); Gumbel-softmax, STGS and the
    /// decoupled forms refuse it (their sample is set by their noise), with an <see cref="ArgumentException"/>.</param>
    /// <param name="noise">Optional pinned noise, only for the estimators that draw noise: standard Gumbel(0, 1) of the
    /// logits' shape for Gumbel-softmax, STGS and the decoupled forms (scaled by beta inside); Exponential(1) of the
    /// logits' shape plus a trailing axis of GumbelRaoK draws for GR-MCK. ST, ReinMax, GST and ZGR refuse it.</param>
    public static CategoricalSample Sample(Tensor logits, EstimatorKind kind, EstimatorOptions? options = null, long dim = -1,
        Generator? generator = null, Tensor? sample = null, Tensor? noise = null)
    {
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown estimator");
        var o = options ?? new EstimatorOptions();
        o.Validate();
        if (sample is not null && !DrawsCategoricalSample(kind))
            throw new ArgumentException(
                $"{kind} does not use a pinned sample (its sample is argmax(theta + beta g)); pin its Gumbel noise with noise instead.",
                nameof(sample));
        if (noise is not null && !UsesNoise(kind))
            throw new ArgumentException(
                $"{kind} draws no noise besides its sample D ~ Cat(softmax(theta)); pin the sample with sample instead.", nameof(noise));
        if (IsTwoClass(logits, dim) && TwoClassEstimator.Handles(kind, noise))
            return TwoClassEstimator.SampleCategorical(logits, dim, kind, o, generator, sample);
        return OnCategoryAxis(logits, dim, sample, noise, kind == EstimatorKind.GumbelRao ? o.GumbelRaoK : 0, (l, s, n) => kind switch
        {
            EstimatorKind.GumbelSoftmax => GumbelSoftmaxEstimator.Run(l, o.Tau, o.Beta, false, generator, n),
            EstimatorKind.StraightThroughGumbel => GumbelSoftmaxEstimator.Run(l, o.Tau, o.Beta, true, generator, n),
            EstimatorKind.StraightThrough => StraightThroughEstimator.Run(l, o.Tau, generator, s),
            EstimatorKind.ReinMax => ReinMaxEstimator.Run(l, o.Tau, generator, s),
            EstimatorKind.GappedStraightThrough => GappedStraightThroughEstimator.Run(l, o.Tau, o.Gap, generator, s),
            EstimatorKind.Zgr => ZgrEstimator.Run(l, generator, s),
            EstimatorKind.DecoupledStraightThroughGumbel => DecoupledGumbelSoftmaxEstimator.Run(l, o.TauForward, o.Tau, o.Beta, true, generator, n),
            EstimatorKind.DecoupledGumbelSoftmax => DecoupledGumbelSoftmaxEstimator.Run(l, o.TauForward, o.Tau, o.Beta, false, generator, n),
            _ => GumbelRaoEstimator.Run(l, o.Tau, o.GumbelRaoK, generator, s, n),
        });
    }

    /// <summary>Draws from the node with any <see cref="ICategoricalEstimator"/> (a built-in one or your own).</summary>
    /// <param name="logits">theta [..., K, ...], floating point and finite.</param>
    /// <param name="estimator">The estimator; it sees the logits with the categories on the last axis.</param>
    /// <param name="options">tau, beta, gap, K of GR-MCK passed to the estimator; null for the defaults.</param>
    /// <param name="dim">Axis of the categories (default -1, the last).</param>
    /// <param name="generator">Random source.</param>
    public static CategoricalSample Sample(Tensor logits, ICategoricalEstimator estimator, EstimatorOptions? options = null, long dim = -1,
        Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        var o = options ?? new EstimatorOptions();
        o.Validate();
        return OnCategoryAxis(logits, dim, null, null, 0, (l, _, _) => estimator.Sample(l, o, generator)
            ?? throw new InvalidOperationException($"{estimator.GetType().Name}.Sample returned null."));
    }

    /// <summary>Floating-point logits whose category axis <paramref name="dim"/> (a valid one) has two categories.</summary>
    private static bool IsTwoClass(Tensor logits, long dim)
    {
        ArgumentNullException.ThrowIfNull(logits);
        long rank = logits.dim();
        return rank >= 1 && dim >= -rank && dim < rank && logits.shape[dim < 0 ? dim + rank : dim] == 2 && logits.is_floating_point();
    }

    /// <summary>True for the estimators whose sample is D ~ Cat(softmax(theta)) and can be pinned with a one-hot tensor
    /// (ST, ReinMax, GST, GR-MCK, ZGR).</summary>
    public static bool DrawsCategoricalSample(EstimatorKind kind) => kind is EstimatorKind.StraightThrough
        or EstimatorKind.ReinMax or EstimatorKind.GappedStraightThrough or EstimatorKind.GumbelRao or EstimatorKind.Zgr;

    /// <summary>True for the estimators that draw noise that can be pinned (Gumbel-softmax, STGS, GR-MCK and the two
    /// decoupled forms, whose one Gumbel draw serves both temperatures).</summary>
    public static bool UsesNoise(EstimatorKind kind) => kind is EstimatorKind.GumbelSoftmax
        or EstimatorKind.StraightThroughGumbel or EstimatorKind.GumbelRao or EstimatorKind.DecoupledStraightThroughGumbel
        or EstimatorKind.DecoupledGumbelSoftmax;

    /// <summary>The pinned sample (validated, in the logits' dtype and device) or a fresh D ~ Cat(softmax(theta)).</summary>
    internal static Tensor ResolveSample(Tensor logits, Generator? generator, Tensor? sample)
    {
        if (sample is null) return OneHot.SampleCore(logits, generator);   // logits checked by the estimator
        OneHot.Validate(sample, logits, nameof(sample));
        return sample.to(logits.dtype, logits.device).detach();
    }

    /// <summary>The category axis <paramref name="dim"/> of a tensor of <paramref name="rank"/> dimensions as an index in [0, rank).</summary>
    internal static long NormaliseDim(long dim, long rank)
    {
        if (dim < -rank || dim >= rank)
            throw new ArgumentOutOfRangeException(nameof(dim), dim,
                $"dim must be in [{-rank}, {rank - 1}] for logits of {rank} dimensions (got {dim}).");
        return dim < 0 ? dim + rank : dim;
    }

    /// <summary>
    /// Runs <paramref name="run"/>, an estimator that works on the last axis, for logits whose categories lie on axis
    /// <paramref name="dim"/>: the pinned tensors are checked against the caller's layout, every input is moved so that the
    /// categories come last (contiguous, so the estimator computes exactly what it would on a transposed copy), and the
    /// value, the hard sample and any probabilities the estimator computed are moved back. On the last axis the
    /// estimator runs on the tensors as given.
    /// </summary>
    /// <param name="logits">theta.</param>
    /// <param name="dim">The category axis.</param>
    /// <param name="sample">Pinned one-hot sample of the logits' shape, or null.</param>
    /// <param name="noise">Pinned noise, or null: the logits' shape, plus a trailing axis of <paramref name="draws"/> when that is &gt; 0.</param>
    /// <param name="draws">Size of the trailing axis of draws of the noise (GR-MCK's K), or 0 for noise of the logits' shape.</param>
    /// <param name="run">The estimator on (logits, sample, noise) with the categories last.</param>
    /// <param name="sampleName">Parameter name of the sample in messages.</param>
    /// <param name="noiseName">Parameter name of the noise in messages.</param>
    internal static CategoricalSample OnCategoryAxis(Tensor logits, long dim, Tensor? sample, Tensor? noise, long draws,
        Func<Tensor, Tensor?, Tensor?, CategoricalSample> run, string sampleName = "sample", string noiseName = "noise")
    {
        ArgumentNullException.ThrowIfNull(logits);
        long rank = logits.dim();
        if (rank < 1) return run(logits, sample, noise);   // the estimator's own check names the scalar logits
        long d = NormaliseDim(dim, rank);
        if (sample is not null) Guard.SameShape(sample, logits, sampleName);
        if (noise is not null)
        {
            if (draws <= 0) Guard.SameShape(noise, logits, noiseName);
            else if (!noise.shape.SequenceEqual(logits.shape.Append(draws)))
                throw new ArgumentException(
                    $"{noiseName} must have the logits' shape plus a trailing axis of the {draws} draws, [{string.Join(", ", logits.shape.Append(draws))}] (got [{string.Join(", ", noise.shape)}]).",
                    noiseName);
        }
        if (d == rank - 1) return run(logits, sample, noise);
        using var scope = torch.NewDisposeScope();
        var s = run(Move(logits, d, -1).contiguous(), sample is null ? null : Move(sample, d, -1).contiguous(),
            noise is null ? null : draws > 0 ? Move(noise, d, -2).contiguous() : Move(noise, d, -1).contiguous());
        var value = Move(s.Value, -1, d);
        var hard = ReferenceEquals(s.Hard, s.Value) ? value : Move(s.Hard, -1, d);
        var probs = s.ComputedProbs is { } p ? Move(p, -1, d) : null;
        return new CategoricalSample(scope.MoveToOuter(value), ReferenceEquals(hard, value) ? value : scope.MoveToOuter(hard), logits,
            probs is null ? null : scope.MoveToOuter(probs), d);
    }

    private static Tensor Move(Tensor t, long from, long to) => t.movedim(new[] { from }, new[] { to });
}
