using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Every estimator of <see cref="EstimatorKind"/> specialised to two classes: categorical logits with K = 2 on their
/// category axis, and Bernoulli nodes. Only the difference delta = theta_0 - theta_1 matters (theta for a Bernoulli
/// node), so the node is handled on tensors of the logits' shape without the category axis:
/// <list type="bullet">
/// <item>Sample: one uniform per variable, d_0 = 1[U &lt; sigmoid(delta)] (P(d_0 = 1) = sigmoid(delta) = softmax(theta)_0:
/// the same law as Gumbel-max, argmax(theta + G), with a different random stream). U is drawn in float32 (float64 for
/// float64 logits), so P(d_0 = 1) is sigmoid(delta) rounded up to a multiple of 2^-24 (2^-53). Gumbel-softmax and STGS
/// perturb the difference instead: z = delta + beta L, L = G_0 - G_1 ~ Logistic(0, 1) drawn as logit(U), d_0 = 1[z &gt;= 0],
/// soft value sigmoid(z / tau) (see <see cref="GumbelScores"/>).</item>
/// <item>Gradient: every one of these estimators has, for two classes, a gradient of the form
/// grad_theta = c (g_0 - g_1) (1, -1), with g the gradient reaching the output and c &gt;= 0 a per-variable slope
/// (for a Bernoulli node grad_theta = c g). The slopes, with q = sigmoid(delta / tau):
/// ST: c = q (1 - q) / tau (the Jacobian of softmax(theta / tau));
/// ReinMax: pi_0 = sigmoid(delta), pi_1 = (d_0 + q) / 2, c = 2 pi_1 (1 - pi_1) - pi_0 (1 - pi_0) / 2 (Algorithm 2 of
/// Liu et al. 2023 with J(p)^T v = p_0 p_1 (v_0 - v_1) (1, -1) for two classes; the centring is then a no-op), which at
/// tau = 1 is |d_0 - pi_0| / 2;
/// GST: the gapped difference m = max(delta, gap) when d_0 = 1, min(delta, -gap) when d_0 = 0, c = sigma'(m / tau) / tau
/// with sigma'(x) = sigmoid(x) (1 - sigmoid(x)) (even, so c = sigma'(max(b, gap) / tau) / tau with b = delta or -delta);
/// GR-MCK: c = (1/K) sum_k sigma'(x_k / tau) / tau over K conditional draws of the perturbed difference x = delta + G_0 - G_1
/// given the sample (see <see cref="GumbelRaoSlope"/>);
/// Gumbel-softmax and STGS: c = sigma'(z / tau) / tau, the Jacobian of (sigmoid(z / tau), 1 - sigmoid(z / tau)).</item>
/// </list>
/// The forward value is the hard sample (the soft one for Gumbel-softmax), as in the general path (whose value
/// D + p - sg(p) equals D exactly); ReinMax's
/// probabilities softmax(theta) are left to <see cref="CategoricalSample.Probs"/>, whose softmax gradient is the
/// J(pi_0)^T g_p part of ReinMax's gradient. The whole gradient is one autograd node, a few element-wise kernels on the
/// variables instead of several on [..., 2] (a softmax, an argmax and a one-hot scatter over an axis of size 2 cost
/// ten times an element-wise kernel in libtorch).
/// </summary>
internal static class TwoClassEstimator
{
    /// <summary>Largest number of elements of one [..., chunk] tensor of GR-MCK's conditional draws.</summary>
    internal const long ChunkElements = 1L << 18;

    /// <summary>True for the estimators this class handles, when no noise is pinned: Gumbel-softmax, STGS, ST, ReinMax, GST
    /// and GR-MCK (Gumbel-softmax and STGS only without a pinned sample, which they refuse). The other kinds (ZGR, the
    /// decoupled forms) take the general path.</summary>
    internal static bool Handles(EstimatorKind kind, Tensor? noise, Tensor? sample = null)
        => noise is null && kind is EstimatorKind.GumbelSoftmax or EstimatorKind.StraightThroughGumbel or EstimatorKind.StraightThrough
               or EstimatorKind.ReinMax or EstimatorKind.GappedStraightThrough or EstimatorKind.GumbelRao
           && (sample is null || Categorical.DrawsCategoricalSample(kind));

