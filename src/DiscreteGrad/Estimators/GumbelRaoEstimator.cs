using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Gumbel-Rao Monte Carlo (GR-MCK, Paulus, Maddison and Krause, "Rao-Blackwellizing the Straight-Through Gumbel-Softmax
/// Gradient Estimator", ICLR 2021): STGS Rao-Blackwellised over the Gumbel noise given the sample.
/// <para>D ~ Cat(pi), pi = softmax(theta), with index x; for k = 1..K the conditional Gumbel logits given D (top-down:
/// E ~ Exp(1) [..., C], Z = sum exp(theta); for the sampled index log Z - log E_x, for i != x -log(E_i e^{-theta_i} + E_x / Z))
/// enter s_k = softmax(conditional logits / tau), and the estimator is out = D + p - sg(p), p = (1/K) sum_k s_k, whose
/// gradient is (1/K) sum_k J(s_k)^T v / tau (J(s) = diag(s) - s s^T).</para>
/// <para>Computed without logarithms or exponentials of the conditional logits: exponentiated and divided by the sampled
/// entry's, they are r_x = 1 and r_i = pi_i E_x / (E_i + pi_i E_x) in [0, 1] for i != x, so s_k = r^(1/tau) / sum r^(1/tau)
/// (r^(1/tau) = 0 where pi_i = 0: masked categories get nothing). Fresh draws take E = -log U with U ~ U(0, 1) (the same
/// Exponential(1) law as <c>exponential_</c>): on CPU for float32 / float64 log U is computed in float64 on SIMD lanes
/// from a counter-based stream keyed by one draw of the generator (U in the open interval (0, 1)); elsewhere U is drawn
/// in the logits' dtype with <c>rand</c> and U = 0 is clamped to the smallest normal number, as <see cref="Gumbel"/> does; pinned Exponential(1) noise is clamped into [tiny, max] of the
/// dtype. The value is D itself (D + p - sg(p) equals D exactly). Only r^(1/tau) [..., C, K] and 1 / sum_i r^(1/tau)
/// [..., 1, K] are kept for the backward pass, which is two batched matrix products per chunk of draws:
/// sum_k J(s_k)^T v = v * (R w) - R (w^2 * (R^T v)), w_k = 1 / sum_i r_ik.</para>
/// </summary>
internal static class GumbelRaoEstimator
{
    /// <summary>Largest number of elements of one [..., C, chunk] working tensor (a chunk of draws stays in cache).</summary>
    internal const long ChunkElements = 1L << 18;

    internal static CategoricalSample Run(Tensor logits, double tau, int k, Generator? generator, Tensor? sample, Tensor? exponentialNoise)
        => exponentialNoise is null && TwoClassEstimator.Applies(logits)
            ? TwoClassEstimator.SampleCategorical(logits, -1, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: tau, GumbelRaoK: k), generator, sample)
            : General(logits, tau, k, generator, sample, exponentialNoise);

    /// <summary>The estimator for any K (also two classes, which <see cref="Run"/> gives to <see cref="TwoClassEstimator"/>
    /// unless the noise is pinned).</summary>
    internal static CategoricalSample General(Tensor logits, double tau, int k, Generator? generator, Tensor? sample, Tensor? exponentialNoise)
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
        var (r, w) = Ratios(logits.detach(), d, tau, k, generator, exponentialNoise);
        var value = GumbelRaoFunction.apply(logits, d, r, w, tau)[0];
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits);
    }

    /// <summary>
    /// Per chunk of the K draws: R = r^(1/tau) [..., C, c] (r as in the class remarks) and w = 1 / sum_i R [..., 1, c], so
    /// that s_k = R[..., k] * w[..., k].
    /// </summary>
    internal static (List<Tensor> R, List<Tensor> W) Ratios(Tensor t, Tensor d, double tau, int k, Generator? generator, Tensor? exponentialNoise)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var fi = torch.finfo(t.dtype);
        var index = d.argmax(-1, keepdim: true);                               // [..., 1]
        // pi with 1 at the sample: b = pi' * L_x then gives r_x = L_x / L_x = 1 exactly (L_x < 0), whatever pi_x is.
        var piU = t.softmax(-1).scatter_(-1, index, torch.ones_like(index, dtype: t.dtype)).unsqueeze(-1);   // [..., C, 1]
        var rows = t.shape[..^1];
        long c = t.shape[^1];
        long step = ChunkSize(t, k);
        var rs = new List<Tensor>();
        var ws = new List<Tensor>();
        // On CPU the uniforms come from a counter-based stream keyed once by the generator (a managed SIMD log U per draw,
        // a third of libtorch's rand + log), chunk after chunk from consecutive words.
        bool managed = exponentialNoise is null && t.device_type == DeviceType.CPU && t.dtype is ScalarType.Float32 or ScalarType.Float64;
        ulong key = managed ? Imle.CounterStream.KeyFrom(generator, t.device) : 0, word = 0;
        for (long a = 0; a < k; a += step)
        {
            using var cs = torch.NewDisposeScope();
            long n = Math.Min(k, a + step) - a;
            var at = index.unsqueeze(-1).expand(rows.Append(1).Append(n).ToArray());   // [..., 1, n]
            // L = -E = log U < 0 (fresh) or -clamp(E) (pinned).
            Tensor l;
            if (exponentialNoise is not null) l = exponentialNoise.narrow(-1, a, n).to(t.dtype, t.device).clamp(fi.tiny, fi.max).neg_();
            else if (managed)
            {
                l = torch.empty(rows.Append(c).Append(n).ToArray(), dtype: t.dtype, device: t.device);
                Imle.NoiseKernels.LogUniform(l, key, word);
                word += (ulong)l.numel();
            }
            else l = torch.rand(rows.Append(c).Append(n).ToArray(), dtype: t.dtype, device: t.device, generator: generator).log_();
            var lx = l.gather(-2, at);                                           // [..., 1, n]
            if (exponentialNoise is null) lx.clamp_min_(Math.Log(fi.tiny));     // U_x = 0: E_x = -log(tiny), finite
            l.scatter_(-2, at, torch.zeros_like(lx));                            // L_x = 0, so r_x = b_x / b_x
            var b = piU * lx;                                                    // pi_i L_x <= 0
            var ratio = b.div_(l.add_(b));                                       // pi_i L_x / (pi_i L_x + L_i) = r_i
            if (tau != 1.0) ratio.pow_(1.0 / tau);
            var w = ratio.sum(-2, keepdim: true).reciprocal_();
            rs.Add(cs.MoveToOuter(ratio));
            ws.Add(cs.MoveToOuter(w));
        }
        foreach (var x in rs) scope.MoveToOuter(x);
        foreach (var x in ws) scope.MoveToOuter(x);
        return (rs, ws);
    }

    internal static long ChunkSize(Tensor t, long k)
    {
        long perDraw = Math.Max(1, t.numel());
        return Math.Max(1, Math.Min(k, ChunkElements / perDraw));
    }
}

