using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Gumbel-softmax / Concrete (Jang, Gu and Poole 2017, "Categorical reparameterization with Gumbel-softmax"; Maddison,
/// Mnih and Teh 2017, "The Concrete distribution") and its straight-through variant (STGS).
/// <para>y = softmax((theta + beta * g) / tau), g ~ Gumbel(0, 1). Gumbel-softmax returns y; STGS returns
/// one_hot(argmax(theta + beta * g)) + y - sg(y), whose gradient is that of y.</para>
/// <para>Ranges and numerics, for logits of dtype T: tau &gt;= the smallest normal T number (float32 1.1754944E-38,
/// float64 2.2250738585072014E-308), so that tau and 1/tau are finite in T; beta &lt;= the largest T number, and the scores
/// s = theta + beta g must be finite in T (checked together with the logits' finite check: an overflow of beta g is
/// reported naming beta). When max |s| / tau exceeds half the largest T number, s / tau would overflow (and softmax give
/// NaN), so y is computed as softmax((s - sg(max_k s_k)) / tau): the same function (softmax is shift-invariant), whose
/// arguments are &lt;= 0 with the row maximum exactly 0. As tau -&gt; 0 that is the one-hot argmax of s, and its gradient
/// J(y) / tau (J(y) = diag(y) - y y^T) tends to 0 (for a row without ties). Below that size the plain formula is used,
/// bit for bit as before. With <see cref="Guard.FiniteChecks"/>(false) the scan of s is skipped, and with it the
/// overflow detection: the plain formula is used.</para>
/// <para>Two classes without pinned noise (K = 2 on the category axis, and Bernoulli nodes) take one draw per variable:
/// z = theta_0 - theta_1 + beta L with L = G_0 - G_1 ~ Logistic(0, 1) drawn as logit(U), forward one_hot(z &gt;= 0)
/// (STGS) or (sigmoid(z / tau), 1 - sigmoid(z / tau)), gradient sigma'(z / tau) / tau (g_0 - g_1) (1, -1): the same law
/// and the same gradient for the same perturbed difference (see the two-class path at <see cref="Categorical"/>). There
/// an overflow of beta L is refused naming beta; z itself may overflow to +-inf (logits near the largest number), which
/// gives the limits (a hard sample, gradient 0) instead of an error.</para>
/// </summary>
internal static class GumbelSoftmaxEstimator
{
    /// <param name="logits">theta [..., K].</param>
    /// <param name="tau">Temperature.</param>
    /// <param name="beta">Gumbel scale; 0 gives softmax(theta / tau) (and argmax(theta) for STGS).</param>
    /// <param name="hard">STGS when true.</param>
    /// <param name="generator">Random source.</param>
    /// <param name="noise">Optional pre-drawn standard Gumbel(0, 1) noise of the logits' shape, finite; it is scaled by beta.</param>
    internal static CategoricalSample Run(Tensor logits, double tau, double beta, bool hard, Generator? generator, Tensor? noise)
        => noise is null && TwoClassEstimator.Applies(logits)
            ? TwoClassEstimator.SampleCategorical(logits, -1, hard ? EstimatorKind.StraightThroughGumbel : EstimatorKind.GumbelSoftmax,
                new EstimatorOptions(Tau: tau, Beta: beta), generator, null)
            : General(logits, tau, beta, hard, generator, noise);

    /// <summary>The estimator for any K (also K = 2, which <see cref="Run"/> gives to <see cref="TwoClassEstimator"/> unless
    /// the noise is pinned).</summary>
    internal static CategoricalSample General(Tensor logits, double tau, double beta, bool hard, Generator? generator, Tensor? noise)
    {
        Guard.CategoricalShape(logits);      // the finite check runs on the scores below (one scan covers both)
        Guard.Temperature(tau, logits.dtype);
        Guard.Scale(beta, logits.dtype);
        if (noise is not null)
        {
            Guard.SameShape(noise, logits, nameof(noise));
            Guard.Finite(noise, nameof(noise));
        }
        using var scope = torch.NewDisposeScope();
        Tensor scores;
        Tensor? g = null;
        if (beta == 0) scores = logits;
        else
        {
            g = noise is null ? Gumbel.SampleLike(logits, 1.0, generator) : noise.to(logits.dtype, logits.device);
            scores = beta == 1.0 ? logits + g : logits + g * beta;
        }
        bool shift = Guard.CheckFiniteLogits && CheckScores(logits, scores, g, beta, tau);
        Tensor y;
        if (shift) y = ((scores - scores.detach().amax(new long[] { -1 }, keepdim: true)) / tau).softmax(-1);
        else y = tau == 1.0 ? scores.softmax(-1) : (scores / tau).softmax(-1);
        var d = OneHot.ArgmaxCore(scores.detach());
        var value = hard ? d + (y - y.detach()) : y;
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits);
    }

    /// <summary>
    /// Throws unless the scores are finite (naming the logits when they are not finite, else beta when beta g overflows,
    /// else the logits); returns whether s / tau could overflow, i.e. the shifted formula is needed.
    /// </summary>
    private static bool CheckScores(Tensor logits, Tensor scores, Tensor? g, double beta, double tau)
    {
        double maxAbs = Guard.MaxAbs(scores);
        double max = torch.finfo(scores.dtype).max;
        if (double.IsFinite(maxAbs)) return maxAbs / tau > max / 2;
        Guard.Finite(logits, nameof(logits));
        var dtype = logits.dtype;
        double maxG = g is null ? 0 : Guard.MaxAbs(g);
        if (!(beta * maxG < max))
            throw new ArgumentOutOfRangeException(nameof(beta), beta,
                $"beta * g overflows {dtype}: beta = {beta} times max |g| = {maxG} exceeds {Guard.Show(max, dtype)}, the largest {dtype} number; "
                + $"beta * |g| + |logits| must stay below it.");
        throw new NonFiniteValueException(
            $"logits + beta * g overflows {dtype}: |logits| + beta * |g| must stay below {Guard.Show(max, dtype)}, the largest {dtype} number.",
            nameof(logits));
    }
}
