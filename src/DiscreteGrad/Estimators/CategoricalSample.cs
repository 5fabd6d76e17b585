using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// What a categorical node produces for logits theta [..., K]. <see cref="Probs"/> and <see cref="LogProbs"/> are computed
/// from the logits on first access (so an estimator call costs nothing for them when they are not used); they are then
/// owned by the DisposeScope current at that access, and the logits must still be alive.
/// </summary>
public sealed class CategoricalSample
{
    private readonly Tensor _logits;
    private Tensor? _probs, _logProbs;

    /// <summary>Creates the sample.</summary>
    /// <param name="value">The tensor to use downstream: its forward value is the hard one-hot sample (the soft sample for
    /// Gumbel-softmax), its gradient is the estimator's.</param>
    /// <param name="hard">The one-hot sample D, without gradient.</param>
    /// <param name="logits">The logits the sample was drawn from.</param>
    /// <param name="probs">softmax(theta) when the estimator already computed it (it is then this tensor, with its gradient path).</param>
    public CategoricalSample(Tensor value, Tensor hard, Tensor logits, Tensor? probs = null)
    {
        Value = value;
        Hard = hard;
        _logits = logits;
        _probs = probs;
    }

    /// <summary>The value to use downstream (estimator's gradient).</summary>
    public Tensor Value { get; }
    /// <summary>The one-hot sample D, without gradient (for Gumbel-softmax: one_hot(argmax(theta + g))).</summary>
    public Tensor Hard { get; }
    /// <summary>softmax(theta), differentiable, for KL terms and baselines.</summary>
    public Tensor Probs => _probs ??= _logits.softmax(-1);
    /// <summary>log_softmax(theta), differentiable.</summary>
    public Tensor LogProbs => _logProbs ??= _logits.log_softmax(-1);
    /// <summary>The sampled category index per row, shape [...] (long).</summary>
    public Tensor Index => Hard.argmax(-1);

    /// <summary>Disposes <see cref="Hard"/> and whatever probabilities were computed, keeping <see cref="Value"/>.</summary>
    internal void ReleaseAllButValue()
    {
        if (!ReferenceEquals(Hard, Value)) Hard.Dispose();
        _probs?.Dispose();
        _logProbs?.Dispose();
    }
}
