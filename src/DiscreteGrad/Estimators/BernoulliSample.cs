using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>What a Bernoulli node produces for logits theta [...] (P(z = 1) = sigmoid(theta)).</summary>
/// <param name="Value">z in {0, 1} (soft in (0, 1) for Gumbel-softmax) with the estimator's gradient.</param>
/// <param name="Hard">The hard sample z in {0, 1}, without gradient.</param>
/// <param name="Probs">P(z = 1) = sigmoid(theta), differentiable.</param>
/// <param name="LogProbOne">log P(z = 1) = logsigmoid(theta).</param>
/// <param name="LogProbZero">log P(z = 0) = logsigmoid(-theta).</param>
public sealed record BernoulliSample(Tensor Value, Tensor Hard, Tensor Probs, Tensor LogProbOne, Tensor LogProbZero)
{
    /// <summary>log P(z) of the hard sample: z log sigmoid(theta) + (1 - z) log sigmoid(-theta).</summary>
    public Tensor LogProb => Hard * LogProbOne + (1 - Hard) * LogProbZero;
}
