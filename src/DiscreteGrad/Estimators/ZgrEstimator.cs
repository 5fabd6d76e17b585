using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// ZGR, the zero-temperature limit of the Gumbel-Rao estimator (Shekhovtsov, "Cold Rao-Blackwellized Straight-Through
/// Gumbel-Softmax Gradient Estimator", 2023): as tau -&gt; 0 the GR-MCK estimator (Paulus, Maddison and Krause 2021)
/// with infinitely many conditional draws tends to the average of the straight-through and DARN Jacobians. With
/// p = softmax(theta), D ~ Cat(p) one-hot with index x, and v = dL/dD the upstream gradient,
/// <code>grad_theta = 1/2 J(p)^T v + 1/2 (D - p)^T v * grad_theta log p_x,     J(p) = diag(p) - p p^T
/// out = D + 1/2 (p - sg(p)) + 1/2 (D - sg(p)) (log p_x - sg(log p_x))</code>
/// (the first half is ST at tau = 1, the second the categorical DARN term). There is no temperature. For f a polynomial
/// of degree at most two in the one-hot vectors of independent categoricals, E[ZGR] equals the true gradient of E[f(D)]
/// (tests: ZgrTests, by enumeration); for other f it is biased.
/// </summary>
internal static class ZgrEstimator
{
    internal static CategoricalSample Run(Tensor logits, Generator? generator, Tensor? sample)
    {
        Guard.CategoricalLogits(logits);
        using var scope = torch.NewDisposeScope();
        var d = Categorical.ResolveSample(logits, generator, sample);
        var p = LastAxis.Softmax(logits);
        var logPx = (d * LastAxis.LogSoftmax(logits)).sum(-1, keepdim: true);
        var pd = p.detach();
        var value = d + 0.5 * (p - pd) + 0.5 * (d - pd) * (logPx - logPx.detach());
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits, scope.MoveToOuter(p));
    }
}
