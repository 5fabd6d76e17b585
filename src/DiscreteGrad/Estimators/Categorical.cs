using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Entry point for a categorical node with logits theta [..., K] (K &gt;= 2): draws a sample and attaches the chosen
/// estimator's gradient path. All randomness comes from the explicit <see cref="Generator"/>, or from pinned tensors.
/// </summary>
public static class Categorical
{
    /// <summary>Draws from the node and returns the value with the estimator's gradient, the hard sample and the probabilities.</summary>
    /// <param name="logits">theta [..., K], floating point and finite.</param>
    /// <param name="kind">Which estimator.</param>
    /// <param name="options">tau, beta, gap, K of GR-MCK; null for the defaults.</param>
    /// <param name="generator">Random source (null: TorchSharp's default generator).</param>
    /// <param name="sample">Optional pinned one-hot sample D [..., K] for the estimators that draw D ~ Cat(softmax(theta))
    /// (ST, ReinMax, GST, GR-MCK). Ignored by Gumbel-softmax and STGS, whose sample is set by their noise.</param>
    /// <param name="noise">Optional pinned noise: standard Gumbel(0, 1) [..., K] for Gumbel-softmax and STGS (scaled by
    /// beta inside); Exponential(1) [..., K, GumbelRaoK] for GR-MCK.</param>
    public static CategoricalSample Sample(Tensor logits, EstimatorKind kind, EstimatorOptions? options = null,
        Generator? generator = null, Tensor? sample = null, Tensor? noise = null)
    {
        var o = options ?? new EstimatorOptions();
        o.Validate();
        return kind switch
        {
            EstimatorKind.GumbelSoftmax => GumbelSoftmaxEstimator.Run(logits, o.Tau, o.Beta, false, generator, noise),
            EstimatorKind.StraightThroughGumbel => GumbelSoftmaxEstimator.Run(logits, o.Tau, o.Beta, true, generator, noise),
            EstimatorKind.StraightThrough => StraightThroughEstimator.Run(logits, o.Tau, generator, sample),
            EstimatorKind.ReinMax => ReinMaxEstimator.Run(logits, o.Tau, generator, sample),
            EstimatorKind.GappedStraightThrough => GappedStraightThroughEstimator.Run(logits, o.Tau, o.Gap, generator, sample),
            EstimatorKind.GumbelRao => GumbelRaoEstimator.Run(logits, o.Tau, o.GumbelRaoK, generator, sample, noise),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown estimator"),
        };
    }

    /// <summary>True for the estimators whose sample is D ~ Cat(softmax(theta)) and can be pinned with a one-hot tensor.</summary>
    public static bool DrawsCategoricalSample(EstimatorKind kind) => kind is EstimatorKind.StraightThrough
        or EstimatorKind.ReinMax or EstimatorKind.GappedStraightThrough or EstimatorKind.GumbelRao;

    /// <summary>The pinned sample (validated, in the logits' dtype and device) or a fresh D ~ Cat(softmax(theta)).</summary>
    internal static Tensor ResolveSample(Tensor logits, Generator? generator, Tensor? sample)
    {
        if (sample is null) return OneHot.SampleCore(logits, generator);   // logits checked by the estimator
        OneHot.Validate(sample, logits, nameof(sample));
        return sample.to(logits.dtype, logits.device).detach();
    }
}
