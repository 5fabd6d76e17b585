using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Gapped straight-through (GST, Fan et al., ICML 2022), as in the ReinMax paper's GST-1.0 baseline.
/// <para>D ~ Cat(softmax(theta)); t = sg(theta); move = (max t - t) * D; move2 = relu(t - max t + gap) * (1 - D);
/// m = theta + move - move2; p = softmax(m / tau); out = D + p - sg(p).</para>
/// The detached moves push the sampled category to the top and every other category at least <c>gap</c> below it, so the
/// gradient is that of a softmax consistent with the sample.
/// <para>The reference also centres m (m -= mean(m)) before the softmax. Softmax is shift-invariant, so that changes
/// neither p nor its gradient, and it is left out: with masked logits (entries of -1e9 that stand for excluded
/// categories) the mean is of the order of -1e9, and m - mean(m) would lose every digit of the other entries in float32.</para>
/// </summary>
internal static class GappedStraightThroughEstimator
{
    internal static CategoricalSample Run(Tensor logits, double tau, double gap, Generator? generator, Tensor? sample)
        => TwoClassEstimator.Applies(logits)
            ? TwoClassEstimator.SampleCategorical(logits, -1, EstimatorKind.GappedStraightThrough, new EstimatorOptions(Tau: tau, Gap: gap),
                generator, sample)
            : General(logits, tau, gap, generator, sample);

    /// <summary>The estimator for any K (also K = 2, which <see cref="Run"/> gives to <see cref="TwoClassEstimator"/>).</summary>
    internal static CategoricalSample General(Tensor logits, double tau, double gap, Generator? generator, Tensor? sample)
    {
        Guard.CategoricalLogits(logits);
        Guard.Temperature(tau, logits.dtype);
        Guard.NonNegative(gap, nameof(gap));
        using var scope = torch.NewDisposeScope();
        var d = Categorical.ResolveSample(logits, generator, sample);
        Tensor shift;
        using (torch.no_grad())
        {
            var t = logits.detach();
            var tmax = t.amax(new long[] { -1 }, keepdim: true);
            var move = (tmax - t) * d;
            var move2 = torch.nn.functional.relu(t - tmax + gap) * (1 - d);
            shift = move - move2;
        }
        var m = logits + shift;
        var p = tau == 1.0 ? m.softmax(-1) : (m / tau).softmax(-1);
        var value = d + (p - p.detach());
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits);
    }
}
