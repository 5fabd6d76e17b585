using DiscreteGrad.Estimators;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Layers;

/// <summary>
/// A categorical stochastic node as a module, for use in a <c>Sequential</c>: logits [..., K] in, one-hot (or relaxed)
/// sample [..., K] out. In training mode it applies the chosen estimator; in eval mode it returns a hard one-hot
/// (argmax or a sample, see <see cref="EvalSampling"/>) without gradient.
/// Tau and Beta are settable so that schedules (TempMatch, tau annealing) can drive them between steps.
/// </summary>
public sealed class CategoricalNode : StochasticNode
{
    /// <summary>Creates the node.</summary>
    /// <param name="kind">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K (validated here).</param>
    /// <param name="evalSampling">Eval-mode behaviour.</param>
    /// <param name="generator">Random source of every draw of this node.</param>
    public CategoricalNode(EstimatorKind kind, EstimatorOptions? options = null, EvalSampling evalSampling = EvalSampling.Argmax,
        Generator? generator = null) : base($"CategoricalNode({kind})", kind, options, evalSampling, generator)
    {
    }

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
        if (training) return Categorical.Sample(logits, Kind, Options, Generator);
        Guard.CategoricalLogits(logits);
        using var scope = torch.NewDisposeScope();
        var hard = EvalSampling == EvalSampling.Argmax ? OneHot.Argmax(logits.detach()) : OneHot.Sample(logits, Generator);
        var value = hard.clone();
        return new CategoricalSample(scope.MoveToOuter(value), scope.MoveToOuter(hard), logits);
    }
}
