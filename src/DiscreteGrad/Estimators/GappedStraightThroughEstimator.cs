using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Gapped straight-through (GST, Fan et al., ICML 2022), as in the ReinMax paper's GST-1.0 baseline.
/// <para>D ~ Cat(softmax(theta)); t = sg(theta); move = (max t - t) * D; move2 = relu(t - max t + gap) * (1 - D);
/// m = theta + move - move2; m -= mean(m); p = softmax(m / tau); out = D + p - sg(p).</para>
/// The detached moves push the sampled category to the top and every other category at least <c>gap</c> below it, so the
/// gradient is that of a softmax consistent with the sample.
/// </summary>
internal static class GappedStraightThroughEstimator
{
    internal static CategoricalSample Run(Tensor logits, double tau, double gap, Generator? generator, Tensor? sample)
    {
        Guard.CategoricalLogits(logits);
        Guard.Temperature(tau);
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
        m = m - m.mean(new long[] { -1 }, keepdim: true);
        var p = tau == 1.0 ? m.softmax(-1) : (m / tau).softmax(-1);
        var value = d + (p - p.detach());
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits);
    }
}
