using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>What <see cref="Arm.Bernoulli"/> and <see cref="DisArm.Bernoulli"/> produce.</summary>
/// <param name="Surrogate">Shape of f: forward value (f(b) + f(b~)) / 2, gradient the estimator's gradient with respect to
/// the logits (sum over the latent dimensions of sg(g) * (phi - sg(phi))) plus the pathwise part (grad f(b) + grad f(b~)) / 2.</param>
/// <param name="Sample">b = 1[u &lt; sigmoid(phi)] (no gradient).</param>
/// <param name="Antithetic">b~ = 1[u &gt; sigmoid(-phi)] = 1[1 - u &lt; sigmoid(phi)] (no gradient).</param>
/// <param name="Values">(f(b) + f(b~)) / 2, detached.</param>
/// <param name="LogitGradient">g, the estimate of d E[f] / d phi, detached, shape of the logits (with f's leading
/// dimensions).</param>
public sealed record AntitheticResult(Tensor Surrogate, Tensor Sample, Tensor Antithetic, Tensor Values, Tensor LogitGradient);

/// <summary>
/// ARM, the augment-REINFORCE-merge estimator for Bernoulli nodes (Yin and Zhou 2019, "ARM: Augment-REINFORCE-merge
/// gradient for stochastic binary networks"), with logits phi and u ~ Uniform(0, 1) per coordinate:
/// <code>g_i = [f(1[u &gt; sigmoid(-phi)]) - f(1[u &lt; sigmoid(phi)])] (u_i - 1/2)</code>
/// an unbiased estimate of d E_{z ~ Bernoulli(sigmoid(phi))}[f(z)] / d phi_i that needs f at the antithetic pair, hence f
/// is passed as a delegate. The gradient reaches the logits (and whatever computed them) through sg(g) * (phi - sg(phi));
/// parameters inside f receive (grad f(b) + grad f(b~)) / 2.
/// </summary>
public static class Arm
{
    /// <summary>The ARM surrogate.</summary>
    /// <param name="logits">phi [...].</param>
    /// <param name="f">Maps z [...] in {0, 1} to values whose shape is a leading part of the logits' shape (e.g. [B] for
    /// phi [B, D]); called twice (at b and at b~).</param>
    /// <param name="generator">Random source of u.</param>
    /// <param name="uniform">Optional pinned u in [0, 1], shape of the logits.</param>
    public static AntitheticResult Bernoulli(Tensor logits, Func<Tensor, Tensor> f, Generator? generator = null, Tensor? uniform = null)
        => AntitheticCore.Run(logits, f, generator, uniform, disarm: false);
}

/// <summary>
/// DisARM (Dong, Mnih and Tucker 2020, "DisARM: An antithetic gradient estimator for binary latent variables"): ARM with
/// the augmentation variable integrated out analytically. With b = 1[u &lt; sigmoid(phi)] and b~ = 1[1 - u &lt; sigmoid(phi)]:
/// <code>g_i = 1/2 (-1)^{b~_i} 1[b_i != b~_i] sigmoid(|phi_i|) (f(b) - f(b~))</code>
/// unbiased, and never of higher variance than ARM (it is ARM's conditional expectation given the pair).
/// </summary>
public static class DisArm
{
    /// <summary>The DisARM surrogate (arguments as <see cref="Arm.Bernoulli"/>).</summary>
    public static AntitheticResult Bernoulli(Tensor logits, Func<Tensor, Tensor> f, Generator? generator = null, Tensor? uniform = null)
        => AntitheticCore.Run(logits, f, generator, uniform, disarm: true);

    /// <summary>
    /// DisARM for categorical nodes through the stick-breaking construction (Dong, Mnih and Tucker 2021, "Coupled gradient
    /// estimators for discrete latent variables", the basic stick-breaking version without their Rao-Blackwellisation):
    /// with eta_k = theta_k - logsumexp(theta_{k+1..K}) (k = 1..K-1), independent b_k ~ Bernoulli(sigmoid(eta_k)) and
    /// z = the first k with b_k = 1 (K if none), z ~ Cat(softmax(theta)) exactly. So E[f(z)] = E[f(z(b))] over K-1
    /// independent Bernoullis, and the multivariate DisARM estimate g_eta (formula of <see cref="Bernoulli"/>, applied to
    /// f o z) is unbiased for d E[f] / d eta; the surrogate sum sg(g_eta) (eta - sg(eta)) carries it to theta by the chain
    /// rule. Unbiased for any f; the variance depends on the category order (coordinates after the stopping index are
    /// irrelevant to f but still enter the estimate).
    /// </summary>
    /// <param name="logits">theta [..., K].</param>
    /// <param name="f">Maps one-hot z [..., K] to values whose shape is a leading part of [...] (called twice).</param>
    /// <param name="generator">Random source of u.</param>
    /// <param name="uniform">Optional pinned u in [0, 1], shape [..., K - 1].</param>
    /// <returns>The result; its <see cref="AntitheticResult.LogitGradient"/> is g_eta [..., K - 1], the estimate with respect
    /// to the stick-breaking logits (backward() through the surrogate gives the one with respect to theta).</returns>
    public static AntitheticResult Categorical(Tensor logits, Func<Tensor, Tensor> f, Generator? generator = null, Tensor? uniform = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.CategoricalLogits(logits);
        var etaShape = logits.shape.Take((int)logits.dim() - 1).Append(logits.shape[^1] - 1).ToArray();
        if (uniform is not null)
        {
            if (!uniform.shape.SequenceEqual(etaShape))
                throw new ArgumentException($"uniform must have shape {Checks.Show(etaShape)} ([..., K - 1]; got {Checks.Show(uniform.shape)}).", nameof(uniform));
            AntitheticCore.CheckUnit(uniform);
        }
        using var scope = torch.NewDisposeScope();
        var eta = StickBreakingLogits(logits);
        var phi = eta.detach();
        var u = uniform?.detach().to(logits.dtype)
            ?? torch.rand(etaShape, dtype: logits.dtype, device: logits.device, generator: generator);
        Tensor b, bt, z, zt;
        using (torch.no_grad())
        {
            b = (u < torch.sigmoid(phi)).to(logits.dtype);
            bt = (u > torch.sigmoid(-phi)).to(logits.dtype);
            z = FirstOne(b);
            zt = FirstOne(bt);
        }
        var fz = f(z);
        var fzt = f(zt);
        int ev = Checks.EventDims(z, fz, 1, nameof(f));
        Guard.SameShape(fzt, fz, nameof(f), "f(z)", " f must give the same shape at both samples of the pair.");
        Checks.FloatingFinite(fz, "f");
        Checks.FloatingFinite(fzt, "f");
        var diff = fz.detach() - fzt.detach();
        for (int i = 0; i < ev; i++) diff = diff.unsqueeze(-1);
        Tensor g;
        using (torch.no_grad())
            g = 0.5 * (1 - 2 * bt) * (b != bt).to(phi.dtype) * torch.sigmoid(phi.abs()) * diff;
        var values = 0.5 * (fz + fzt);
        var surrogate = Checks.SumTrailing(g * (eta - phi), ev) + values;
        return new AntitheticResult(scope.MoveToOuter(surrogate), scope.MoveToOuter(z), scope.MoveToOuter(zt),
            scope.MoveToOuter(values.detach()), scope.MoveToOuter(g));
    }