    /// <summary>Floating-point logits [..., 2] (the estimators' Run methods, which work on the last axis, hand these over).</summary>
    internal static bool Applies(Tensor? logits) => logits is not null && logits.dim() >= 1 && logits.shape[^1] == 2 && logits.is_floating_point();

    /// <summary>A categorical node whose category axis <paramref name="dim"/> has size 2.</summary>
    internal static CategoricalSample SampleCategorical(Tensor logits, long dim, EstimatorKind kind, EstimatorOptions o,
        Generator? generator, Tensor? sample)
    {
        long d = Categorical.NormaliseDim(dim, logits.dim());
        if (sample is not null) Guard.SameShape(sample, logits, nameof(sample));
        Guard.Finite(logits, nameof(logits));
        CheckOptions(kind, o, logits.dtype);
        Tensor? pinned = null;
        if (sample is not null)
        {
            using var check = torch.NewDisposeScope();
            bool binary = ((sample == 0) | (sample == 1)).all().item<bool>();
            bool one = (sample.sum(d) == 1).all().item<bool>();
            if (!binary || !one)
                throw new ArgumentException($"sample must be one-hot over dimension {dim} (each row: one 1, the rest 0).", nameof(sample));
        }
        using var scope = torch.NewDisposeScope();
        if (sample is not null) pinned = sample.detach().select(d, 0);
        Tensor delta;
        using (torch.no_grad())
        {
            var t = logits.detach();
            var cdt = ComputeType(logits.dtype);
            delta = t.select(d, 0).to(cdt) - t.select(d, 1).to(cdt);
        }
        var (d0, soft, c) = Draw(delta, kind, o, generator, pinned, logits.dtype);
        Tensor hard, forward;
        using (torch.no_grad())
        {
            hard = Pair(d0, 1 - d0, d);
            forward = soft is null ? hard : Pair(soft, 1 - soft, d);
        }
        var value = TwoClassFunction.apply(logits, forward, c, d)[0];
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(hard), logits, dim: dim);
    }

    /// <summary>A Bernoulli node, P(z = 1) = sigmoid(theta) (the two-class node [theta, 0]).</summary>
    internal static BernoulliSample SampleBernoulli(Tensor logits, EstimatorKind kind, EstimatorOptions o, Generator? generator, Tensor? sample)
    {
        Guard.BernoulliLogits(logits);
        CheckOptions(kind, o, logits.dtype);
        if (sample is not null)
        {
            Guard.SameShape(sample, logits, nameof(sample));
            using var check = torch.NewDisposeScope();
            if (!((sample == 0) | (sample == 1)).all().item<bool>())
                throw new ArgumentException("sample must hold only 0 and 1.", nameof(sample));
        }
        using var scope = torch.NewDisposeScope();
        Tensor delta;
        using (torch.no_grad()) delta = logits.detach().to(ComputeType(logits.dtype));
        var (d0, soft, c) = Draw(delta, kind, o, generator, sample?.detach(), logits.dtype);
        var value = TwoClassFunction.apply(logits, soft ?? d0, c, -1L)[0];
        return new BernoulliSample(scope.MoveToOuter(value), scope.MoveToOuter(d0), logits);
    }

    private static void CheckOptions(EstimatorKind kind, EstimatorOptions o, ScalarType dtype)
    {
        Guard.Temperature(o.Tau, dtype);
        if (kind is EstimatorKind.GumbelSoftmax or EstimatorKind.StraightThroughGumbel) Guard.Scale(o.Beta, dtype);
        if (kind == EstimatorKind.GappedStraightThrough) Guard.NonNegative(o.Gap, "gap");
        if (kind == EstimatorKind.GumbelRao) Guard.AtLeast(o.GumbelRaoK, 1, "k");
    }

    /// <summary>float64 for float64 logits, float32 otherwise (the uniforms and slopes of half-precision logits are computed in float32).</summary>
    private static ScalarType ComputeType(ScalarType dtype) => dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;

    /// <summary>
    /// The sample d_0 (pinned, or 1[U &lt; sigmoid(delta)]; for Gumbel-softmax and STGS 1[z &gt;= 0]), the soft forward value
    /// (Gumbel-softmax only, else null) and the slope c of the estimator, all in <paramref name="dtype"/>.
    /// </summary>
    /// <param name="delta">theta_0 - theta_1 (detached), float32 or float64.</param>
    /// <param name="kind">The estimator.</param>
    /// <param name="o">Its options.</param>
    /// <param name="generator">Random source.</param>
    /// <param name="pinned">Pinned d_0 in {0, 1}, or null.</param>
    /// <param name="dtype">The logits' dtype.</param>
    internal static (Tensor D0, Tensor? Soft, Tensor Slope) Draw(Tensor delta, EstimatorKind kind, EstimatorOptions o, Generator? generator,
        Tensor? pinned, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        double tau = o.Tau;
        if (kind is EstimatorKind.GumbelSoftmax or EstimatorKind.StraightThroughGumbel)
        {
            var z = GumbelScores(delta, o.Beta, generator);
            var y = (tau == 1.0 ? z.sigmoid() : (z / tau).sigmoid_());
            var hard = z.ge_(0);
            var soft = kind == EstimatorKind.GumbelSoftmax ? scope.MoveToOuter(y.to(dtype)) : null;
            return (scope.MoveToOuter(hard.to(dtype)), soft, scope.MoveToOuter(Slope(y, tau).to(dtype)));
        }
        var pi0 = delta.sigmoid();
        var d0 = pinned is not null
            ? pinned.to(delta.dtype, delta.device)
            : torch.rand(delta.shape, dtype: delta.dtype, device: delta.device, generator: generator).lt_(pi0);
        Tensor c;
        switch (kind)
        {
            case EstimatorKind.StraightThrough:
                c = Slope(tau == 1.0 ? pi0 : (delta / tau).sigmoid_(), tau);
                break;
            case EstimatorKind.ReinMax when tau == 1.0:
                c = (d0 - pi0).abs_().mul_(0.5);             // the general slope below at q = pi0: (1 - pi0) / 2 or pi0 / 2
                break;
            case EstimatorKind.ReinMax:
            {
                var pi1 = (d0 + (delta / tau).sigmoid_()).mul_(0.5);
                c = Slope(pi1, 0.5).sub_(Slope(pi0, 2.0));   // 2 pi1 (1 - pi1) - pi0 (1 - pi0) / 2
                break;
            }
            case EstimatorKind.GappedStraightThrough:
            {
                // m = max(delta, gap) (d_0 = 1) or min(delta, -gap) (d_0 = 0) is +-max(b, gap), b = +-delta, and sigma' is even.
                var m = Signed(delta, d0).clamp_min_(o.Gap);
                c = Slope((tau == 1.0 ? m : m.div_(tau)).sigmoid_(), tau);
                break;
            }
            case EstimatorKind.GumbelRao:
                c = GumbelRaoSlope(delta, d0, tau, o.GumbelRaoK, generator, null);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a two-class estimator");
        }
        return (scope.MoveToOuter(d0.to(dtype)), null, scope.MoveToOuter(c.to(dtype)));
    }

    /// <summary>
    /// The perturbed difference z = delta + beta L of Gumbel-softmax and STGS: L = G_0 - G_1 ~ Logistic(0, 1), drawn as
    /// logit(U) with U uniform in [tiny, 1 - eps/2] of delta's dtype (the clamp of <see cref="Sampling.Gumbel.FromUniform"/>),
    /// so argmax(theta + beta G) = class 0 exactly when z &gt;= 0. beta = 0 draws nothing (z = delta). With the finite checks
    /// on, an overflow of beta L is refused naming beta, as the general path refuses an overflow of beta g (z itself may
    /// be +-inf when delta is: sigmoid and the slope then take their limits, 0 or 1 and 0).
    /// </summary>
    private static Tensor GumbelScores(Tensor delta, double beta, Generator? generator)
    {
        if (beta == 0) return delta.clone();
        var fi = torch.finfo(delta.dtype);
        var l = torch.rand(delta.shape, dtype: delta.dtype, device: delta.device, generator: generator)
            .clamp_(fi.tiny, 1.0 - fi.eps / 2).logit_();
        if (Guard.CheckFiniteLogits)
        {
            double maxL = Guard.MaxAbs(l);
            if (!(beta * maxL < fi.max))
                throw new ArgumentOutOfRangeException(nameof(beta), beta,
                    $"beta * g overflows {delta.dtype}: beta = {beta} times max |g_0 - g_1| = {maxL} exceeds {Guard.Show(fi.max, delta.dtype)}, the largest {delta.dtype} number; "
                    + "beta * |g| + |logits| must stay below it.");
        }
        return beta == 1.0 ? l.add_(delta) : l.mul_(beta).add_(delta);
    }

    /// <summary>
    /// b = delta for d_0 = 1 and -delta for d_0 = 0, as -delta + 2 delta d_0 (exact for d_0 in {0, 1}; where() costs ten
    /// element-wise kernels on CPU). For |delta| above half the dtype's largest number b overflows to +-inf (with b's
    /// sign), where the slopes that use b take their limits, as they do for delta itself.
    /// </summary>
    private static Tensor Signed(Tensor delta, Tensor d0) => torch.addcmul(delta.neg(), delta, d0, 2.0);

    /// <summary>s (1 - s) / scale.</summary>
    private static Tensor Slope(Tensor s, double scale)
    {
        var r = torch.addcmul(s, s, s, -1.0);
        return scale == 1.0 ? r : r.div_(scale);
    }

    /// <summary>
    /// GR-MCK's slope for two classes: c = (1/K) sum_k sigma'(x_k / tau) / tau, sigma' = sigmoid (1 - sigmoid), over K
    /// conditional draws of the perturbed difference x = delta + G_0 - G_1 given the sample. x is Logistic(delta, 1), and
    /// d_0 = 1[x &gt;= 0], so given d_0 it is that logistic truncated to x &gt;= 0 (d_0 = 1) or x &lt; 0 (d_0 = 0); with
    /// b = delta for d_0 = 1 and -delta for d_0 = 0, |x| = b - logit(U sigmoid(b)) for U ~ U(0, 1) (inverse CDF), which is
    /// computed as y = softplus(b) - log U + log1p(-U sigmoid(b)) (stable for every b). sigma' is even, so the sign of x
    /// does not matter. At tau = 1 the slope is rational in U: with r = exp(-|b|) and h = U / (1 + r + g U),
    /// g = 1 - r for b &lt;= 0 and r - 1 for b &gt; 0, sigma'(y) = h (1 - h) for b &lt;= 0 and r h (1 - r h) for b &gt; 0, so no
    /// logarithm is taken per draw and sum_k sigma'(y_k) = m (sum h - kappa sum h^2) (m = kappa = 1, or r).
    /// The draws are laid out [K, ...] (a chunk of them at a time), so that every per-variable coefficient broadcasts
    /// along the contiguous axis and the sums over the draws are outer reductions.
    /// </summary>
    /// <param name="delta">theta_0 - theta_1 [...] (float32 or float64).</param>
    /// <param name="d0">The sample d_0 [...] in {0, 1}, delta's dtype.</param>
    /// <param name="tau">Temperature.</param>
    /// <param name="k">Number of conditional draws.</param>
    /// <param name="generator">Random source of the uniforms (ignored when <paramref name="uniforms"/> is given).</param>
    /// <param name="uniforms">Optional uniforms U [k, ...] in [0, 1) (for tests); null draws them.</param>
    /// <param name="rational">Use the rational form at tau = 1 (default); false forces the logarithmic form (for tests).</param>
    internal static Tensor GumbelRaoSlope(Tensor delta, Tensor d0, double tau, int k, Generator? generator, Tensor? uniforms,
        bool rational = true)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var b = Signed(delta, d0);
        bool useRational = rational && tau == 1.0;
        Tensor? alpha = null, gamma = null, kappa = null, softplusB = null, minusSigmoidB = null;
        if (useRational)
        {
            var r = b.abs().neg_().exp_();
            var positive = (b > 0).to(b.dtype);
            alpha = r + 1;                                                     // 1 + r
            gamma = (1 - r).mul_(positive.mul(-2).add_(1));                    // 1 - r (b <= 0) or r - 1 (b > 0)
            kappa = torch.lerp(torch.ones_like(r), r, positive);               // 1 (b <= 0) or r (b > 0), exactly
        }
        else
        {
            softplusB = torch.nn.functional.softplus(b);
            minusSigmoidB = b.sigmoid().neg_();
        }
        var sum = torch.zeros_like(delta);
        var sumSquares = useRational ? torch.zeros_like(delta) : null;
        var draws = new long[] { 0 };
        long rows = Math.Max(1, delta.numel());
        long step = Math.Max(1, Math.Min(k, ChunkElements / rows));
        for (long a = 0; a < k; a += step)
        {
            using var cs = torch.NewDisposeScope();
            long n = Math.Min(k, a + step) - a;
            var u = uniforms is not null
                ? uniforms.narrow(0, a, n).to(delta.dtype, delta.device)
                : torch.rand(delta.shape.Prepend(n).ToArray(), dtype: delta.dtype, device: delta.device, generator: generator);
            if (useRational)
            {
                var h = u.div(torch.addcmul(alpha!, u, gamma!, 1.0));          // U / (1 + r + g U)
                sum.add_(h.sum(draws));
                sumSquares!.add_(h.mul_(h).sum(draws));
            }
            else
            {
                var y = (u * minusSigmoidB!).log1p_().sub_(u.log()).add_(softplusB!);   // b - logit(U sigmoid(b))
                var s = y.div_(tau).sigmoid_();
                sum.add_(torch.addcmul(s, s, s, -1.0).sum(draws));
            }
        }
        if (useRational) sum.sub_(sumSquares!.mul_(kappa!)).mul_(kappa!);
        return scope.MoveToOuter(sum.div_(k * tau));
    }

    /// <summary>[first, second] stacked on a new axis <paramref name="axis"/> (cheaper than torch.stack for an axis of size 2).</summary>
    internal static Tensor Pair(Tensor first, Tensor second, long axis)
    {
        var shape = first.shape.ToList();
        shape.Insert((int)axis, 2);
        var o = torch.empty(shape.ToArray(), dtype: first.dtype, device: first.device);
        o.select(axis, 0).copy_(first);
        o.select(axis, 1).copy_(second);
        return o;
    }
}

