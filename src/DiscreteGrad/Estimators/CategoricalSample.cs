using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// What a categorical node produces for logits theta [..., K] (categories on axis <see cref="Dim"/>, the last by default).
/// <see cref="Probs"/> and <see cref="LogProbs"/> are computed
/// from the logits on first access (so an estimator call costs nothing for them when they are not used); they are then
/// owned by the DisposeScope current at that access, and the logits must still be alive.
/// </summary>
public sealed class CategoricalSample
{
    private readonly Tensor _logits;
    private readonly long _dim;
    private Tensor? _probs, _logProbs;

    /// <summary>Creates the sample.</summary>
    /// <param name="value">The tensor to use downstream: its forward value is the hard one-hot sample (the soft sample for
    /// Gumbel-softmax), its gradient is the estimator's.</param>
    /// <param name="hard">The one-hot sample D, without gradient.</param>
    /// <param name="logits">The logits the sample was drawn from.</param>
    /// <param name="probs">softmax(theta) when the estimator already computed it (it is then this tensor, with its gradient path).</param>
    /// <param name="dim">Axis of the categories (default -1, the last).</param>
    public CategoricalSample(Tensor value, Tensor hard, Tensor logits, Tensor? probs = null, long dim = -1)
    {
        Value = value;
        Hard = hard;
        _logits = logits;
        _probs = probs;
        _dim = dim;
    }

    /// <summary>Axis of the categories.</summary>
    public long Dim => _dim;

    /// <summary>The value to use downstream (estimator's gradient).</summary>
    public Tensor Value { get; }
    /// <summary>The one-hot sample D, without gradient (for Gumbel-softmax: one_hot(argmax(theta + g))).</summary>
    public Tensor Hard { get; }
    /// <summary>softmax(theta), differentiable, for KL terms and baselines.</summary>
    public Tensor Probs => _probs ??= OnLastAxis(LastAxis.Softmax);
    /// <summary>log_softmax(theta), differentiable.</summary>
    public Tensor LogProbs => _logProbs ??= OnLastAxis(LastAxis.LogSoftmax);
    /// <summary>The sampled category index, the logits' shape without the category axis (long).</summary>
    public Tensor Index => Hard.argmax(_dim);

    /// <summary>softmax(theta) if the estimator or an earlier access already computed it, else null (nothing is computed).</summary>
    internal Tensor? ComputedProbs => _probs;

    /// <summary>
    /// f of the logits over the category axis, computed as on the last axis (the axis moved there, contiguous, and the
    /// result moved back), so that it equals the last-axis result on transposed logits bit for bit.
    /// </summary>
    private Tensor OnLastAxis(Func<Tensor, Tensor> f)
    {
        long rank = _logits.dim();
        long d = _dim < 0 ? _dim + rank : _dim;
        if (d == rank - 1) return f(_logits);
        using var scope = torch.NewDisposeScope();
        var moved = f(_logits.movedim(new[] { d }, new[] { -1L }).contiguous()).movedim(new[] { -1L }, new[] { d });
        return scope.MoveToOuter(moved);
    }

    /// <summary>Disposes <see cref="Hard"/> and whatever probabilities were computed, keeping <see cref="Value"/>.</summary>
    internal void ReleaseAllButValue()
    {
        if (!ReferenceEquals(Hard, Value)) Hard.Dispose();
        _probs?.Dispose();
        _logProbs?.Dispose();
    }
}
