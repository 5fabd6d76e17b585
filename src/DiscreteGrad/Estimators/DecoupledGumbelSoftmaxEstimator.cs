using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// Decoupled straight-through Gumbel-softmax (Shah, Yan, Mozer and Liu, "Improving Discrete Optimisation Via Decoupled
/// Straight-Through Gumbel-Softmax", arXiv:2410.13331, 2024): STGS with separate temperatures for the forward pass
/// (tau_f) and the backward pass (tau_b). With one Gumbel draw g ~ Gumbel(0, 1) and scores s = theta + beta g,
/// <code>y_b = softmax(s / tau_b)
/// hard:  out = one_hot(argmax(s / tau_f)) + y_b - sg(y_b)        (= one_hot(argmax s): the argmax does not depend on tau_f)
/// soft:  out = sg(softmax(s / tau_f)) + y_b - sg(y_b)</code>
/// so the forward value is that of STGS (hard) or of the Gumbel-softmax at tau_f (soft), and the gradient is always the
/// Gumbel-softmax gradient at tau_b, J(y_b)^T v / tau_b. With tau_f = tau_b the soft form is the Gumbel-softmax and the
/// hard form is STGS. The numerics (shift of the scores when s / tau would overflow) and the checks are those of
/// <see cref="GumbelSoftmaxEstimator"/>, applied to both temperatures with the same noise.
/// </summary>
internal static class DecoupledGumbelSoftmaxEstimator
{
    /// <param name="logits">theta [..., K].</param>
    /// <param name="tauForward">tau_f, the temperature of the soft forward value (no effect on the hard forward).</param>
    /// <param name="tauBackward">tau_b, the temperature of the gradient.</param>
    /// <param name="beta">Gumbel scale.</param>
    /// <param name="hard">One-hot forward (decoupled STGS) when true, soft forward at tau_f when false.</param>
    /// <param name="generator">Random source.</param>
    /// <param name="noise">Optional pinned standard Gumbel(0, 1) noise of the logits' shape (scaled by beta).</param>
    internal static CategoricalSample Run(Tensor logits, double tauForward, double tauBackward, double beta, bool hard,
        Generator? generator, Tensor? noise)
    {
        Guard.CategoricalShape(logits);
        Guard.Temperature(tauForward, logits.dtype, "tau_forward");
        Guard.Temperature(tauBackward, logits.dtype, "tau_backward");
        Guard.Scale(beta, logits.dtype);
        using var scope = torch.NewDisposeScope();
        // One draw for both passes, drawn only when STGS would draw it (beta != 0), so a generator gives the same noise as STGS.
        var g = noise ?? (beta == 0 ? null : Gumbel.SampleLike(logits, 1.0, generator));
        var backward = GumbelSoftmaxEstimator.Run(logits, tauBackward, beta, hard, null, g);
        Tensor value;
        if (hard) value = backward.Value;
        else
        {
            var forward = GumbelSoftmaxEstimator.Run(logits, tauForward, beta, false, null, g);
            value = forward.Value.detach() + (backward.Value - backward.Value.detach());
        }
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(backward.Hard), logits);
    }
}