/// <summary>
/// The autograd node of <see cref="TwoClassEstimator"/>: inputs (theta, value, c, axis); output the value; gradient
/// c (g_0 - g_1) (1, -1) on the pair axis, or c g for an elementwise (Bernoulli) node (axis -1).
/// </summary>
internal sealed class TwoClassFunction : torch.autograd.MultiTensorFunction<TwoClassFunction>
{
    public override string Name => "TwoClass";

    public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var value = (Tensor)vars[1];
        var c = (Tensor)vars[2];
        ctx.save_for_backward(new List<Tensor> { c });
        ctx.save_data("axis", (long)vars[3]);
        ctx.set_materialize_grads(false);
        return new List<Tensor> { value.clone() };
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        if (gradOutputs.Count == 0 || gradOutputs[0] is not { IsInvalid: false } g) return new List<Tensor> { null!, null!, null!, null! };
        var c = ctx.get_saved_variables()[0];
        long axis = (long)ctx.get_data("axis");
        Tensor grad;
        if (axis < 0) grad = g * c;
        else
        {
            var gd = (g.select(axis, 0) - g.select(axis, 1)).mul_(c);
            grad = TwoClassEstimator.Pair(gd, gd.neg(), axis);
        }
        return new List<Tensor> { grad, null!, null!, null! };
    }
}
