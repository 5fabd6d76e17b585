using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>
/// Hard samples for score-function estimators (no gradient path: the gradient comes from the log-probability). With
/// <c>count</c> set, independent samples are stacked along a new leading dimension S (the multi-sample layout every
/// estimator in this namespace uses: f values [S, ...], log-probabilities [S, ...]).
/// </summary>
public static class Samples
{
    /// <summary>One-hot D ~ Cat(softmax(theta)), shape [..., K], or [count, ..., K] when <paramref name="count"/> is set.</summary>
    /// <param name="logits">theta [..., K], floating point and finite.</param>
    /// <param name="count">Number of independent samples along a new leading dimension (null: no sample dimension).</param>
    /// <param name="generator">Random source (null: TorchSharp's default generator).</param>
    public static Tensor Categorical(Tensor logits, long? count = null, Generator? generator = null)
    {
        Guard.CategoricalLogits(logits);
        if (count is long c) Guard.AtLeast(c, 1, nameof(count));
        using var scope = torch.NewDisposeScope();
        var src = count is long n ? logits.detach().unsqueeze(0).expand(Prepend(n, logits.shape)) : logits.detach();
        return scope.MoveToOuter(OneHot.SampleCore(src, generator));
    }

    /// <summary>z in {0, 1} with P(z = 1) = sigmoid(theta), shape [...] or [count, ...]; in the logits' dtype.</summary>
    /// <param name="logits">theta [...], floating point and finite.</param>
    /// <param name="count">Number of independent samples along a new leading dimension (null: none).</param>
    /// <param name="generator">Random source.</param>
    public static Tensor Bernoulli(Tensor logits, long? count = null, Generator? generator = null)
    {
        Guard.BernoulliLogits(logits);
        if (count is long c) Guard.AtLeast(c, 1, nameof(count));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var shape = count is long n ? Prepend(n, logits.shape) : logits.shape;
        var u = torch.rand(shape, dtype: logits.dtype, device: logits.device, generator: generator);
        return scope.MoveToOuter((u < torch.sigmoid(logits.detach())).to(logits.dtype));
    }

    /// <summary>Uniform(0, 1) noise of the logits' shape, for ARM and DisARM.</summary>
    public static Tensor Uniform(Tensor logits, Generator? generator = null)
        => torch.rand(logits.shape, dtype: logits.dtype, device: logits.device, generator: generator);

    internal static long[] Prepend(long n, long[] shape) => new[] { n }.Concat(shape).ToArray();
}

/// <summary>
/// Log-probabilities log p(z) of hard samples, differentiable with respect to the logits: the score-function half of a
/// surrogate loss. Sample shapes may carry extra leading (sample) dimensions; the logits broadcast over them.
/// </summary>
public static class LogProb
{
    /// <summary>
    /// log p(D) = sum_k D_k log_softmax(theta)_k for a one-hot sample D [..., K] (shape [...]), then summed over the last
    /// <paramref name="eventDims"/> dimensions (for N independent nodes [.., N, K] use eventDims = 1 to get the joint
    /// log-probability of the N nodes).
    /// </summary>
    /// <param name="logits">theta [..., K].</param>
    /// <param name="sample">One-hot D (each row: one 1, the rest 0) whose shape ends with the logits' shape.</param>
    /// <param name="eventDims">Trailing node dimensions (after removing K) summed into one joint log-probability.</param>
    public static Tensor Categorical(Tensor logits, Tensor sample, int eventDims = 0)
    {
        Guard.CategoricalLogits(logits);
        Checks.OneHotSample(sample, logits, nameof(sample));
        return CategoricalCore(logits, sample, eventDims);
    }

    /// <summary><see cref="Categorical"/> for logits and a one-hot sample the caller has checked (or drawn).</summary>
    internal static Tensor CategoricalCore(Tensor logits, Tensor sample, int eventDims)
    {
        CheckEventDims(eventDims, sample.dim() - 1);
        using var scope = torch.NewDisposeScope();
        var lp = (sample.detach().to(logits.dtype) * logits.log_softmax(-1)).sum(-1);
        return scope.MoveToOuter(Checks.SumTrailing(lp, eventDims));
    }

    /// <summary>
    /// log p(z) = z log sigmoid(theta) + (1 - z) log sigmoid(-theta) for z in {0, 1} (shape of z), then summed over the last
    /// <paramref name="eventDims"/> dimensions.
    /// </summary>
    /// <param name="logits">theta [...].</param>
    /// <param name="sample">z, only 0 and 1, whose shape ends with the logits' shape.</param>
    /// <param name="eventDims">Trailing dimensions summed into one joint log-probability.</param>
    public static Tensor Bernoulli(Tensor logits, Tensor sample, int eventDims = 0)
    {
        Guard.BernoulliLogits(logits);
        Checks.BinarySample(sample, logits, nameof(sample));
        return BernoulliCore(logits, sample, eventDims);
    }

    /// <summary><see cref="Bernoulli"/> for logits and a 0/1 sample the caller has checked (or drawn).</summary>
    internal static Tensor BernoulliCore(Tensor logits, Tensor sample, int eventDims)
    {
        CheckEventDims(eventDims, sample.dim());
        using var scope = torch.NewDisposeScope();
        var z = sample.detach().to(logits.dtype);
        var lp = z * torch.nn.functional.logsigmoid(logits) + (1 - z) * torch.nn.functional.logsigmoid(-logits);
        return scope.MoveToOuter(Checks.SumTrailing(lp, eventDims));
    }

    private static void CheckEventDims(int eventDims, long available)
    {
        if (eventDims < 0 || eventDims > available)
            throw new ArgumentOutOfRangeException(nameof(eventDims), eventDims,
                $"eventDims must be in [0, {available}] for this sample (got {eventDims}).");
    }
}
