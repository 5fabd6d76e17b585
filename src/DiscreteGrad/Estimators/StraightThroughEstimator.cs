using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Straight-through (ST), Algorithm 1 of the ReinMax paper: D ~ Cat(softmax(theta)); p = softmax(theta / tau);
/// out = D + p - sg(p). The gradient is J(p)^T v / tau, a first-order (Euler) approximation of the true gradient.
/// </summary>
internal static class StraightThroughEstimator
{
    internal static CategoricalSample Run(Tensor logits, double tau, Generator? generator, Tensor? sample)
        => TwoClassEstimator.Applies(logits)
            ? TwoClassEstimator.SampleCategorical(logits, -1, EstimatorKind.StraightThrough, new EstimatorOptions(Tau: tau), generator, sample)
            : General(logits, tau, generator, sample);

    /// <summary>The estimator for any K (also K = 2, which <see cref="Run"/> gives to <see cref="TwoClassEstimator"/>).</summary>
    internal static CategoricalSample General(Tensor logits, double tau, Generator? generator, Tensor? sample)
    {
        Guard.CategoricalLogits(logits);
        Guard.Temperature(tau, logits.dtype);
        using var scope = torch.NewDisposeScope();
        var d = Categorical.ResolveSample(logits, generator, sample);
        var p = tau == 1.0 ? logits.softmax(-1) : (logits / tau).softmax(-1);
        var value = d + (p - p.detach());
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits);
    }
}
