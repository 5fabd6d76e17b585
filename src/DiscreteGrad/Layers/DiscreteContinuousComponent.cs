using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Layers;

/// <summary>What one pass through a <see cref="DiscreteContinuousComponent"/> produced.</summary>
/// <param name="Output">v, the component's continuous output.</param>
/// <param name="Logits">theta = g(u).</param>
/// <param name="Sample">The categorical node's output (value, hard sample, probabilities).</param>
/// <param name="ResidualUsed">Per example, 1 where the residual u was added (DropRes), else 0; shape [B].</param>
public sealed record ComponentOutput(Tensor Output, Tensor Logits, CategoricalSample Sample, Tensor ResidualUsed);

/// <summary>
/// A discrete-continuous component (DCCG paper, Friede and Niepert 2021, eq. 2): theta = g(u); z from a categorical node with any
/// estimator; v = h(z), by default z^T W (a learned embedding of the K categories).
/// <para>DROPRES: v = u + h(z) with probability 1 - alpha, v = h(z) with probability alpha, so that the expected Jacobian
/// is E[dv/du] = (1 - alpha) I + dh(z)/du (DCCG paper, eq. 9): the residual carries gradient to u early in training while
/// alpha rises 0 -> 1. In eval mode alpha is 1 (no residual) and the sample is hard.</para>
/// <para>Created by <see cref="discrete.DiscreteContinuousComponent(long, long, long, EstimatorKind, EstimatorOptions?, DropResMode, Generator?, ScalarType)"/>
/// (the usual linear g and h) or from its parts with this constructor. The node is a submodule, so its tau and beta
/// buffers are in the component's state_dict as <c>node.tau</c> and <c>node.beta</c>.</para>
/// </summary>
public sealed class DiscreteContinuousComponent : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> g;
    private readonly CategoricalNode node;
    private readonly nn.Module<Tensor, Tensor> h;
    private double _alpha;
    private DropResMode _dropRes;

    /// <summary>Creates the component from its parts.</summary>
    /// <param name="encoder">g: u [B, ...] to logits [B, K].</param>
    /// <param name="node">The categorical node (estimator, tau, beta, eval behaviour).</param>
    /// <param name="decoder">h: z [B, K] to v; with DropRes its output must have u's shape.</param>
    /// <param name="dropRes">Residual mode.</param>
    /// <param name="generator">Random source of the DropRes coins (the node has its own).</param>
    public DiscreteContinuousComponent(nn.Module<Tensor, Tensor> encoder, CategoricalNode node, nn.Module<Tensor, Tensor> decoder,
        DropResMode dropRes = DropResMode.None, Generator? generator = null) : base(nameof(DiscreteContinuousComponent))
    {
        g = encoder ?? throw new ArgumentNullException(nameof(encoder));
        this.node = node ?? throw new ArgumentNullException(nameof(node));
        h = decoder ?? throw new ArgumentNullException(nameof(decoder));
        CheckMode(dropRes, nameof(dropRes));
        _dropRes = dropRes;
        Generator = generator;
        RegisterComponents();
    }

    /// <summary>The categorical node (its Tau and Beta are what schedules set).</summary>
    public CategoricalNode Node => node;
    /// <summary>Residual mode: None, PerBatch or PerExample (other values of the enum type are refused).</summary>
    public DropResMode DropRes
    {
        get => _dropRes;
        set
        {
            CheckMode(value, nameof(DropRes));
            _dropRes = value;
        }
    }

    private static void CheckMode(DropResMode mode, string name)
    {
        if (!Enum.IsDefined(mode))
            throw new ArgumentOutOfRangeException(name, mode, $"{name} must be None, PerBatch or PerExample (got {(int)mode}).");
    }
    /// <summary>Random source of the DropRes coins.</summary>
    public Generator? Generator { get; set; }

    /// <summary>Probability in [0, 1] of dropping the residual (0: always residual; 1: never).</summary>
    public double Alpha
    {
        get => _alpha;
        set
        {
            if (!(value >= 0 && value <= 1))
                throw new ArgumentOutOfRangeException(nameof(Alpha), value, $"Alpha must be in [0, 1] (got {value}).");
            _alpha = value;
        }
    }

    /// <summary>v.</summary>
    public override Tensor forward(Tensor u)
    {
        var o = Forward(u);
        o.Logits.Dispose(); o.ResidualUsed.Dispose();
        o.Sample.ReleaseAllButValue();
        if (!ReferenceEquals(o.Sample.Value, o.Output)) o.Sample.Value.Dispose();
        return o.Output;
    }

    /// <summary>v together with the logits, the sample and where the residual was used.</summary>
    public ComponentOutput Forward(Tensor u)
    {
        using var scope = torch.NewDisposeScope();
        var theta = g.call(u);
        var s = node.Sample(theta);
        var v = h.call(s.Value);
        long b = u.shape[0];
        Tensor used;
        if (DropRes == DropResMode.None || !training || _alpha >= 1)
            used = torch.zeros(b, dtype: u.dtype, device: u.device);
        else
        {
            if (!v.shape.SequenceEqual(u.shape))
                throw new InvalidOperationException(
                    $"DropRes needs h(z) of u's shape [{string.Join(", ", u.shape)}] (got [{string.Join(", ", v.shape)}]).");
            used = DropRes == DropResMode.PerBatch
                ? (torch.rand(1, generator: Generator, device: u.device) >= _alpha).to(u.dtype).expand(b).clone()
                : (torch.rand(b, generator: Generator, device: u.device) >= _alpha).to(u.dtype);
            var mask = used.reshape(new long[] { b }.Concat(Enumerable.Repeat(1L, (int)u.dim() - 1)).ToArray());
            v = v + mask * u;
        }
        var outTheta = scope.MoveToOuter(theta);
        var sample = new CategoricalSample(scope.MoveToOuter(s.Value), scope.MoveToOuter(s.Hard), outTheta, dim: s.Dim);
        return new ComponentOutput(scope.MoveToOuter(v), outTheta, sample, scope.MoveToOuter(used));
    }
}
