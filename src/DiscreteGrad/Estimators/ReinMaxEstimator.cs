using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// ReinMax (Liu et al., NeurIPS 2023, Algorithm 2): a second-order (Heun) approximation of the gradient.
/// <para>Forward: D ~ Cat(pi0), pi0 = softmax(theta). Backward, closed form (custom autograd function, no log of pi1):
/// pi1 = (D + softmax(theta / tau)) / 2; grad = 2 J(pi1)^T gD + J(pi0)^T (gp - gD / 2), centred over the last axis, where
/// gD is the gradient reaching the sample, gp the gradient reaching pi0, and J(p)^T v = p * v - p (p . v).</para>
/// For a quadratic f and tau = 1 its expectation over D equals the exact gradient.
/// </summary>
internal static class ReinMaxEstimator
{
    internal static CategoricalSample Run(Tensor logits, double tau, Generator? generator, Tensor? sample)
        => TwoClassEstimator.Applies(logits)
            ? TwoClassEstimator.SampleCategorical(logits, -1, EstimatorKind.ReinMax, new EstimatorOptions(Tau: tau), generator, sample)
            : General(logits, tau, generator, sample);

    /// <summary>The estimator for any K (also K = 2, which <see cref="Run"/> gives to <see cref="TwoClassEstimator"/>).</summary>
    internal static CategoricalSample General(Tensor logits, double tau, Generator? generator, Tensor? sample)
    {
        Guard.CategoricalLogits(logits);
        Guard.Temperature(tau, logits.dtype);
        using var scope = torch.NewDisposeScope();
        var d = Categorical.ResolveSample(logits, generator, sample);
        var outputs = ReinMaxFunction.apply(logits, d, tau);
        var value = outputs[0];
        var probs = outputs[1];
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(d), logits, scope.MoveToOuter(probs));
    }
}

/// <summary>The autograd function behind <see cref="ReinMaxEstimator"/>: inputs (theta, D, tau), outputs (D, softmax(theta)).</summary>
internal sealed class ReinMaxFunction : torch.autograd.MultiTensorFunction<ReinMaxFunction>
{
    public override string Name => "ReinMax";

    public override List<Tensor> forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
        var d = (Tensor)vars[1];
        var tau = (double)vars[2];
        var pi0 = logits.softmax(-1);
        var pTau = tau == 1.0 ? pi0 : (logits / tau).softmax(-1);
        var pi1 = (d + pTau).mul_(0.5);
        ctx.save_for_backward(new List<Tensor> { pi0, pi1 });
        // An unused output gets a null gradient rather than zeros_like(output): TorchSharp would otherwise touch the output
        // tensor during backward, which a caller may already have disposed.
        ctx.set_materialize_grads(false);
        return new List<Tensor> { d.clone(), pi0 };
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        var saved = ctx.get_saved_variables();
        var pi0 = saved[0];
        var pi1 = saved[1];
        // With materialisation off, TorchSharp passes an unused output's gradient as null or as an empty handle.
        Tensor? gD = gradOutputs.Count > 0 && gradOutputs[0] is { IsInvalid: false } a ? a : null;
        Tensor? gp = gradOutputs.Count > 1 && gradOutputs[1] is { IsInvalid: false } b ? b : null;
        if (gD is null && gp is null) return new List<Tensor> { null!, null!, null! };
        Tensor? grad = null;
        if (gD is not null)
        {
            var g1 = (gD * 2) * pi1;
            grad = g1 - pi1 * g1.sum(-1, keepdim: true);
        }
        var v0 = gD is null ? gp! : gp is null ? gD * -0.5 : gp - gD * 0.5;
        var g0 = v0 * pi0;
        g0 = g0 - pi0 * g0.sum(-1, keepdim: true);
        grad = grad is null ? g0 : grad + g0;
        grad = grad - grad.mean(new long[] { -1 }, keepdim: true);
        return new List<Tensor> { grad, null!, null! };
    }
}
