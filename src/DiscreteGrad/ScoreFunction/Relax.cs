using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>What one RELAX / REBAR call produces.</summary>
/// <param name="Gradients">The per-sample gradient estimates of d E[f(b)] / d theta, [S, ...logits]. They carry a graph
/// to the control variate's parameters (computed with create_graph), so <see cref="VarianceLoss"/> can train them; detach
/// them before applying them to the logits: <c>logits.backward(r.Gradient.detach())</c>.</param>
/// <param name="Sample">The hard samples b [S, ...logits] (no gradient).</param>
/// <param name="Values">f(b) [S], as f returned it (with its gradient path to f's own parameters, if any).</param>
public sealed record RelaxEstimate(Tensor Gradients, Tensor Sample, Tensor Values)
{
    /// <summary>The estimate averaged over the S samples, [...logits].</summary>
    public Tensor Gradient => Gradients.mean(new long[] { 0 });

    /// <summary>
    /// The Monte Carlo estimate (1/S) sum_s ||g_s||^2 of E[g^2] summed over the logits; as the estimator is unbiased for
    /// every control variate, its gradient with respect to the control variate's parameters is that of the variance.
    /// </summary>
    public Tensor VarianceLoss => Gradients.pow(2).sum() / Gradients.shape[0];
}

/// <summary>
/// RELAX (Grathwohl, Choi, Wu, Roeder and Duvenaud, "Backpropagation through the Void: Optimizing Control Variates for
/// Black-Box Gradient Estimation", ICLR 2018) for Bernoulli nodes b = H(z), z = theta + log u - log(1 - u), u ~ U(0, 1),
/// P(b = 1) = sigmoid(theta), with a control variate c_phi of the relaxed variable:
/// <code>g = [f(b) - c_phi(z~)] d/dtheta log p(b) + d/dtheta c_phi(z) - d/dtheta c_phi(z~)</code>
/// where z~ ~ p(z | b) is the conditional reparameterisation of Tucker et al. (2017): with v ~ U(0, 1) and
/// q = sigmoid(theta), v' = b (q v + 1 - q) + (1 - b) (1 - q) v and z~ = theta + log v' - log(1 - v'), so that z~ has the
/// law of z given b and depends on theta pathwise. d/dtheta log p(b) = b - sigmoid(theta). g is unbiased for every c_phi,
/// so phi is trained by descending d/dphi E[g^2] (<see cref="RelaxEstimate.VarianceLoss"/>, autograd through g built with
/// create_graph). REBAR (Tucker, Mnih, Maddison, Lawson and Sohl-Dickstein, "REBAR: Low-variance, unbiased gradient
/// estimates for discrete latent variable models", NeurIPS 2017) is the special case c(z) = eta f(sigmoid(z / lambda))
/// (<see cref="RebarControlVariate"/>); RELAX uses any differentiable c_phi, e.g. that plus a small network.
/// <see cref="Categorical"/> is the same for categorical nodes, with the Gumbel-max relaxation.
/// <para>The gradient is taken with respect to a detached copy of the logits per sample, so the variance loss reaches
/// phi only; apply <see cref="RelaxEstimate.Gradient"/> (detached) to the logits with <c>backward(gradient)</c>.</para>
/// </summary>
public static class Relax
{
    /// <summary>RELAX for Bernoulli nodes with logits theta [...] and S samples.</summary>
    /// <param name="logits">theta [...], floating point and finite.</param>
    /// <param name="f">Maps b [S, ...] in {0, 1} to values [S], or to [S, B...] with B... a leading part of the logits'
    /// shape (a batch of independent problems, e.g. the images of a VAE batch: each row's learning signal
    /// f - c(z~) then multiplies only that row's score).</param>
    /// <param name="controlVariate">c_phi: maps relaxed z [S, ...] (real logits) to values of f's shape, differentiable in z.</param>
    /// <param name="samples">S &gt;= 1 (ignored when <paramref name="uniform"/> is given).</param>
    /// <param name="generator">Random source of u and v.</param>
    /// <param name="uniform">Optional pinned u [S, ...] in (0, 1), which sets b.</param>
    /// <param name="conditionalUniform">Optional pinned v [S, ...] in (0, 1) of the conditional draw (with <paramref name="uniform"/>).</param>
    public static RelaxEstimate Bernoulli(Tensor logits, Func<Tensor, Tensor> f, Func<Tensor, Tensor> controlVariate, long samples = 1,
        Generator? generator = null, Tensor? uniform = null, Tensor? conditionalUniform = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(controlVariate);
        Guard.BernoulliLogits(logits);
        Guard.AtLeast(samples, 1, nameof(samples));
        if (conditionalUniform is not null && uniform is null)
            throw new ArgumentException("conditionalUniform needs uniform (the draw that sets b) pinned too.", nameof(conditionalUniform));
        long s = uniform is null ? samples : Pinned(uniform, logits, nameof(uniform));
        if (conditionalUniform is not null) Guard.SameShape(conditionalUniform, uniform!, nameof(conditionalUniform), nameof(uniform));
        if (conditionalUniform is not null) Pinned(conditionalUniform, logits, nameof(conditionalUniform));
        using var scope = torch.NewDisposeScope();
        var shape = Samples.Prepend(s, logits.shape);
        var u = Clamp(uniform?.to(logits.dtype, logits.device) ?? torch.rand(shape, dtype: logits.dtype, device: logits.device, generator: generator));
        var v = Clamp(conditionalUniform?.to(logits.dtype, logits.device) ?? torch.rand(shape, dtype: logits.dtype, device: logits.device, generator: generator));
        var theta = logits.detach().unsqueeze(0).expand(shape).clone().requires_grad_(true);
        Tensor grads, b, fb;
        using (torch.enable_grad())
        {
            var z = theta + u.log() - (1 - u).log();
            b = (z.detach() > 0).to(logits.dtype);
            var q = torch.sigmoid(theta);
            var vb = Clamp(b * (q * v + 1 - q) + (1 - b) * (1 - q) * v);
            var zt = theta + vb.log() - (1 - vb).log();
            fb = f(b);
            CheckValues(fb, s, logits, 0, "f");
            var cz = controlVariate(z);
            var czt = controlVariate(zt);
            CheckControl(cz, czt, fb);
            grads = Combine(theta, fb, cz, czt, b - q.detach());
        }
        return new RelaxEstimate(scope.MoveToOuter(grads), scope.MoveToOuter(b), scope.MoveToOuter(fb));
    }