    /// <summary>eta_k = theta_k - logsumexp(theta_{k+1..K}), k = 1..K-1: sigmoid(eta_k) = p_k / sum_{j &gt;= k} p_j.</summary>
    public static Tensor StickBreakingLogits(Tensor logits)
    {
        Guard.CategoricalLogits(logits);
        using var scope = torch.NewDisposeScope();
        long k = logits.shape[^1];
        var tail = torch.logcumsumexp(logits.flip(-1), -1).flip(-1);                       // logsumexp(theta_{k..K})
        var eta = logits.narrow(-1, 0, k - 1) - tail.narrow(-1, 1, k - 1);
        return scope.MoveToOuter(eta);
    }

    /// <summary>One-hot of the first k with b_k = 1 over [..., K - 1] (K when none): [..., K].</summary>
    private static Tensor FirstOne(Tensor b)
    {
        var ones = torch.ones(b.shape.Take((int)b.dim() - 1).Append(1L).ToArray(), dtype: b.dtype, device: b.device);
        var padded = torch.cat(new[] { b, ones }, -1);
        // cumsum == 1 at and after the first 1 until the next; the first 1 is where padded == 1 and no 1 came before.
        var before = padded.cumsum(-1) - padded;
        return ((padded == 1) & (before == 0)).to(b.dtype);
    }
}

internal static class AntitheticCore
{
    public static AntitheticResult Run(Tensor logits, Func<Tensor, Tensor> f, Generator? generator, Tensor? uniform, bool disarm)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.BernoulliLogits(logits);
        if (uniform is not null)
        {
            Guard.SameShape(uniform, logits, nameof(uniform));
            CheckUnit(uniform);
        }
        using var scope = torch.NewDisposeScope();
        var phi = logits.detach();
        var u = uniform?.detach().to(logits.dtype) ?? Samples.Uniform(logits, generator);
        Tensor b, bt;
        using (torch.no_grad())
        {
            b = (u < torch.sigmoid(phi)).to(logits.dtype);
            bt = (u > torch.sigmoid(-phi)).to(logits.dtype);
        }
        var fb = f(b);
        var fbt = f(bt);
        int ev = Checks.EventDims(b, fb, 0, nameof(f));
        Guard.SameShape(fbt, fb, nameof(f), "f(b)", " f must give the same shape at both samples of the pair.");
        Checks.FloatingFinite(fb, "f");
        Checks.FloatingFinite(fbt, "f");
        var diff = Expand(fb.detach() - fbt.detach(), ev);                                  // f(b) - f(b~), over the event dims
        Tensor g;
        using (torch.no_grad())
        {
            g = disarm
                ? 0.5 * (1 - 2 * bt) * (b != bt).to(phi.dtype) * torch.sigmoid(phi.abs()) * diff
                : -diff * (u - 0.5);                                                       // [f(b~) - f(b)] (u - 1/2)
        }
        var values = 0.5 * (fb + fbt);
        var surrogate = Checks.SumTrailing(g * (logits - phi), ev) + values;
        return new AntitheticResult(scope.MoveToOuter(surrogate), scope.MoveToOuter(b), scope.MoveToOuter(bt),
            scope.MoveToOuter(values.detach()), scope.MoveToOuter(g));
    }

    public static void CheckUnit(Tensor uniform)
    {
        using var _ = torch.NewDisposeScope();
        if (!((uniform >= 0) & (uniform <= 1)).all().item<bool>())
            throw new ArgumentOutOfRangeException(nameof(uniform), "uniform must hold values in [0, 1].");
    }

    /// <summary>Appends <paramref name="ev"/> singleton dimensions so a value per leading index broadcasts over the event.</summary>
    private static Tensor Expand(Tensor t, int ev)
    {
        for (int i = 0; i < ev; i++) t = t.unsqueeze(-1);
        return t;
    }
}
