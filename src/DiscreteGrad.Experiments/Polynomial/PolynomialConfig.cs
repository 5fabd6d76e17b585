using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>
/// Settings of one run (one grid cell) of the polynomial-programming experiment of the ReinMax paper (Liu et al.,
/// "Bridging Discrete and Backpropagation: Straight-Through and Beyond", NeurIPS 2023):
/// min_theta E_{z ~ prod_i Bern(softmax(theta_i)[0])} (1/N) sum_i |z_i - c|^p with theta in R^{N x 2}. The estimator, the
/// power p, the target vector and the seed are the grid's axes; the defaults are the paper's setup (N = 128, c = 0.45,
/// batch 64, Adam 1e-3, 8000 steps, p in {1.5, 2, 3}, the five estimators ST, STGS, GST-1.0, GR-MCK, ReinMax, three
/// seeds). The target vector is c_i = c for every i (<see cref="TargetVector.Constant"/>, the paper's) or c_i = (i - 1/2) / N
/// (<see cref="TargetVector.Ramp"/>, i = 1..N), whose optimum has z_i = 0 below 1/2 and z_i = 1 above.
/// </summary>
public sealed record PolynomialConfig : IValidatedConfig
{
    /// <summary>The gradient estimator of the run (axis; default: the five of the paper).</summary>
    [Setting("estimators", "Estimators to compare ('pathwise': the nine pathwise ones, 'score-function': reinforce, rloo, disarm, indecater, relax; 'all': every one).",
        Axis = true, Values = typeof(PolynomialEstimatorWords), AxisDefault = "st,stgs,gst,grmck,reinmax")]
    public PolynomialEstimator Estimator { get; init; } = PolynomialEstimator.StraightThrough;

    /// <summary>The power p of the loss (axis; default 1.5, 2, 3).</summary>
    [Setting("powers", "Powers p of the loss |z_i - c|^p.", Axis = true, Min = 0, MinExclusive = true, Max = 16, AxisDefault = "1.5,2,3")]
    public double Power { get; init; } = 1.5;

    /// <summary>The target vector (axis; default constant: c_i = <see cref="Target"/>, the paper's).</summary>
    [Setting("target-vectors", "Target vectors: constant (c_i = --target) or ramp (c_i = (i - 1/2) / N).", Axis = true, Values = typeof(TargetVectorWords),
        AxisDefault = "constant", KeyOmitsDefault = true)]
    public TargetVector TargetVector { get; init; } = TargetVector.Constant;

    /// <summary>Seed of the run's one generator, which draws the initialisation and every sample (axis; default 0, 1, 2).</summary>
    [Setting("seeds", "Seeds: a count N (the seeds 0 .. N-1), a list or a range.", Axis = true, Count = true, CountFrom = 0, Min = 0, Max = int.MaxValue,
        AxisDefault = "3")]
    public int Seed { get; init; }

    /// <summary>Adam steps per run (default 8000).</summary>
    [Setting("steps", "Adam steps per run.", Min = 1, Max = 100_000_000)]
    public int Steps { get; init; } = 8000;

