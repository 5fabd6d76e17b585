using DiscreteGrad.Estimators;
using TorchSharp;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>
/// Settings of the polynomial-programming experiment of the ReinMax paper (seed 003):
/// min_theta E_{z ~ prod_i Bern(softmax(theta_i)[0])} (1/N) sum_i |z_i - c|^p with theta in R^{N x 2}.
/// The defaults are the paper's setup (N = 128, c = 0.45, batch 64, Adam 1e-3, 8000 steps, p in {1.5, 2, 3}).
/// </summary>
public sealed record PolynomialConfig
{
    /// <summary>Adam steps per run (default 8000).</summary>
    public int Steps { get; init; } = 8000;

    /// <summary>Number of seeds per (estimator, p); the seeds are <see cref="FirstSeed"/>, FirstSeed + 1, ...</summary>
    public int Seeds { get; init; } = 3;

    /// <summary>First seed (default 0).</summary>
    public int FirstSeed { get; init; }

    /// <summary>Estimators to compare (default ST, STGS, GST-1.0, GR-MCK, ReinMax).</summary>
    public IReadOnlyList<EstimatorKind> Estimators { get; init; } = EstimatorNames.ReinMaxPaperSet;

    /// <summary>Powers p of the loss (default 1.5, 2, 3).</summary>
    public IReadOnlyList<double> Powers { get; init; } = new[] { 1.5, 2.0, 3.0 };

    /// <summary>Temperature tau of every estimator (default 1.0).</summary>
    public double Tau { get; init; } = 1.0;

    /// <summary>Samples per step (default 64).</summary>
    public int Batch { get; init; } = 64;

    /// <summary>Adam learning rate (default 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Record the curves every this many steps (default 50).</summary>
    public int LogEvery { get; init; } = 50;

    /// <summary>Runs executed in parallel (each with one libtorch intra-op thread); default: the number of cores.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>"cpu" or "cuda" (or "cuda:N").</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Number N of binary variables (default 128).</summary>
    public int Dimension { get; init; } = 128;

    /// <summary>The target c of every coordinate (default 0.45).</summary>
    public double Target { get; init; } = 0.45;

    /// <summary>theta is initialised U(-InitRange, InitRange) (default 0.01).</summary>
    public double InitRange { get; init; } = 0.01;

    /// <summary>Gap of GST (default 1.0).</summary>
    public double Gap { get; init; } = 1.0;

    /// <summary>K of GR-MCK (default 100).</summary>
    public int GumbelRaoK { get; init; } = 100;

    /// <summary>The final training loss is the mean of the training losses of the last this many steps (default 100).</summary>
    public int FinalWindow { get; init; } = 100;

    /// <summary>Floating dtype of theta and the samples (default float32).</summary>
    public torch.ScalarType DType { get; init; } = torch.ScalarType.Float32;

    /// <summary>Estimator hyperparameters derived from this configuration.</summary>
    public EstimatorOptions EstimatorOptions => new(Tau: Tau, Gap: Gap, GumbelRaoK: GumbelRaoK);

    /// <summary>The seeds of the runs.</summary>
    public IEnumerable<int> SeedValues => Enumerable.Range(FirstSeed, Seeds);

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> (or <see cref="ArgumentException"/>) for the first invalid setting.
    /// <see cref="ArgumentException.ParamName"/> is the command-line option name without dashes (e.g. "log-every") and the
    /// message states the allowed range.
    /// </summary>
    public void Validate()
    {
        Range(Steps, 1, 100_000_000, "steps");
        Range(Seeds, 1, 10_000, "seeds");
        Range(FirstSeed, 0, int.MaxValue - Seeds, "first-seed");
        if (Estimators is null || Estimators.Count == 0)
            throw new ArgumentException("estimators must list at least one estimator.", "estimators");
        if (Estimators.Distinct().Count() != Estimators.Count)
            throw new ArgumentException("estimators must not list an estimator twice.", "estimators");
        if (Powers is null || Powers.Count == 0)
            throw new ArgumentException("powers must list at least one power.", "powers");
        foreach (var p in Powers) Real(p, 0, 16, "powers", lowerOpen: true);
        if (Powers.Distinct().Count() != Powers.Count)
            throw new ArgumentException("powers must not list a power twice.", "powers");
        Real(Tau, 0, 1e6, "tau", lowerOpen: true);
        Range(Batch, 1, 1 << 20, "batch");
        Real(LearningRate, 0, 10, "lr", lowerOpen: true);
        Range(LogEvery, 1, Steps, "log-every");
        Range(Threads, 1, 1024, "threads");
        if (string.IsNullOrWhiteSpace(Device) || !(Device == "cpu" || Device == "cuda" || Device.StartsWith("cuda:", StringComparison.Ordinal)))
            throw new ArgumentException($"device must be cpu or cuda (got '{Device}').", "device");
        Range(Dimension, 1, 1 << 24, "dimension");
        Real(Target, -1e6, 1e6, "target");
        Real(InitRange, 0, 1e3, "init-range");
        Real(Gap, 0, 1e6, "gap");
        Range(GumbelRaoK, 1, 100_000, "grmck-k");
        Range(FinalWindow, 1, int.MaxValue, "final-window");
        if (DType is not (torch.ScalarType.Float32 or torch.ScalarType.Float64))
            throw new ArgumentException($"dtype must be float32 or float64 (got {DType}).", "dtype");
    }

    private static void Range(long value, long min, long max, string name)
    {
        if (value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be an integer in [{min}, {max}] (got {value}).");
    }

    private static void Real(double value, double min, double max, string name, bool lowerOpen = false)
    {
        bool ok = double.IsFinite(value) && (lowerOpen ? value > min : value >= min) && value <= max;
        if (!ok)
            throw new ArgumentOutOfRangeException(name, value,
                $"{name} must be a finite number in {(lowerOpen ? "(" : "[")}{min}, {max}] (got {value}).");
    }
}