    /// <summary>
    /// RELAX for categorical nodes with logits theta [..., K] (categories last) and S samples: z = log p + g,
    /// g ~ Gumbel(0, 1), p = softmax(theta), b = one_hot(argmax z), and the conditional draw z~ ~ p(z | b) with v ~ U(0, 1)^K
    /// (Tucker et al. 2017, appendix): z~_b = -log(-log v_b), z~_i = -log(-log(v_i) / p_i - log v_b) for i != b (computed as
    /// -logaddexp(log(-log v_i) - log p_i, log(-log v_b)), finite with finite derivatives for every p_i &gt; 0 a float holds).
    /// g = [f(b) - c(z~)] (b - p) + d/dtheta c(z) - d/dtheta c(z~).
    /// </summary>
    /// <param name="logits">theta [..., K], floating point and finite.</param>
    /// <param name="f">Maps one-hot b [S, ..., K] to values [S], or to [S, B...] with B... a leading part of the logits'
    /// shape without the category axis (a batch of independent problems: each row's signal multiplies only its score).</param>
    /// <param name="controlVariate">c_phi: maps relaxed z [S, ..., K] to values of f's shape, differentiable in z.</param>
    /// <param name="samples">S &gt;= 1 (ignored when <paramref name="noise"/> is given).</param>
    /// <param name="generator">Random source of g and v.</param>
    /// <param name="noise">Optional pinned standard Gumbel noise g [S, ..., K], which sets b.</param>
    /// <param name="conditionalUniform">Optional pinned v [S, ..., K] in (0, 1) (with <paramref name="noise"/>).</param>
    public static RelaxEstimate Categorical(Tensor logits, Func<Tensor, Tensor> f, Func<Tensor, Tensor> controlVariate, long samples = 1,
        Generator? generator = null, Tensor? noise = null, Tensor? conditionalUniform = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(controlVariate);
        Guard.CategoricalLogits(logits);
        Guard.AtLeast(samples, 1, nameof(samples));
        if (conditionalUniform is not null && noise is null)
            throw new ArgumentException("conditionalUniform needs noise (the draw that sets b) pinned too.", nameof(conditionalUniform));
        long s = samples;
        if (noise is not null)
        {
            Checks.TrailingShape(noise, logits, nameof(noise));
            if (noise.dim() != logits.dim() + 1)
                throw new ArgumentException($"noise must have shape [S, {string.Join(", ", logits.shape)}] (got {Checks.Show(noise.shape)}).", nameof(noise));
            Guard.Finite(noise, nameof(noise));
            s = noise.shape[0];
        }
        if (conditionalUniform is not null)
        {
            Guard.SameShape(conditionalUniform, noise!, nameof(conditionalUniform), nameof(noise));
            Pinned(conditionalUniform, logits, nameof(conditionalUniform));
        }
        using var scope = torch.NewDisposeScope();
        var shape = Samples.Prepend(s, logits.shape);
        var g = noise?.to(logits.dtype, logits.device) ?? Sampling.Gumbel.Sample(shape, 1.0, generator, logits.dtype, logits.device);
        var v = Clamp(conditionalUniform?.to(logits.dtype, logits.device) ?? torch.rand(shape, dtype: logits.dtype, device: logits.device, generator: generator));
        var theta = logits.detach().unsqueeze(0).expand(shape).clone().requires_grad_(true);
        Tensor grads, b, fb;
        using (torch.enable_grad())
        {
            var logP = theta.log_softmax(-1);
            var z = logP + g;
            b = Sampling.OneHot.ArgmaxCore(z.detach());
            // In log space: z~_i = -log(exp(log(-log v_i) - log p_i) + exp(log(-log v_b))) for i != b. The direct form
            // -log(-log(v_i) / p_i - log v_b) overflows when p_i underflows, and its derivative holds p_i^2, which
            // underflows in float32 for p_i < 1e-19 (the derivative became inf, then NaN through the mask of b).
            var logMinusLogV = (-v.log()).log();                                         // log(-log v) [S, ..., K]
            var logMinusLogVb = (logMinusLogV * b).sum(-1, keepdim: true);               // log(-log v_b)
            var zt = torch.where(b > 0, -logMinusLogVb, -(logMinusLogV - logP).logaddexp(logMinusLogVb));
            fb = f(b);
            CheckValues(fb, s, logits, 1, "f");
            var cz = controlVariate(z);
            var czt = controlVariate(zt);
            CheckControl(cz, czt, fb);
            grads = Combine(theta, fb, cz, czt, b - logP.exp().detach());
        }
        return new RelaxEstimate(scope.MoveToOuter(grads), scope.MoveToOuter(b), scope.MoveToOuter(fb));
    }

