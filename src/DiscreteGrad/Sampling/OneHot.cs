using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Sampling;

/// <summary>One-hot helpers and exact categorical sampling for logits [..., K].</summary>
public static class OneHot
{
    /// <summary>One-hot encoding of the argmax over the last dimension, in the dtype of <paramref name="scores"/>.</summary>
    public static Tensor Argmax(Tensor scores)
    {
        using var scope = torch.NewDisposeScope();
        var idx = scores.argmax(-1, keepdim: true);
        // scatter_ has only a tensor-source overload in TorchSharp; a bare 1.0 would become a float64 tensor and fail the
        // dtype check for any other dtype, so the ones are made in the scores' dtype.
        var result = torch.zeros_like(scores).scatter_(-1, idx, torch.ones_like(idx, dtype: scores.dtype));
        return scope.MoveToOuter(result);
    }

    /// <summary>
    /// D ~ Cat(softmax(logits)) as a one-hot tensor, drawn by Gumbel-max (exact: argmax(theta + G), G ~ Gumbel(0, 1)).
    /// The result carries no gradient.
    /// </summary>
    public static Tensor Sample(Tensor logits, Generator? generator = null)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var g = Gumbel.SampleLike(logits, 1.0, generator);
        return scope.MoveToOuter(Argmax(g.add_(logits.detach())));   // g + theta == theta + g exactly
    }

    /// <summary>
    /// Checks that <paramref name="sample"/> is a valid one-hot tensor of the logits' shape and dtype (exactly one 1 per
    /// row, zeros elsewhere); throws <see cref="ArgumentException"/> naming <paramref name="name"/> otherwise.
    /// </summary>
    public static void Validate(Tensor sample, Tensor logits, string name = "sample")
    {
        Guard.SameShape(sample, logits, name);
        using var _ = torch.NewDisposeScope();
        bool binary = ((sample == 0) | (sample == 1)).all().item<bool>();
        bool one = (sample.sum(-1) == 1).all().item<bool>();
        if (!binary || !one)
            throw new ArgumentException($"{name} must be one-hot over the last dimension (each row: one 1, the rest 0).", name);
    }
}
