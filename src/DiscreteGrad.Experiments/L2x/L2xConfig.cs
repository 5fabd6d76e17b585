using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.L2x;

/// <summary>Whether the word embeddings are trained or stay at their random initialisation.</summary>
public enum L2xEmbeddings
{
    /// <summary>Fixed random N(0, 1) embeddings (the papers keep pre-trained GloVe vectors fixed; we have none, so random ones).</summary>
    Fixed,
    /// <summary>Embeddings trained with the rest of the model.</summary>
    Trainable,
}

/// <summary>The words of the L2X estimators (the <see cref="GradientMethods.Key"/> of each; "all": the six of the study).</summary>
public sealed class L2xMethodWords : SettingWords<GradientMethod>
{
    /// <summary>The estimators of the study, in table order: I-MLE (forward), AIMLE forward and central, STE, SFE, SIMPLE.</summary>
    public static IReadOnlyList<GradientMethod> Study { get; } = new[]
    {
        GradientMethod.ImleForward, GradientMethod.AimleForward, GradientMethod.AimleCentral,
        GradientMethod.StraightThrough, GradientMethod.ScoreFunctionPam, GradientMethod.Simple,
    };

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, GradientMethod Value, string[] Aliases)> Table { get; } =
        new[] { GradientMethod.ImleForward, GradientMethod.ImleCentral, GradientMethod.AimleForward, GradientMethod.AimleCentral,
                GradientMethod.StraightThrough, GradientMethod.ScoreFunctionPam, GradientMethod.Simple }
            .Select(m => (GradientMethods.Key(m), m, m switch
            {
                GradientMethod.ImleForward => new[] { "imle" },
                GradientMethod.ScoreFunctionPam => new[] { "sfe" },
                _ => Array.Empty<string>(),
            })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, GradientMethod[] Values)> Groups { get; } = new[] { ("all", Study.ToArray()) };
}

