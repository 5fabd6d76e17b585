using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>
/// Settings of one run (one grid cell) of the polynomial-programming experiment of the ReinMax paper (Liu et al.,
/// "Bridging Discrete and Backpropagation: Straight-Through and Beyond", NeurIPS 2023):
/// min_theta E_{z ~ prod_i Bern(softmax(theta_i)[0])} (1/N) sum_i |z_i - c|^p with theta in R^{N x 2}. The estimator, the
/// power p and the seed are the grid's axes; the defaults are the paper's setup (N = 128, c = 0.45, batch 64, Adam 1e-3,
/// 8000 steps, p in {1.5, 2, 3}, the five estimators ST, STGS, GST-1.0, GR-MCK, ReinMax, three seeds).
/// </summary>
public sealed record PolynomialConfig : IValidatedConfig
{
    /// <summary>The gradient estimator of the run (axis; default: the five of the paper).</summary>
    [Setting("estimators", "Estimators to compare.", Axis = true, Values = typeof(EstimatorSettingNames), AxisDefault = "st,stgs,gst,grmck,reinmax")]
    public EstimatorKind Estimator { get; init; } = EstimatorKind.StraightThrough;

    /// <summary>The power p of the loss (axis; default 1.5, 2, 3).</summary>
    [Setting("powers", "Powers p of the loss |z_i - c|^p.", Axis = true, Min = 0, MinExclusive = true, Max = 16, AxisDefault = "1.5,2,3")]
    public double Power { get; init; } = 1.5;

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

    /// <summary>The target c of every coordinate (default 0.45).</summary>
    [Setting("target", "The target c of every coordinate.", Min = -1e6, Max = 1e6)]
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

    /// <summary>The final training loss is the mean of the training losses of the last this many steps (default 100).</summary>
    [Setting("final-window", "The final training loss is the mean over the last this many steps.", Min = 1, Max = int.MaxValue)]
    public int FinalWindow { get; init; } = 100;

    /// <summary>Floating dtype of theta and the samples (default float32).</summary>
    [Setting("dtype", "Floating dtype of theta and the samples.", Values = typeof(FloatTypeValues))]
    public torch.ScalarType DType { get; init; } = torch.ScalarType.Float32;

    /// <summary>Estimator hyperparameters derived from this configuration.</summary>
    public EstimatorOptions EstimatorOptions => new(Tau: Tau, Gap: Gap, GumbelRaoK: GumbelRaoK);

    /// <summary>Steps whose training losses make the final training loss: min(<see cref="FinalWindow"/>, <see cref="Steps"/>).</summary>
    public int Window => Math.Min(FinalWindow, Steps);

    /// <summary>Cross-setting check: <see cref="LogEvery"/> is at most <see cref="Steps"/> (ranges are declared per setting).</summary>
    public void Validate()
    {
        if (LogEvery > Steps)
            throw new ArgumentException($"must be at most --steps = {Steps} (got {LogEvery}).", nameof(LogEvery));
    }
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