    /// <summary>Temperature tau of every estimator (default 1.0).</summary>
    [Setting("tau", "Temperature of every estimator.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 1.0;

    /// <summary>Samples per step (default 64).</summary>
    [Setting("batch", "Samples per step.", Min = 1, Max = 1 << 20)]
    public int Batch { get; init; } = 64;

    /// <summary>Adam learning rate (default 1e-3).</summary>
    [Setting("lr", "Adam learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Record the curve (and log the training loss) every this many steps (default 50; at most <see cref="Steps"/>).</summary>
    [Setting("log-every", "Record the curves every this many steps (at most --steps).", Min = 1, Max = 100_000_000)]
    public int LogEvery { get; init; } = 50;

    /// <summary>Number N of binary variables (default 128).</summary>
    [Setting("dimension", "Number N of binary variables.", Min = 1, Max = 1 << 24)]
    public int Dimension { get; init; } = 128;

    /// <summary>The target c of every coordinate of the constant target vector (default 0.45).</summary>
    [Setting("target", "The target c of every coordinate (constant target vector).", Min = -1e6, Max = 1e6)]
    public double Target { get; init; } = 0.45;

    /// <summary>theta is initialised U(-InitRange, InitRange) (default 0.01).</summary>
    [Setting("init-range", "theta starts U(-r, r).", Min = 0, Max = 1e3)]
    public double InitRange { get; init; } = 0.01;

    /// <summary>Gap of GST (default 1.0).</summary>
    [Setting("gap", "Gap of GST.", Min = 0, Max = 1e6)]
    public double Gap { get; init; } = 1.0;

    /// <summary>K of GR-MCK (default 100).</summary>
    [Setting("grmck-k", "Monte Carlo samples K of GR-MCK.", Min = 1, Max = 100_000)]
    public int GumbelRaoK { get; init; } = 100;

    /// <summary>Forward temperature tau_f of the decoupled Gumbel-softmax (dgs); --tau is its backward temperature (default 0.5).</summary>
    [Setting("tau-forward", "Forward temperature of the decoupled Gumbel-softmax (dgs; --tau is its backward one).", Min = 0, MinExclusive = true, Max = 1e6)]
    public double TauForward { get; init; } = 0.5;

    /// <summary>Backward temperature tau_b of the decoupled forms (dstgs, dgs); 0 (the default): --tau.</summary>
    [Setting("tau-backward", "Backward temperature of the decoupled forms (dstgs, dgs); 0: --tau.", Min = 0, Max = 1e6)]
    public double TauBackward { get; init; }

    /// <summary>Hidden units of RELAX's network r(z) (N 2 - h - 1, tanh; default 32).</summary>
    [Setting("relax-hidden", "Hidden units of RELAX's control-variate network.", Min = 1, Max = 100_000)]
    public int RelaxHidden { get; init; } = 32;

    /// <summary>The final training loss is the mean of the training losses of the last this many steps (default 100).</summary>
    [Setting("final-window", "The final training loss is the mean over the last this many steps.", Min = 1, Max = int.MaxValue)]
    public int FinalWindow { get; init; } = 100;

    /// <summary>Floating dtype of theta and the samples (default float32).</summary>
    [Setting("dtype", "Floating dtype of theta and the samples.", Values = typeof(FloatTypeValues))]
    public torch.ScalarType DType { get; init; } = torch.ScalarType.Float32;

    /// <summary>Estimator hyperparameters derived from this configuration (TauForward only where an estimator uses it, so
    /// the options of the other estimators are those of before it existed).</summary>
    public EstimatorOptions EstimatorOptions => new(Tau: Decoupled && TauBackward > 0 ? TauBackward : Tau, Gap: Gap, GumbelRaoK: GumbelRaoK,
        TauForward: Estimator == PolynomialEstimator.DecoupledGumbelSoftmax ? TauForward : 1.0);

    private bool Decoupled => Estimator is PolynomialEstimator.DecoupledStraightThroughGumbel or PolynomialEstimator.DecoupledGumbelSoftmax;

    /// <summary>The targets c_1..c_N (float64).</summary>
    public double[] Targets => PolynomialObjective.Targets(TargetVector, Target, Dimension);

    /// <summary>Steps whose training losses make the final training loss: min(<see cref="FinalWindow"/>, <see cref="Steps"/>).</summary>
    public int Window => Math.Min(FinalWindow, Steps);

    /// <summary>Cross-setting checks: <see cref="LogEvery"/> is at most <see cref="Steps"/>; ARM and DisARM need an even
    /// batch (antithetic pairs), RLOO a batch of at least 2 (ranges are declared per setting).</summary>
    public void Validate()
    {
        if (LogEvery > Steps)
            throw new ArgumentException($"must be at most --steps = {Steps} (got {LogEvery}).", nameof(LogEvery));
        if (InvalidBatch() is { } why) throw new ArgumentException(why, nameof(Batch));
    }

    /// <summary>Why the batch does not suit the estimator (ARM, DisARM: even; RLOO: &gt;= 2), or null.</summary>
    public string? InvalidBatch() => Estimator switch
    {
        PolynomialEstimator.Arm or PolynomialEstimator.DisArm when Batch % 2 != 0 =>
            $"{PolynomialEstimators.Display(Estimator)} draws batch / 2 antithetic pairs: the batch must be even (got {Batch}).",
        PolynomialEstimator.Rloo when Batch < 2 => $"RLOO needs a batch of at least 2 samples for the leave-one-out baseline (got {Batch}).",
        _ => null,
    };
}

/// <summary>The target vector of polynomial programming.</summary>
public enum TargetVector
{
    /// <summary>c_i = c for every coordinate (the ReinMax paper's c = 0.45).</summary>
    Constant,
    /// <summary>c_i = (i - 1/2) / N for i = 1..N, evenly spread over (0, 1).</summary>
    Ramp,
}

/// <summary>Words of <see cref="TargetVector"/>: constant, ramp.</summary>
public sealed class TargetVectorWords : SettingWords<TargetVector>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, TargetVector Value, string[] Aliases)> Table { get; } = new[]
    {
        ("constant", TargetVector.Constant, Array.Empty<string>()), ("ramp", TargetVector.Ramp, Array.Empty<string>()),
    };
}

/// <summary>The words of a floating dtype setting: "float32" and "float64".</summary>
public sealed class FloatTypeValues : ISettingValues
{
    /// <inheritdoc />
    public IReadOnlyList<string> Allowed { get; } = new[] { "float32", "float64" };

    /// <inheritdoc />
    public string Format(object value) => (torch.ScalarType)value == torch.ScalarType.Float64 ? "float64" : "float32";

    /// <inheritdoc />
    public bool TryParse(string text, out object value)
    {
        value = text.Trim().ToLowerInvariant() switch
        {
            "float32" => torch.ScalarType.Float32,
            "float64" => torch.ScalarType.Float64,
            _ => torch.ScalarType.Byte,
        };
        return (torch.ScalarType)value != torch.ScalarType.Byte;
    }
}
