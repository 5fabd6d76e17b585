using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Sampling;

/// <summary>One-hot helpers and exact categorical sampling for logits [..., K].</summary>
public static class OneHot
{
    /// <summary>One-hot encoding of the argmax over the last dimension, in the dtype of <paramref name="scores"/>.</summary>
    /// <param name="scores">Scores [..., K] with at least one dimension and K &gt;= 1; finite when floating point (checked
    /// when <see cref="Guard.CheckFiniteLogits"/>: the argmax of a row holding NaN means nothing).</param>
    public static Tensor Argmax(Tensor scores)
    {
        Guard.LastDimension(scores, nameof(scores), 1, floating: false);
        if (scores.is_floating_point()) Guard.Finite(scores, nameof(scores));
        return ArgmaxCore(scores);
    }

    /// <summary><see cref="Argmax"/> without the checks, for scores the caller has checked.</summary>
    internal static Tensor ArgmaxCore(Tensor scores)
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
    /// <param name="logits">theta [..., K]: floating point, at least one dimension, K &gt;= 1, finite (checked when
    /// <see cref="Guard.CheckFiniteLogits"/>).</param>
    /// <param name="generator">Random source (null: TorchSharp's default generator).</param>
    public static Tensor Sample(Tensor logits, Generator? generator = null)
    {
        Guard.LastDimension(logits, nameof(logits), 1, floating: true);
        Guard.Finite(logits, nameof(logits));
        return SampleCore(logits, generator);
    }

    /// <summary><see cref="Sample"/> without the checks, for logits the caller has checked.</summary>
    internal static Tensor SampleCore(Tensor logits, Generator? generator)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var g = Gumbel.SampleLike(logits, 1.0, generator);
        return scope.MoveToOuter(ArgmaxCore(g.add_(logits.detach())));   // g + theta == theta + g exactly
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