    /// <summary>[f(b) - c(z~)] score + d/dtheta c(z) - d/dtheta c(z~), with the graph to phi kept (create_graph); the
    /// signal [S, B...] is broadcast over the remaining axes of theta [S, B..., ...].</summary>
    private static Tensor Combine(Tensor theta, Tensor fb, Tensor cz, Tensor czt, Tensor score)
    {
        var dcz = torch.autograd.grad(new[] { cz.sum() + theta.sum() * 0 }, new[] { theta }, retain_graph: true, create_graph: true)[0];
        var dczt = torch.autograd.grad(new[] { czt.sum() + theta.sum() * 0 }, new[] { theta }, retain_graph: true, create_graph: true)[0];
        var coeff = (fb.detach() - czt).view(fb.shape.Concat(Enumerable.Repeat(1L, (int)(theta.dim() - fb.dim()))).ToArray());
        return coeff * score + dcz - dczt;
    }

    /// <summary>Keeps uniforms strictly inside (0, 1) so that their logits are finite.</summary>
    private static Tensor Clamp(Tensor u)
    {
        double eps = torch.finfo(u.dtype).eps;
        return u.clamp(eps, 1 - eps);
    }

    private static long Pinned(Tensor t, Tensor logits, string name)
    {
        Checks.TrailingShape(t, logits, name);
        if (t.dim() != logits.dim() + 1)
            throw new ArgumentException($"{name} must have shape [S, {string.Join(", ", logits.shape)}] (got {Checks.Show(t.shape)}).", name);
        Guard.InRange(t, 0, 1, name, "[0, 1]");
        return t.shape[0];
    }

    /// <summary>values must be [S] or [S, B...] with B... a leading part of the logits' shape, short of its last
    /// <paramref name="eventDims"/> axes.</summary>
    private static void CheckValues(Tensor values, long s, Tensor logits, int eventDims, string name)
    {
        long lead = values.dim() - 1;
        bool ok = values.dim() >= 1 && values.shape[0] == s && lead <= logits.dim() - eventDims
                  && values.shape.Skip(1).SequenceEqual(logits.shape.Take((int)lead));
        if (!ok)
            throw new ArgumentException($"{name} must map [S, ...] to values [S] or [S, B...] with B... leading axes of the logits " +
                                        $"(S = {s}, logits {Checks.Show(logits.shape)}; got {Checks.Show(values.shape)}).", name);
        Checks.FloatingFinite(values, name);
    }

    private static void CheckControl(Tensor cz, Tensor czt, Tensor fb)
    {
        foreach (var c in new[] { cz, czt })
        {
            if (!c.shape.SequenceEqual(fb.shape))
                throw new ArgumentException($"controlVariate must map [S, ...] to values of f's shape {Checks.Show(fb.shape)} (got {Checks.Show(c.shape)}).",
                    "controlVariate");
            Checks.FloatingFinite(c, "controlVariate");
        }
    }
}
