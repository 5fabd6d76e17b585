using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Bernoulli nodes through the categorical estimators. Parameterisation: a two-class categorical with logits
/// [theta, 0], class 0 meaning z = 1, so P(z = 1) = softmax([theta, 0])_0 = sigmoid(theta). The returned z is the first
/// coordinate of the two-class output (its gradient is the estimator's gradient for that coordinate).
/// (The reference Bernoulli VAE of the ReinMax paper used [p, 1 - p]; both give the same distribution.)
/// </summary>
public static class Bernoulli
{
    /// <summary>Draws z in {0, 1} with P(z = 1) = sigmoid(theta) and the chosen estimator's gradient.</summary>
    /// <param name="logits">theta [...], floating point and finite.</param>
    /// <param name="kind">Which estimator.</param>
    /// <param name="options">Estimator hyperparameters.</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned hard sample z [...] in {0, 1}.</param>
    /// <param name="noise">Optional pinned noise of the two-class node: Gumbel(0, 1) [..., 2], or Exponential(1) [..., 2, K] for GR-MCK.</param>
    public static BernoulliSample Sample(Tensor logits, EstimatorKind kind, EstimatorOptions? options = null,
        Generator? generator = null, Tensor? sample = null, Tensor? noise = null)
    {
        Guard.BernoulliLogits(logits);
        using var scope = torch.NewDisposeScope();
        Tensor? pinned = null;
        if (sample is not null)
        {
            Guard.SameShape(sample, logits, nameof(sample));
            if (!((sample == 0) | (sample == 1)).all().item<bool>())
                throw new ArgumentException("sample must hold only 0 and 1.", nameof(sample));
            var z = sample.to(logits.dtype, logits.device);
            pinned = torch.stack(new[] { z, 1 - z }, -1);
        }
        var two = TwoClassLogits(logits);
        var s = Categorical.Sample(two, kind, options, generator, pinned, noise);
        var value = s.Value.select(-1, 0);
        var hard = s.Hard.select(-1, 0);
        return new BernoulliSample(scope.MoveToOuter(value), scope.MoveToOuter(hard), logits);
    }

    /// <summary>The two-class logits [theta, 0] [..., 2] of a Bernoulli node.</summary>
    public static Tensor TwoClassLogits(Tensor logits) => torch.stack(new[] { logits, torch.zeros_like(logits) }, -1);
}
