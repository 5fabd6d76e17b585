using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>
/// MuProp (Gu, Levine, Sutskever and Mnih 2016, "MuProp: Unbiased backpropagation for stochastic neural networks"):
/// REINFORCE with the first-order Taylor baseline of f around the mean-field point mu = E[z],
/// <code>b(z) = f(mu) + f'(mu) . (z - mu),   mu_b = E[b(z) grad log p(z)] = f'(mu) . grad_phi E[z]</code>
/// and the correction mu_b added back analytically, so the estimator is unbiased for any f:
/// <code>grad = (f(z) - b(z)) grad log p(z) + f'(mu) . grad_phi mu (+ grad_theta f(z), the pathwise part)</code>
/// As a surrogate: sg(f(z) - b(z)) (log p - sg(log p)) + sum sg(f'(mu)) (mu - sg(mu)) + f(z). f(mu) and f'(mu) come from one
/// extra forward/backward of f at the detached mean (f must accept relaxed inputs: probabilities in place of one-hot
/// vectors); they are constants of the step. Only the distribution's parameters receive the correction; parameters of f
/// receive grad_theta f(z).
/// </summary>
public static class MuProp
{
    /// <summary>The MuProp surrogate for a sample of any distribution whose mean is known.</summary>
    /// <param name="sample">z [S?, ...event] (no gradient).</param>
    /// <param name="mean">mu = E[z], differentiable with respect to the distribution's parameters; broadcastable to z
    /// (the same mean for every sample).</param>
    /// <param name="logProb">log p(z), shape of f(z).</param>
    /// <param name="f">Maps z (and mu, of z's shape) to values whose shape is a leading part of z's shape.</param>
    public static ScoreFunctionResult Surrogate(Tensor sample, Tensor mean, Tensor logProb, Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(f);
        Checks.FloatingFinite(mean, nameof(mean));
        Checks.BroadcastsTo(mean, sample, nameof(mean), nameof(sample));
        using var scope = torch.NewDisposeScope();
        var z = sample.detach().to(mean.dtype);
        var r = Taylor.Build(z, mean.expand(z.shape), _ => logProb, 0, f, correction: true);
        return Taylor.MoveOut(scope, r);
    }

    /// <summary>MuProp for a categorical node: mu = softmax(theta).</summary>
    /// <param name="logits">theta [..., K].</param>
    /// <param name="f">Maps one-hot (or probability) tensors [S?, ..., K] to values whose shape is a leading part.</param>
    /// <param name="samples">Samples along a new leading dimension (null: one).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned one-hot sample.</param>
    public static ScoreFunctionResult Categorical(Tensor logits, Func<Tensor, Tensor> f, long? samples = null,
        Generator? generator = null, Tensor? sample = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.CategoricalLogits(logits);
        if (sample is not null) Checks.OneHotSample(sample, logits, nameof(sample));
        using var scope = torch.NewDisposeScope();
        var z = sample?.detach().to(logits.dtype) ?? Samples.Categorical(logits, samples, generator);
        var r = Taylor.Build(z, logits.softmax(-1).expand(z.shape), ev => LogProb.CategoricalCore(logits, z, ev - 1), 1, f, correction: true);
        return Taylor.MoveOut(scope, r);
    }

    /// <summary>MuProp for a Bernoulli node: mu = sigmoid(theta).</summary>
    /// <param name="logits">theta [...].</param>
    /// <param name="f">Maps z (or probabilities) [S?, ...] to values whose shape is a leading part.</param>
    /// <param name="samples">Samples along a new leading dimension (null: one).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned z in {0, 1}.</param>
    public static ScoreFunctionResult Bernoulli(Tensor logits, Func<Tensor, Tensor> f, long? samples = null,
        Generator? generator = null, Tensor? sample = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.BernoulliLogits(logits);
        if (sample is not null) Checks.BinarySample(sample, logits, nameof(sample));
        using var scope = torch.NewDisposeScope();
        var z = sample?.detach().to(logits.dtype) ?? Samples.Bernoulli(logits, samples, generator);
        var r = Taylor.Build(z, torch.sigmoid(logits).expand(z.shape), ev => LogProb.BernoulliCore(logits, z, ev), 0, f, correction: true);
        return Taylor.MoveOut(scope, r);
    }
}

