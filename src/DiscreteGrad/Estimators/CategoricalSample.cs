using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>What a categorical node produces for logits theta [..., K].</summary>
/// <param name="Value">The tensor to use downstream: its forward value is the hard one-hot sample (soft sample for
/// Gumbel-softmax), its gradient is the estimator's.</param>
/// <param name="Hard">The one-hot sample D, without gradient (for Gumbel-softmax: one_hot(argmax(theta + g))).</param>
/// <param name="Probs">softmax(theta), differentiable, for KL terms and baselines.</param>
/// <param name="LogProbs">log_softmax(theta), differentiable.</param>
public sealed record CategoricalSample(Tensor Value, Tensor Hard, Tensor Probs, Tensor LogProbs)
{
    /// <summary>The sampled category index per row, shape [...] (long).</summary>
    public Tensor Index => Hard.argmax(-1);
}
