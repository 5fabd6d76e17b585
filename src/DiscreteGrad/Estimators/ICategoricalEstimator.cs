using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// A pathwise gradient estimator for a categorical node: draws a sample from Cat(softmax(theta)) (or a relaxation of it)
/// and returns it with a gradient path to theta. <see cref="Layers.CategoricalNode"/>, <see cref="Layers.BernoulliNode"/>
/// and <see cref="Categorical.Sample(Tensor, ICategoricalEstimator, EstimatorOptions?, long, Generator?)"/> accept any
/// implementation, so an estimator of your own plugs in where the built-in ones (<see cref="CategoricalEstimator"/>) do.
/// </summary>
/// <example>
/// A softmax straight-through estimator written outside the library (forward argmax, gradient of softmax(theta / tau)):
/// <code>
/// sealed class SoftmaxStraightThrough : ICategoricalEstimator
/// {
///     public CategoricalSample Sample(Tensor logits, EstimatorOptions options, Generator? generator)
///     {
///         var p = (logits / options.Tau).softmax(-1);
///         var hard = torch.zeros_like(p).scatter_(-1, p.argmax(-1, keepdim: true), torch.ones_like(p));
///         return new CategoricalSample(hard + (p - p.detach()), hard, logits);
///     }
/// }
/// var node = discrete.CategoricalNode(new SoftmaxStraightThrough(), new EstimatorOptions(Tau: 0.5));
/// </code>
/// </example>
public interface ICategoricalEstimator
{
    /// <summary>Draws one sample per row with the estimator's gradient.</summary>
    /// <param name="logits">theta [..., K] with the categories on the LAST axis (callers with another axis move it there
    /// first and back afterwards).</param>
    /// <param name="options">The node's current hyperparameters (tau and beta may be annealed between calls); an estimator
    /// uses those it needs.</param>
    /// <param name="generator">Random source of every draw (null: TorchSharp's default generator).</param>
    /// <returns>The value to use downstream (shape [..., K]), the hard one-hot sample and the logits.</returns>
    CategoricalSample Sample(Tensor logits, EstimatorOptions options, Generator? generator);
}

/// <summary>The built-in estimators of <see cref="EstimatorKind"/> as <see cref="ICategoricalEstimator"/> instances.</summary>
public sealed class CategoricalEstimator : ICategoricalEstimator
{
    private static readonly CategoricalEstimator[] All = Enum.GetValues<EstimatorKind>().Select(k => new CategoricalEstimator(k)).ToArray();

    private CategoricalEstimator(EstimatorKind kind) => Kind = kind;

    /// <summary>Which built-in estimator this is.</summary>
    public EstimatorKind Kind { get; }

    /// <summary>The instance for <paramref name="kind"/>.</summary>
    public static CategoricalEstimator Of(EstimatorKind kind)
    {
        int i = (int)kind;
        if (!Enum.IsDefined(kind) || i < 0 || i >= All.Length)
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown estimator");
        return All[i];
    }

    /// <summary>Gumbel-softmax (soft forward).</summary>
    public static CategoricalEstimator GumbelSoftmax => Of(EstimatorKind.GumbelSoftmax);
    /// <summary>Straight-through Gumbel-softmax (STGS).</summary>
    public static CategoricalEstimator StraightThroughGumbel => Of(EstimatorKind.StraightThroughGumbel);
    /// <summary>Straight-through (ST).</summary>
    public static CategoricalEstimator StraightThrough => Of(EstimatorKind.StraightThrough);
    /// <summary>ReinMax.</summary>
    public static CategoricalEstimator ReinMax => Of(EstimatorKind.ReinMax);
    /// <summary>Gapped straight-through (GST).</summary>
    public static CategoricalEstimator GappedStraightThrough => Of(EstimatorKind.GappedStraightThrough);
    /// <summary>Gumbel-Rao Monte Carlo (GR-MCK).</summary>
    public static CategoricalEstimator GumbelRao => Of(EstimatorKind.GumbelRao);
    /// <summary>ZGR (the tau -&gt; 0 limit of GR-MCK).</summary>
    public static CategoricalEstimator Zgr => Of(EstimatorKind.Zgr);
    /// <summary>Decoupled STGS, hard forward (gradient at tau_b = Tau).</summary>
    public static CategoricalEstimator DecoupledStraightThroughGumbel => Of(EstimatorKind.DecoupledStraightThroughGumbel);
    /// <summary>Decoupled Gumbel-softmax, soft forward at TauForward (gradient at tau_b = Tau).</summary>
    public static CategoricalEstimator DecoupledGumbelSoftmax => Of(EstimatorKind.DecoupledGumbelSoftmax);

    /// <inheritdoc />
    public CategoricalSample Sample(Tensor logits, EstimatorOptions options, Generator? generator)
        => Categorical.Sample(logits, Kind, options, generator: generator);

    /// <summary>The kind's name.</summary>
    public override string ToString() => Kind.ToString();
}