/// <summary>
/// Inputs (theta, D, R chunks, w chunks, tau); output D, with the gradient (1/K) sum_k J(s_k)^T v / tau,
/// s_k = R[..., k] w[..., k], computed per chunk as v * (R w) - R (w^2 * (R^T v)).
/// </summary>
internal sealed class GumbelRaoFunction : torch.autograd.MultiTensorFunction<GumbelRaoFunction>
{
    public override string Name => "GumbelRao";

    public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var d = (Tensor)vars[1];
        var r = (List<Tensor>)vars[2];
        var w = (List<Tensor>)vars[3];
        ctx.save_for_backward(r.Concat(w).ToList());
        ctx.save_data("chunks", r.Count);
        ctx.save_data("k", r.Sum(x => x.shape[^1]));
        ctx.save_data("tau", (double)vars[4]);
        ctx.set_materialize_grads(false);
        return new List<Tensor> { d.clone() };
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        var none = new List<Tensor> { null!, null!, null!, null!, null! };
        if (gradOutputs.Count == 0 || gradOutputs[0] is not { IsInvalid: false } v) return none;
        var saved = ctx.get_saved_variables();
        int chunks = (int)ctx.get_data("chunks");
        long k = (long)ctx.get_data("k");
        var tau = (double)ctx.get_data("tau");
        var vRow = v.unsqueeze(-2);                                            // [..., 1, C]
        var grad = torch.zeros_like(v);
        for (int i = 0; i < chunks; i++)
        {
            using var cs = torch.NewDisposeScope();
            var r = saved[i];                                                  // [..., C, c]
            var w = saved[chunks + i];                                         // [..., 1, c]
            var a = torch.matmul(vRow, r).mul_(w).mul_(w);                     // w^2 (R^T v)   [..., 1, c]
            var m = torch.matmul(r, torch.cat(new[] { w, a }, -2).transpose(-1, -2));   // [..., C, 2]
            grad.addcmul_(v, m.select(-1, 0), 1.0).sub_(m.select(-1, 1));
        }
        none[0] = grad.div_(k * tau);
        return none;
    }
}
