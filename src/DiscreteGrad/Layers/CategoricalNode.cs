using DiscreteGrad.Estimators;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Layers;

/// <summary>
/// A categorical stochastic node as a module, for use in a <c>Sequential</c>: logits [..., K, ...] in (categories on axis
/// <see cref="Dim"/>, the last by default), one-hot (or relaxed) sample of the same shape out. In training mode it
/// applies its estimator (a built-in <see cref="EstimatorKind"/> or any <see cref="ICategoricalEstimator"/>); in eval
/// mode it returns a hard one-hot (argmax or a sample, see <see cref="EvalSampling"/>) without gradient.
/// Tau and Beta are buffers that schedules set between steps and that <c>state_dict</c> carries (see <see cref="StochasticNode"/>).
/// Created by <see cref="discrete.CategoricalNode(EstimatorKind, EstimatorOptions?, EvalSampling, long, Generator?)"/>.
/// </summary>
public sealed class CategoricalNode : StochasticNode
{
    /// <summary>Creates the node with a built-in estimator.</summary>
    /// <param name="kind">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K (validated here).</param>
    /// <param name="evalSampling">Eval-mode behaviour.</param>
    /// <param name="dim">Axis of the categories (default -1, the last).</param>
    /// <param name="generator">Random source of every draw of this node.</param>
    public CategoricalNode(EstimatorKind kind, EstimatorOptions? options = null, EvalSampling evalSampling = EvalSampling.Argmax,
        long dim = -1, Generator? generator = null) : this(CategoricalEstimator.Of(kind), options, evalSampling, dim, generator)
    {
    }

    /// <summary>Creates the node with any estimator, e.g. one of your own.</summary>
    /// <param name="estimator">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K (validated here) passed to the estimator.</param>
    /// <param name="evalSampling">Eval-mode behaviour.</param>
    /// <param name="dim">Axis of the categories (default -1, the last).</param>
    /// <param name="generator">Random source of every draw of this node.</param>
    public CategoricalNode(ICategoricalEstimator estimator, EstimatorOptions? options = null, EvalSampling evalSampling = EvalSampling.Argmax,
        long dim = -1, Generator? generator = null) : base($"CategoricalNode({estimator})", estimator, options, evalSampling, generator)
    {
        Dim = dim;
    }

    /// <summary>Axis of the categories (checked against the logits' rank on every call).</summary>
    public long Dim { get; set; }

    /// <summary>The value to use downstream (training: estimator output; eval: hard one-hot).</summary>
    public override Tensor forward(Tensor logits)
    {
        var s = Sample(logits);
        s.ReleaseAllButValue();
        return s.Value;
    }

    /// <summary>The full output: value, hard sample, probabilities and log-probabilities.</summary>
    public CategoricalSample Sample(Tensor logits)
    {
        if (training) return Categorical.Sample(logits, Estimator, Options, Dim, Generator);
        return Categorical.OnCategoryAxis(logits, Dim, null, null, 0, (l, _, _) =>
        {
            Guard.CategoricalLogits(l);
            using var scope = torch.NewDisposeScope();
            var hard = EvalSampling == EvalSampling.Argmax ? OneHot.Argmax(l.detach()) : OneHot.Sample(l, Generator);
            var value = hard.clone();
            return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(hard), l);
        });
    }
}
