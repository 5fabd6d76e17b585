using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// The estimators as plain functions of the logits, in the style of <c>torch.nn.functional.gumbel_softmax</c> and the
/// <c>reinmax</c> package. Each returns the tensor to use downstream; <see cref="Categorical.Sample"/> returns more.
/// </summary>
public static class Functional
{
    /// <summary>
    /// Gumbel-softmax with temperature tau and Gumbel scale beta: softmax((theta + g) / tau), g ~ Gumbel(0, beta).
    /// With <paramref name="hard"/> = true, the straight-through variant (STGS): forward one_hot(argmax(theta + g)).
    /// </summary>
    /// <param name="logits">theta [..., K].</param>
    /// <param name="tau">Temperature, &gt; 0.</param>
    /// <param name="beta">Gumbel scale, &gt;= 0 (0: plain softmax_tau, as at the start of TempMatch).</param>
    /// <param name="hard">Straight-through (one-hot forward).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="noise">Pinned standard Gumbel(0, 1) noise [..., K] (scaled by beta).</param>
    public static Tensor GumbelSoftmax(Tensor logits, double tau = 1.0, double beta = 1.0, bool hard = false,
        Generator? generator = null, Tensor? noise = null)
        => Release(GumbelSoftmaxEstimator.Run(logits, tau, beta, hard, generator, noise));

    /// <summary>Straight-through: D ~ Cat(softmax(theta)) forward, gradient of softmax(theta / tau).</summary>
    public static Tensor StraightThrough(Tensor logits, double tau = 1.0, Generator? generator = null, Tensor? sample = null)
        => Release(StraightThroughEstimator.Run(logits, tau, generator, sample));

    /// <summary>
    /// ReinMax (Algorithm 2 of Liu et al. 2023). Returns (y_hard, y_soft) like <c>reinmax.reinmax(logits, tau)</c>:
    /// y_hard is the one-hot sample with the ReinMax gradient, y_soft = softmax(theta), differentiable (its gradient enters
    /// the same closed form).
    /// </summary>
    public static (Tensor Hard, Tensor Soft) ReinMax(Tensor logits, double tau = 1.0, Generator? generator = null, Tensor? sample = null)
    {
        var s = ReinMaxEstimator.Run(logits, tau, generator, sample);
        s.Hard.Dispose();
        return (s.Value, s.Probs);
    }

    /// <summary>Gapped straight-through (GST) with the given gap (GST-1.0: gap = 1).</summary>
    public static Tensor GappedStraightThrough(Tensor logits, double tau = 1.0, double gap = 1.0, Generator? generator = null, Tensor? sample = null)
        => Release(GappedStraightThroughEstimator.Run(logits, tau, gap, generator, sample));

    /// <summary>GR-MCK: STGS averaged over <paramref name="k"/> conditional Gumbel draws given the sample.</summary>
    /// <param name="logits">theta [..., K].</param>
    /// <param name="tau">Temperature, &gt; 0.</param>
    /// <param name="k">Number of conditional Gumbel draws, &gt;= 1 (100 in the reference).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Pinned one-hot sample D [..., K].</param>
    /// <param name="exponentialNoise">Pinned Exponential(1) draws [..., K, k] for the conditional Gumbels.</param>
    public static Tensor GumbelRao(Tensor logits, double tau = 1.0, int k = 100, Generator? generator = null,
        Tensor? sample = null, Tensor? exponentialNoise = null)
        => Release(GumbelRaoEstimator.Run(logits, tau, k, generator, sample, exponentialNoise));

    private static Tensor Release(CategoricalSample s)
    {
        s.ReleaseAllButValue();
        return s.Value;
    }
}
