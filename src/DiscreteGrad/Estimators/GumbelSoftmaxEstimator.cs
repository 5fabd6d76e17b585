using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Gumbel-softmax / Concrete and its straight-through variant (STGS).
/// <para>y = softmax((theta + beta * g) / tau), g ~ Gumbel(0, 1). Gumbel-softmax returns y; STGS returns
/// one_hot(argmax(theta + beta * g)) + y - sg(y), whose gradient is that of y.</para>
/// </summary>
internal static class GumbelSoftmaxEstimator
{
    /// <param name="logits">theta [..., K].</param>
    /// <param name="tau">Temperature.</param>
    /// <param name="beta">Gumbel scale; 0 gives softmax(theta / tau) (and argmax(theta) for STGS).</param>
    /// <param name="hard">STGS when true.</param>
    /// <param name="generator">Random source.</param>
    /// <param name="noise">Optional pre-drawn standard Gumbel(0, 1) noise of the logits' shape; it is scaled by beta.</param>
    internal static CategoricalSample Run(Tensor logits, double tau, double beta, bool hard, Generator? generator, Tensor? noise)
    {
        Guard.CategoricalLogits(logits);
        Guard.Temperature(tau);
        Guard.Scale(beta);
        if (noise is not null) Guard.SameShape(noise, logits, nameof(noise));
        using var scope = torch.NewDisposeScope();
        Tensor scores;
        if (beta == 0) scores = logits;
        else
        {
            var g = noise is null ? Gumbel.SampleLike(logits, 1.0, generator) : noise.to(logits.dtype, logits.device);
            scores = beta == 1.0 ? logits + g : logits + g * beta;
        }
        var y = tau == 1.0 ? scores.softmax(-1) : (scores / tau).softmax(-1);
        var d = OneHot.Argmax(scores.detach());
        var value = hard ? d + (y - y.detach()) : y;
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits);
    }
}
