using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Layers;

/// <summary>
/// A Bernoulli stochastic node as a module: logits theta [...] in, z [...] in {0, 1} out, P(z = 1) = sigmoid(theta)
/// (two-class parameterisation [theta, 0], see <see cref="Bernoulli"/>). Training mode applies the estimator; eval mode
/// returns 1[theta &gt; 0] (<see cref="EvalSampling.Argmax"/>) or a hard sample. The node is elementwise, so it has no
/// category axis and no <c>dim</c>. Tau and Beta are buffers (see <see cref="StochasticNode"/>).
/// Created by <see cref="discrete.BernoulliNode(EstimatorKind, EstimatorOptions?, EvalSampling, Generator?)"/>.
/// </summary>
public sealed class BernoulliNode : StochasticNode
{
    /// <summary>Creates the node with a built-in estimator.</summary>
    /// <param name="kind">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K (validated here).</param>
    /// <param name="evalSampling">Eval-mode behaviour.</param>
    /// <param name="generator">Random source of every draw of this node.</param>
    public BernoulliNode(EstimatorKind kind, EstimatorOptions? options = null, EvalSampling evalSampling = EvalSampling.Argmax,
        Generator? generator = null) : this(CategoricalEstimator.Of(kind), options, evalSampling, generator)
    {
    }

    /// <summary>Creates the node with any estimator, applied to the two-class logits [theta, 0].</summary>
    /// <param name="estimator">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K (validated here).</param>
    /// <param name="evalSampling">Eval-mode behaviour.</param>
    /// <param name="generator">Random source of every draw of this node.</param>
    public BernoulliNode(ICategoricalEstimator estimator, EstimatorOptions? options = null, EvalSampling evalSampling = EvalSampling.Argmax,
        Generator? generator = null) : base($"BernoulliNode({estimator})", estimator, options, evalSampling, generator)
    {
    }

    /// <summary>z with the estimator's gradient (training) or a hard z (eval).</summary>
    public override Tensor forward(Tensor logits)
    {
        var s = Sample(logits);
        s.ReleaseAllButValue();
        return s.Value;
    }

    /// <summary>The full output of the node.</summary>
    public BernoulliSample Sample(Tensor logits)
    {
        if (training) return Bernoulli.Sample(logits, Estimator, Options, Generator);
        Guard.BernoulliLogits(logits);
        using var scope = torch.NewDisposeScope();
        Tensor hard;
        using (torch.no_grad())
        {
            hard = EvalSampling == EvalSampling.Argmax
                ? (logits > 0).to(logits.dtype)
                : (torch.rand(logits.shape, dtype: logits.dtype, device: logits.device, generator: Generator) < torch.sigmoid(logits)).to(logits.dtype);
        }
        var value = hard.clone();
        return new BernoulliSample(scope.MoveToOuter(value), scope.MoveToOuter(hard), logits);
    }
}
