using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// Straight-through estimator for a MAP solver, the baseline of the I-MLE / AIMLE comparisons (Bengio, Léonard, Courville
/// 2013). Forward exactly as <see cref="ImleLayer"/>: z = MAP(theta + T eps), S samples, <see cref="SampleLayout"/>.
/// Backward: the identity, grad theta_b = mean over its S samples of dz_{b,s} (for a minimising solver -dz, since z falls
/// as a cost rises). A module without parameters or state, usable in a <c>Sequential</c>; created by
/// <see cref="discrete.StraightThroughMapLayer"/>.
/// </summary>
public sealed class StraightThroughMapLayer : nn.Module<Tensor, Tensor>
{
    private readonly Rule _rule;

    /// <summary>Creates the layer.</summary>
    /// <param name="solver">The batched MAP solver.</param>
    /// <param name="noise">Noise distribution (null: none).</param>
    /// <param name="temperature">Noise temperature T &gt;= 0.</param>
    /// <param name="samples">Samples S &gt;= 1 per input.</param>
    /// <param name="layout">Output layout of the samples.</param>
    /// <param name="minimise">True for a cost-minimising solver.</param>
    /// <param name="generator">Random source of the noise.</param>
    public StraightThroughMapLayer(IMapSolver solver, ImleNoise? noise = null, double temperature = 1.0, int samples = 1,
        SampleLayout layout = SampleLayout.Stacked, bool minimise = false, Generator? generator = null) : base(nameof(StraightThroughMapLayer))
    {
        ArgumentNullException.ThrowIfNull(solver);
        Guard.NonNegative(temperature, nameof(temperature));
        Guard.AtLeast(samples, 1, nameof(samples));
        if (!Enum.IsDefined(layout)) throw new ArgumentOutOfRangeException(nameof(layout), layout, "layout must be Stacked or Mean.");
        Solver = solver;
        Noise = noise ?? ImleNoise.None;
        Temperature = temperature;
        Samples = samples;
        Layout = layout;
        Minimise = minimise;
        Generator = generator;
        _rule = new Rule(samples, minimise);
    }

    /// <summary>The wrapped solver.</summary>
    public IMapSolver Solver { get; }
    /// <summary>Noise distribution.</summary>
    public ImleNoise Noise { get; }
    /// <summary>Noise temperature.</summary>
    public double Temperature { get; }
    /// <summary>Samples per input.</summary>
    public int Samples { get; }
    /// <summary>Output layout.</summary>
    public SampleLayout Layout { get; }
    /// <summary>Whether the solver minimises.</summary>
    public bool Minimise { get; }
    /// <summary>Random source of the noise.</summary>
    public Generator? Generator { get; set; }

    /// <summary>z = MAP(theta + T eps) with the identity gradient, eps drawn from <see cref="Noise"/>.</summary>
    /// <param name="theta">Weights [B, ...].</param>
    public override Tensor forward(Tensor theta) => forward(theta, null);

    /// <summary>z = MAP(theta + T eps) with the identity gradient; <paramref name="noise"/> optionally pins eps [B*S, ...].</summary>
    /// <param name="theta">Weights [B, ...].</param>
    /// <param name="noise">Pinned unscaled noise eps [B*S, ...], or null to draw it.</param>
    public Tensor forward(Tensor theta, Tensor? noise)
    {
        PerturbAndMap.CheckTheta(theta);
        using var scope = torch.NewDisposeScope();
        var eps = PerturbAndMap.Noise(theta, Samples, Noise, Generator, noise);
        var output = PerturbAndMapFunction.apply(theta, eps, Temperature, Samples, Layout, Solver, (IPerturbAndMapBackward)_rule)[0];
        return scope.MoveToOuter(output);
    }

    private sealed class Rule : IPerturbAndMapBackward
    {
        private readonly int _samples;
        private readonly bool _minimise;
        public Rule(int samples, bool minimise) { _samples = samples; _minimise = minimise; }

        public Tensor Backward(Tensor theta, Tensor noise, Tensor weights, Tensor z, Tensor dz)
        {
            var perItem = PerturbAndMap.Split(dz, theta.shape[0], _samples).mean(new long[] { 1 });
            return _minimise ? perItem.neg() : perItem;
        }
    }
}
