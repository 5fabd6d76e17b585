using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Layers;

/// <summary>
/// What <see cref="CategoricalNode"/> and <see cref="BernoulliNode"/> share: the estimator used in training mode, its
/// hyperparameters, the eval-mode behaviour and the random source.
/// <para>Tau and Beta are registered buffers (float64 scalars named <c>tau</c> and <c>beta</c>): schedules (TempMatch,
/// tau annealing) set them between steps, <c>state_dict()</c> / <c>save</c> record their current values and
/// <c>load_state_dict</c> / <c>load</c> restore them, so a saved model reloads with the temperature it was trained at;
/// <c>to(device)</c> moves them, and <c>to(dtype)</c> leaves them float64 (a float32 copy of tau = 0.3 would be
/// 0.30000001). Gap, GumbelRaoK and TauForward are configuration, not state.</para>
/// </summary>
public abstract class StochasticNode : nn.Module<Tensor, Tensor>
{
    private Tensor tau;
    private Tensor beta;
    private double _gap;
    private int _gumbelRaoK;
    private double _tauForward;

    /// <summary>Creates the node.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="estimator">Estimator used in training mode.</param>
    /// <param name="options">tau, beta, gap, GR-MCK K (validated here).</param>
    /// <param name="evalSampling">Eval-mode behaviour.</param>
    /// <param name="generator">Random source of every draw of this node.</param>
    protected StochasticNode(string name, ICategoricalEstimator estimator, EstimatorOptions? options, EvalSampling evalSampling,
        Generator? generator) : base(name)
    {
        ArgumentNullException.ThrowIfNull(estimator);
        var o = options ?? new EstimatorOptions();
        o.Validate();
        if (!Enum.IsDefined(evalSampling))
            throw new ArgumentOutOfRangeException(nameof(evalSampling), evalSampling, "evalSampling must be Argmax or Sample.");
        Estimator = estimator;
        EvalSampling = evalSampling;
        Generator = generator;
        _gap = o.Gap;
        _gumbelRaoK = o.GumbelRaoK;
        _tauForward = o.TauForward;
        tau = ScalarBuffer.Create(o.Tau);
        beta = ScalarBuffer.Create(o.Beta);
        RegisterComponents();
    }

    /// <summary>The estimator used in training mode.</summary>
    public ICategoricalEstimator Estimator { get; }
    /// <summary>Eval-mode behaviour.</summary>
    public EvalSampling EvalSampling { get; set; }
    /// <summary>The node's random source.</summary>
    public Generator? Generator { get; set; }

    /// <summary>All hyperparameters (Tau and Beta read from the buffers). Setting validates them and writes Tau and Beta
    /// into the buffers (Gap, GumbelRaoK and TauForward are plain settings, not part of the state_dict).</summary>
    public EstimatorOptions Options
    {
        get => new(Tau, Beta, _gap, _gumbelRaoK, _tauForward);
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            value.Validate();
            _gap = value.Gap;
            _gumbelRaoK = value.GumbelRaoK;
            _tauForward = value.TauForward;
            ScalarBuffer.Write(tau, value.Tau);
            ScalarBuffer.Write(beta, value.Beta);
        }
    }

    /// <summary>Temperature tau &gt; 0 (the buffer <c>tau</c>).</summary>
    public double Tau
    {
        get => ScalarBuffer.Read(tau);
        set { Guard.Temperature(value, nameof(Tau)); ScalarBuffer.Write(tau, value); }
    }

    /// <summary>Gumbel scale beta &gt;= 0 (the buffer <c>beta</c>).</summary>
    public double Beta
    {
        get => ScalarBuffer.Read(beta);
        set { Guard.Scale(value, nameof(Beta)); ScalarBuffer.Write(beta, value); }
    }

    /// <summary>Converts the module's other tensors; tau and beta stay float64 with their exact values.</summary>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking)
    {
        double t = Tau, b = Beta;
        base._to(dtype, non_blocking);
        KeepFloat64(t, b);
        return this;
    }

    /// <summary>Moves and converts the module's other tensors; tau and beta move and stay float64 with their exact values.</summary>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        double t = Tau, b = Beta;
        base._to(device, dtype, non_blocking);
        KeepFloat64(t, b);
        return this;
    }

    private void KeepFloat64(double t, double b)
    {
        tau = ScalarBuffer.Restore(tau, t, (n, x) => ConditionallyRegisterBuffer(n, x), nameof(tau));
        beta = ScalarBuffer.Restore(beta, b, (n, x) => ConditionallyRegisterBuffer(n, x), nameof(beta));
    }
}