/// <summary>
/// Learning to explain (L2X; Chen, Song, Wainwright and Jordan, "Learning to Explain: An Information-Theoretic Perspective
/// on Model Interpretation", ICML 2018) with k-subsets, as the I-MLE papers run it on BeerAdvocate (Niepert, Minervini and
/// Franceschi, "Implicit MLE: Backpropagating Through Discrete Exponential Family Distributions", NeurIPS 2021; Minervini,
/// Franceschi and Niepert, "Adaptive Perturbation-Based Gradient Estimation for Discrete Latent Variable Models", AAAI
/// 2023), here on <see cref="SyntheticBeerReviews"/>: a convolutional selector gives one logit per token, a k-subset of the
/// tokens is drawn through the estimator, and an MLP on the mean of the selected tokens' embeddings predicts the aspect's
/// rating (MSE). Every property is a setting of the <c>l2x</c> command; the grid is methods x k x aspects x seeds.
/// </summary>
public sealed record L2xConfig : IValidatedConfig
{
    /// <summary>The estimator (a sweep axis; the command's default grid has the six of the study).</summary>
    [Setting("methods", "Estimators: imle-forward (alias imle), imle-central, aimle-forward, aimle-central, ste, sfe-pam (alias sfe), simple ('all': imle-forward, aimle-forward, aimle-central, ste, sfe-pam, simple).",
        Axis = true, Values = typeof(L2xMethodWords), AxisDefault = "all")]
    public GradientMethod Method { get; init; } = GradientMethod.AimleForward;
    /// <summary>Tokens selected k (a sweep axis; the command's default grid has 5 and 10).</summary>
    [Setting("k", "Tokens selected k (the papers: 5, 10, 15).", Axis = true, Min = 1, Max = 10_000, AxisDefault = "5,10")]
    public int K { get; init; } = 10;
    /// <summary>The rated aspect (a sweep axis; the papers' main table is aroma).</summary>
    [Setting("aspects", "Rated aspects: appearance, aroma, palate.", Axis = true, AxisDefault = "aroma")]
    public L2xAspect Aspect { get; init; } = L2xAspect.Aroma;
    /// <summary>Seed of the initialisation, the noise and the batch order (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the runs.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;
    /// <summary>Training reviews.</summary>
    [Setting("train", "Training reviews generated.", Min = 1, Max = 10_000_000)]
    public int TrainReviews { get; init; } = 4_000;
    /// <summary>Test reviews.</summary>
    [Setting("test", "Test reviews generated.", Min = 1, Max = 10_000_000)]
    public int TestReviews { get; init; } = 500;
    /// <summary>Tokens per review (at least <see cref="SyntheticBeerReviews.MinLength"/>).</summary>
    [Setting("length", "Tokens per review (at least 57).", Min = SyntheticBeerReviews.MinLength, Max = 100_000)]
    public int Length { get; init; } = 80;
    /// <summary>Correlation of the ratings of any two aspects (and of the taste distractor).</summary>
    [Setting("correlation", "Correlation of the ratings of any two aspects (and the taste distractor), in [0, 1].", Min = 0, Max = 1)]
    public double Correlation { get; init; } = 0.5;
    /// <summary>Seed of the generated reviews (the same for every cell).</summary>
    [Setting("data-seed", "Seed of the generated reviews.", Min = 0, Max = 1_000_000_000)]
    public int DataSeed { get; init; } = 42;
    /// <summary>Fixed random or trainable embeddings.</summary>
    [Setting("embeddings", "Word embeddings: fixed (random N(0, 1), never trained) or trainable.")]
    public L2xEmbeddings Embeddings { get; init; } = L2xEmbeddings.Fixed;
    /// <summary>Embedding width.</summary>
    [Setting("embedding-dim", "Embedding width.", Min = 1, Max = 10_000)]
    public int EmbeddingDim { get; init; } = 32;
    /// <summary>Filters of the selector's convolutions.</summary>
    [Setting("filters", "Filters of the selector's convolutions.", Min = 1, Max = 10_000)]
    public int Filters { get; init; } = 32;
    /// <summary>Hidden width of the predictor MLP.</summary>
    [Setting("hidden", "Hidden width of the predictor MLP.", Min = 1, Max = 100_000)]
    public int Hidden { get; init; } = 64;
    /// <summary>Optimisation steps.</summary>
    [Setting("steps", "Optimisation steps.", Min = 1, Max = 100_000_000)]
    public long Steps { get; init; } = 400;
    /// <summary>Steps between test evaluations (one more after the last step).</summary>
    [Setting("eval-every", "Steps between test evaluations.", Min = 1, Max = 100_000_000)]
    public long EvalEvery { get; init; } = 50;
    /// <summary>Batch size.</summary>
    [Setting("batch", "Batch size.", Min = 1, Max = 1 << 20)]
    public int BatchSize { get; init; } = 50;
    /// <summary>Adam learning rate.</summary>
    [Setting("lr", "Adam learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 3e-3;
    /// <summary>Samples S of the k-subset per review (the score function takes max(2, S)).</summary>
    [Setting("samples", "Samples S of the k-subset per review (sfe-pam takes max(2, S)).", Min = 1, Max = 1000)]
    public int Samples { get; init; } = 1;
    /// <summary>Noise temperature of the perturb-and-MAP methods (Sum-of-Gamma noise with k = the subset size, 10 terms).</summary>
    [Setting("temperature", "Noise temperature of the perturb-and-MAP methods (Sum-of-Gamma noise).", Min = 0, Max = 1e6)]
    public double Temperature { get; init; } = 1.0;
    /// <summary>I-MLE's fixed lambda (the gradient is divided by it).</summary>
    [Setting("lambda", "I-MLE's fixed lambda (gradient divided by it).", Min = 0, MinExclusive = true, Max = 1e9)]
    public double Lambda { get; init; } = 100.0;
    /// <summary>AIMLE: initial beta.</summary>
    [Setting("aimle-initial-beta", "AIMLE: initial beta.", Min = 0, Max = 1e6)]
    public double AimleInitialBeta { get; init; } = 0.0;
    /// <summary>AIMLE: change of beta per step.</summary>
    [Setting("aimle-step", "AIMLE: change of beta per step.", Min = 0, MinExclusive = true, Max = 1e3)]
    public double AimleStep { get; init; } = 1e-3;
    /// <summary>AIMLE: target non-zero gradient entries per review and sample (default 2: one token swapped in, one out).</summary>
    [Setting("aimle-target", "AIMLE: target non-zero gradient entries per review and sample.", Min = 0, Max = 1e6)]
    public double AimleTargetNonZeros { get; init; } = 2.0;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting: the declared ranges, then k &lt; length.</summary>
    public void Validate()
    {
        foreach (var s in GridSpec<L2xConfig>.Settings) s.Check(s.Get(this));
        if (K >= Length)
            throw new ArgumentOutOfRangeException(nameof(K), K, $"must be below --length = {Length} (got {K}).");
    }

    /// <summary>Row name, e.g. "AIMLE forward, k = 10, aroma".</summary>
    public string Display => $"{GradientMethods.Label(Method)}, k = {K}, {Aspect.ToString().ToLowerInvariant()}";
}
