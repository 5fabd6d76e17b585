using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Layers;

/// <summary>
/// What <see cref="CategoricalNode"/> and <see cref="BernoulliNode"/> share: the estimator used in training mode, its
/// hyperparameters (Tau and Beta settable, so schedules can drive them), the eval-mode behaviour and the random source.
/// </summary>
public abstract class StochasticNode : nn.Module<Tensor, Tensor>
{
    private EstimatorOptions _options;

    /// <summary>Creates the node.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="kind">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K (validated here).</param>
    /// <param name="evalSampling">Eval-mode behaviour.</param>
    /// <param name="generator">Random source of every draw of this node.</param>
    protected StochasticNode(string name, EstimatorKind kind, EstimatorOptions? options, EvalSampling evalSampling, Generator? generator)
        : base(name)
    {
        _options = options ?? new EstimatorOptions();
        _options.Validate();
        Kind = kind;
        EvalSampling = evalSampling;
        Generator = generator;
    }

    /// <summary>The estimator used in training mode.</summary>
    public EstimatorKind Kind { get; }
    /// <summary>Eval-mode behaviour.</summary>
    public EvalSampling EvalSampling { get; set; }
    /// <summary>The node's random source.</summary>
    public Generator? Generator { get; set; }
    /// <summary>All hyperparameters.</summary>
    public EstimatorOptions Options { get => _options; set { value.Validate(); _options = value; } }
    /// <summary>Temperature tau &gt; 0.</summary>
    public double Tau { get => _options.Tau; set => Options = _options with { Tau = value }; }
    /// <summary>Gumbel scale beta &gt;= 0.</summary>
    public double Beta { get => _options.Beta; set => Options = _options with { Beta = value }; }
}