/// <summary>
/// DARN's estimator for Bernoulli nodes (Gregor, Danihelka, Mnih, Blundell and Wierstra 2014, "Deep autoregressive
/// networks", as characterised by Gu et al. 2016): REINFORCE with the first-order Taylor baseline at the
/// fixed point xbar = 1/2,
/// <code>b(z) = f(1/2) + f'(1/2) . (z - 1/2),   grad = (f(z) - b(z)) grad log p(z) (+ grad_theta f(z))</code>
/// with the correction mu_b = f'(1/2) . grad_phi E[z] = f'(1/2) . sigmoid'(phi) grad phi DROPPED. It is biased by design:
/// E[grad] = grad E[f] - f'(1/2) . grad_phi E[z], i.e. the bias is exactly minus the dropped correction (per logit:
/// -f'(1/2)_i sigmoid(phi_i) sigmoid(-phi_i)). Note that this literal "baseline without its correction" form, which is
/// what the usual summaries describe, is biased whenever f'(1/2) != 0, quadratic f included. The remark that DARN is
/// biased only for non-quadratic f fits the complementary reading (keep the Taylor term, drop the residual
/// (f - b) grad log p): for one Bernoulli coordinate and f quadratic in it, f(1) - f(0) = f'(1/2), so the correction
/// alone is exact. This class implements the documented form; use <see cref="MuProp"/> for an unbiased estimator.
/// </summary>
public static class Darn
{
    /// <summary>The DARN surrogate for a Bernoulli node (biased; see the class remarks).</summary>
    /// <param name="logits">theta [...].</param>
    /// <param name="f">Maps z [S?, ...] in {0, 1} (and the point 1/2) to values whose shape is a leading part.</param>
    /// <param name="samples">Samples along a new leading dimension (null: one).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned z in {0, 1}.</param>
    public static ScoreFunctionResult Bernoulli(Tensor logits, Func<Tensor, Tensor> f, long? samples = null,
        Generator? generator = null, Tensor? sample = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.BernoulliLogits(logits);
        if (sample is not null) Checks.BinarySample(sample, logits, nameof(sample));
        using var scope = torch.NewDisposeScope();
        var z = sample?.detach().to(logits.dtype) ?? Samples.Bernoulli(logits, samples, generator);
        var half = torch.full(z.shape, 0.5, dtype: z.dtype, device: z.device);
        var r = Taylor.Build(z, half, ev => LogProb.BernoulliCore(logits, z, ev), 0, f, correction: false);
        return Taylor.MoveOut(scope, r);
    }
}

/// <summary>Shared construction of the Taylor-baseline surrogates.</summary>
internal static class Taylor
{
    internal sealed record Parts(Tensor Surrogate, Tensor Sample, Tensor Values, Tensor Signal);

    /// <summary>
    /// sg(f(z) - f(p) - f'(p).(z - p)) (log p(z) - sg(log p(z))) [+ sum sg(f'(p)) (p - sg(p))] + f(z), with point p of z's shape.
    /// </summary>
    /// <param name="z">The sample.</param>
    /// <param name="point">The expansion point, z's shape (differentiable for the correction).</param>
    /// <param name="logProbOf">log p(z) summed to f's shape, given the number of event dimensions of f.</param>
    /// <param name="minEventDims">1 for one-hot samples (f must reduce the category dimension), 0 otherwise.</param>
    /// <param name="f">The function.</param>
    /// <param name="correction">Add the analytic correction (MuProp) or not (DARN).</param>
    public static Parts Build(Tensor z, Tensor point, Func<int, Tensor> logProbOf, int minEventDims, Func<Tensor, Tensor> f, bool correction)
    {
        var fz = f(z);
        int ev = Checks.EventDims(z, fz, minEventDims, nameof(f));
        Checks.FloatingFinite(fz, "f");
        var logProb = logProbOf(ev);
        Guard.SameShape(logProb, fz, nameof(logProb), "f(sample)", " Sum the log-probabilities over the latent dimensions first.");
        Checks.FloatingFinite(logProb, nameof(logProb));

        var leaf = point.detach().clone().requires_grad_(true);
        Tensor fp, grad;
        using (torch.enable_grad())
        {
            fp = f(leaf);
            if (!fp.shape.SequenceEqual(fz.shape))
                throw new ArgumentException($"f must give the same shape at the expansion point as at the sample ({Checks.Show(fz.shape)}; got {Checks.Show(fp.shape)}).", nameof(f));
            // "+ 0 * sum(leaf)" keeps the gradient defined when f ignores its input.
            grad = torch.autograd.grad(new[] { fp.sum() + leaf.sum() * 0 }, new[] { leaf })[0].detach();
        }
        var taylor = fp.detach() + Checks.SumTrailing(grad * (z - leaf.detach()), ev);
        var signal = fz.detach() - taylor;
        var surrogate = Reinforce.FromSignal(signal, logProb, fz);
        if (correction)
            surrogate = surrogate + Checks.SumTrailing(grad * (point - point.detach()), ev);
        return new Parts(surrogate, z, fz.detach(), signal);
    }

    public static ScoreFunctionResult MoveOut(DisposeScope scope, Parts r)
        => new(scope.MoveToOuter(r.Surrogate), scope.MoveToOuter(r.Sample), scope.MoveToOuter(r.Values), scope.MoveToOuter(r.Signal));
}
