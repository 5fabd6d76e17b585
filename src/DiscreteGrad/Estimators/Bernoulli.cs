using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Bernoulli nodes through the categorical estimators. Parameterisation: a two-class categorical with logits
/// [theta, 0], class 0 meaning z = 1, so P(z = 1) = softmax([theta, 0])_0 = sigmoid(theta). The returned z is the first
/// coordinate of the two-class output (its gradient is the estimator's gradient for that coordinate).
/// (The reference Bernoulli VAE of the ReinMax paper used [p, 1 - p]; both give the same distribution.)
/// <para>Without pinned noise every estimator runs on theta directly, without building the two-class tensor: one uniform
/// per variable (z = 1[U &lt; sigmoid(theta)], or a logistic perturbation for Gumbel-softmax and STGS) and a gradient c g
/// with the estimator's per-variable slope c (the two-class path described at <see cref="Categorical"/>), the same
/// sample, value and gradient as the two-class categorical node on [theta, 0], bit for bit.</para>
/// </summary>
public static class Bernoulli
{
    /// <summary>Draws z in {0, 1} with P(z = 1) = sigmoid(theta) and the chosen estimator's gradient.</summary>
    /// <param name="logits">theta [...], floating point and finite. A Bernoulli node is elementwise: there is no category
    /// axis, so there is no <c>dim</c>.</param>
    /// <param name="kind">Which estimator.</param>
    /// <param name="options">Estimator hyperparameters.</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned hard sample z [...] in {0, 1} (refused, like the categorical one, by the
    /// estimators that do not use it).</param>
    /// <param name="noise">Optional pinned noise of the two-class node: Gumbel(0, 1) [..., 2], or Exponential(1) [..., 2, K] for GR-MCK.</param>
    public static BernoulliSample Sample(Tensor logits, EstimatorKind kind, EstimatorOptions? options = null,
        Generator? generator = null, Tensor? sample = null, Tensor? noise = null)
    {
        if (TwoClassEstimator.Handles(kind, noise, sample))
        {
            var o = options ?? new EstimatorOptions();
            o.Validate();
            return TwoClassEstimator.SampleBernoulli(logits, kind, o, generator, sample);
        }
        return FromTwoClass(logits, sample, (two, pinned) => Categorical.Sample(two, kind, options, generator: generator, sample: pinned, noise: noise));
    }

    /// <summary>Draws z in {0, 1} with P(z = 1) = sigmoid(theta) through any estimator applied to the two-class logits [theta, 0].</summary>
    /// <param name="logits">theta [...], floating point and finite.</param>
    /// <param name="estimator">The estimator (it sees [..., 2]).</param>
    /// <param name="options">Estimator hyperparameters.</param>
    /// <param name="generator">Random source.</param>
    public static BernoulliSample Sample(Tensor logits, ICategoricalEstimator estimator, EstimatorOptions? options = null,
        Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        if (estimator is CategoricalEstimator builtIn) return Sample(logits, builtIn.Kind, options, generator);
        return FromTwoClass(logits, null, (two, _) => Categorical.Sample(two, estimator, options, generator: generator));
    }

    /// <summary>The Bernoulli sample from a two-class draw on [theta, 0]; a pinned z becomes the one-hot [z, 1 - z].</summary>
    private static BernoulliSample FromTwoClass(Tensor logits, Tensor? sample, Func<Tensor, Tensor?, CategoricalSample> draw)
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
        var s = draw(TwoClassLogits(logits), pinned);
        var value = s.Value.select(-1, 0);
        var hard = s.Hard.select(-1, 0);
        return new BernoulliSample(scope.MoveToOuter(value), scope.MoveToOuter(hard), logits);
    }

    /// <summary>The two-class logits [theta, 0] [..., 2] of a Bernoulli node.</summary>
    public static Tensor TwoClassLogits(Tensor logits) => torch.stack(new[] { logits, torch.zeros_like(logits) }, -1);
}
