using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// What a Bernoulli node produces for logits theta [...] (P(z = 1) = sigmoid(theta)). The probabilities are computed from
/// the logits on first access.
/// </summary>
public sealed class BernoulliSample
{
    private readonly Tensor _logits;
    private Tensor? _probs, _lp1, _lp0;

    /// <summary>Creates the sample.</summary>
    /// <param name="value">z in {0, 1} (soft in (0, 1) for Gumbel-softmax) with the estimator's gradient.</param>
    /// <param name="hard">The hard sample z in {0, 1}, without gradient.</param>
    /// <param name="logits">theta.</param>
    public BernoulliSample(Tensor value, Tensor hard, Tensor logits)
    {
        Value = value;
        Hard = hard;
        _logits = logits;
    }

    /// <summary>z with the estimator's gradient.</summary>
    public Tensor Value { get; }
    /// <summary>The hard sample z in {0, 1}, without gradient.</summary>
    public Tensor Hard { get; }
    /// <summary>P(z = 1) = sigmoid(theta), differentiable.</summary>
    public Tensor Probs => _probs ??= torch.sigmoid(_logits);
    /// <summary>log P(z = 1) = logsigmoid(theta).</summary>
    public Tensor LogProbOne => _lp1 ??= torch.nn.functional.logsigmoid(_logits);
    /// <summary>log P(z = 0) = logsigmoid(-theta).</summary>
    public Tensor LogProbZero => _lp0 ??= torch.nn.functional.logsigmoid(-_logits);
    /// <summary>log P(z) of the hard sample: z log sigmoid(theta) + (1 - z) log sigmoid(-theta).</summary>
    public Tensor LogProb => Hard * LogProbOne + (1 - Hard) * LogProbZero;

    /// <summary>Disposes <see cref="Hard"/> and whatever probabilities were computed, keeping <see cref="Value"/>.</summary>
    internal void ReleaseAllButValue()
    {
        if (!ReferenceEquals(Hard, Value)) Hard.Dispose();
        _probs?.Dispose(); _lp1?.Dispose(); _lp0?.Dispose();
    }
}
