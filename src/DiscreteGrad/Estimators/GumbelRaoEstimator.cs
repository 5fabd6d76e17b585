using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Gumbel-Rao Monte Carlo (GR-MCK, Paulus, Maddison and Krause, ICLR 2021): STGS Rao-Blackwellised over the Gumbel noise
/// given the sample.
/// <para>D ~ Cat(softmax(theta)); t = sg(theta), log Z = logsumexp(t); for k = 1..K draw E ~ Exp(1) [..., C] and form the
/// conditional Gumbel logits: for the sampled index, log Z - log E_D; for i != D, -log(E_i e^{-t_i} + E_D / Z)
/// (computed as -logaddexp(log E_i - t_i, log E_D - log Z), stable for logits of any size); gk = those - t;
/// p = mean_k softmax((theta + gk) / tau); out = D + p - sg(p).</para>
/// Memory: only gk [..., C, K] is kept for the backward pass; the softmaxes are recomputed there in chunks, so the
/// peak is about one [..., C, K] tensor instead of the several that autograd through the naive formula keeps.
/// </summary>
internal static class GumbelRaoEstimator
{
    /// <summary>Largest number of elements of one [..., C, chunk] working tensor.</summary>
    internal const long ChunkElements = 1L << 22;

    internal static CategoricalSample Run(Tensor logits, double tau, int k, Generator? generator, Tensor? sample, Tensor? exponentialNoise)
    {
        Guard.CategoricalLogits(logits);
        Guard.Temperature(tau, logits.dtype);
        Guard.AtLeast(k, 1, nameof(k));
        using var scope = torch.NewDisposeScope();
        var d = Categorical.ResolveSample(logits, generator, sample);
        var noiseShape = logits.shape.Append(k).ToArray();
        if (exponentialNoise is not null)
        {
            if (!exponentialNoise.shape.SequenceEqual(noiseShape))
                throw new ArgumentException(
                    $"exponentialNoise must have shape [..., C, k] = [{string.Join(", ", noiseShape)}] (got [{string.Join(", ", exponentialNoise.shape)}]).",
                    nameof(exponentialNoise));
            // Exponential(1) draws: 0 and +inf (the ends of the support) are clamped like fresh draws; below 0 or NaN is refused.
            Guard.InRange(exponentialNoise, 0, double.PositiveInfinity, nameof(exponentialNoise), "[0, +inf] (>= 0, not NaN)");
        }
        var gk = ConditionalGumbels(logits.detach(), d, k, generator, exponentialNoise);
        var p = GumbelRaoFunction.apply(logits, gk, tau)[0];
        var value = d + (p - p.detach());
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits);
    }

    /// <summary>gk [..., C, K]: conditional Gumbel noise given the one-hot sample, minus t (so theta + gk are the perturbed logits).</summary>
    internal static Tensor ConditionalGumbels(Tensor t, Tensor d, int k, Generator? generator, Tensor? exponentialNoise)
    {
        using var _ = torch.no_grad();
        var gk = torch.empty(t.shape.Append(k).ToArray(), dtype: t.dtype, device: t.device);
        var fi = torch.finfo(t.dtype);
        var logZ = t.logsumexp(-1, keepdim: true).unsqueeze(-1);          // [..., 1, 1]
        var tu = t.unsqueeze(-1);                                          // [..., C, 1]
        var du = d.unsqueeze(-1);                                          // [..., C, 1]
        long step = ChunkSize(t, k);
        for (long a = 0; a < k; a += step)
        {
            using var cs = torch.NewDisposeScope();
            long b = Math.Min(k, a + step);
            Tensor logE;                                                   // [..., C, c]
            if (exponentialNoise is not null)
                logE = exponentialNoise.narrow(-1, a, b - a).to(t.dtype, t.device).clamp(fi.tiny, fi.max).log();
            else   // a fresh draw: the same clamp and log, in place
                logE = torch.empty(t.shape.Append(b - a).ToArray(), dtype: t.dtype, device: t.device)
                    .exponential_(1.0, generator).clamp_(fi.tiny, fi.max).log_();
            var logED = (logE * du).sum(-2, keepdim: true);                // [..., 1, c]
            var top = logZ - logED;
            var other = torch.logaddexp(logE - tu, logED - logZ).neg_();
            var cond = torch.where(du == 1, top, other);
            gk.narrow(-1, a, b - a).copy_(cond - tu);
        }
        return gk;
    }

    internal static long ChunkSize(Tensor t, long k)
    {
        long perSample = Math.Max(1, t.numel());
        return Math.Max(1, Math.Min(k, ChunkElements / perSample));
    }
}

/// <summary>p = mean_k softmax((theta + gk) / tau) with a chunked, recomputing backward: grad = mean_k J(s_k)^T v / tau.</summary>
internal sealed class GumbelRaoFunction : torch.autograd.MultiTensorFunction<GumbelRaoFunction>
{
    public override string Name => "GumbelRao";

    public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
        var gk = (Tensor)vars[1];
        var tau = (double)vars[2];
        ctx.save_for_backward(new List<Tensor> { logits, gk });
        ctx.save_data("tau", tau);
        ctx.set_materialize_grads(false);
        var p = torch.zeros_like(logits);
        ForEachChunk(logits, gk, tau, s => p.add_(s.sum(-1)));
        return new List<Tensor> { p.div_(gk.shape[^1]) };
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        if (gradOutputs.Count == 0 || gradOutputs[0] is null || gradOutputs[0].IsInvalid) return new List<Tensor> { null!, null!, null! };
        var saved = ctx.get_saved_variables();
        var logits = saved[0];
        var gk = saved[1];
        var tau = (double)ctx.get_data("tau");
        var v = gradOutputs[0].unsqueeze(-1);
        var grad = torch.zeros_like(logits);
        ForEachChunk(logits, gk, tau, s =>
        {
            var sv = s * v;
            grad.add_((sv - s * sv.sum(-2, keepdim: true)).sum(-1));     // sum_k J(s_k)^T v over the chunk
        });
        grad.div_(gk.shape[^1] * tau);
        return new List<Tensor> { grad, null!, null! };
    }

    /// <summary>Calls <paramref name="use"/> with s = softmax((theta + gk) / tau) over the categories, one chunk of the K draws
    /// [..., C, chunk] at a time, each chunk's temporaries freed before the next.</summary>
    private static void ForEachChunk(Tensor logits, Tensor gk, double tau, Action<Tensor> use)
    {
        using var outer = torch.NewDisposeScope();
        long k = gk.shape[^1];
        long step = GumbelRaoEstimator.ChunkSize(logits, k);
        var tu = logits.unsqueeze(-1);
        for (long a = 0; a < k; a += step)
        {
            using var cs = torch.NewDisposeScope();
            var z = tu + gk.narrow(-1, a, Math.Min(k, a + step) - a);
            if (tau != 1.0) z = z / tau;
            use(z.softmax(-2));
        }
    }
}
