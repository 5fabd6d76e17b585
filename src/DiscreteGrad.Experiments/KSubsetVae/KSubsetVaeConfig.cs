using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;

namespace DiscreteGrad.Experiments.KSubsetVae;

/// <summary>Gradient estimator of the k-subset code: I-MLE with a fixed lambda, AIMLE with the adaptive lambda, or SIMPLE.</summary>
public enum KSubsetMethod
{
    /// <summary>I-MLE (Niepert et al. 2021) with a fixed lambda and 1/lambda scaling.</summary>
    Imle,
    /// <summary>AIMLE (Minervini et al. 2023): lambda = beta ||theta|| / ||dz||, beta adapted to a target number of non-zero gradient entries.</summary>
    Aimle,
    /// <summary>SIMPLE (Ahmed et al., ICLR 2023): exact k-subset samples of each block, gradient through the exact marginals
    /// (<see cref="SimpleKSubsetLayer"/>); no noise, no lambda, no finite difference.</summary>
    Simple,
}

/// <summary>The KL term of the loss.</summary>
public enum KSubsetKl
{
    /// <summary>Each block's N-way softmax against the uniform distribution (the AIMLE reference's <c>gumbel_loss</c>).</summary>
    Categorical,
    /// <summary>The exact KL of each block's k-subset distribution to the uniform one over the C(N, k) subsets (the SIMPLE
    /// paper's DVAE).</summary>
    KSubset,
}

/// <summary>Perturbation noise of the code layer.</summary>
public enum KSubsetNoise
{
    /// <summary>Sum-of-Gamma noise with k = <see cref="KSubsetVaeConfig.K"/> (the reference's choice).</summary>
    SumOfGamma,
    /// <summary>Gumbel(0, 1) noise per entry (about 40x cheaper to draw than Sum-of-Gamma with 10 terms).</summary>
    Gumbel,
}

/// <summary>
/// Discrete VAE with k-subset codes on MNIST (Minervini, Franceschi and Niepert, "Adaptive Perturbation-Based Gradient
/// Estimation for Discrete Latent Variable Models", AAAI 2023; reference code torch-adaptive-imle, cli/vae-cli.py and
/// aaai23/torch/dvae/modules.py). The code is <see cref="Blocks"/> blocks of <see cref="Categories"/> entries, each block a
/// <see cref="K"/>-subset (top-k of the block's perturbed logits). Encoder 784-512-256-(Blocks x Categories), decoder mirrored;
/// loss BCE (summed over pixels, on the grey levels in [0, 1], not binarised) + KL of each block's softmax to the uniform
/// distribution. Every property is a setting of the <c>ksubset-vae</c> command; the grid is methods x differences x
/// samples x seeds. Defaults are the reference's AIMLE command (README of torch-adaptive-imle): batch 100, Adam 1e-3,
/// Sum-of-Gamma noise (k = 10, 10 terms) at temperature 1, AIMLE initial beta 0, step 1e-3, target 10 non-zeros per block.
/// </summary>
public sealed record KSubsetVaeConfig : IValidatedConfig
{
    /// <summary>I-MLE, AIMLE or SIMPLE (a sweep axis; the command's default grid has I-MLE and AIMLE).</summary>
    [Setting("methods", "Estimators: imle (fixed lambda), aimle (adaptive lambda) or simple (exact samples, exact marginals; no noise, lambda or difference).",
        Axis = true, AxisDefault = "imle,aimle")]
    public KSubsetMethod Method { get; init; } = KSubsetMethod.Aimle;
    /// <summary>Forward (one-sided) or central (two-sided) difference (a sweep axis; the command's default grid has both).
    /// SIMPLE takes no difference: its cell is the one with <see cref="FiniteDifference.Central"/>, the other is left out.</summary>
    [Setting("differences", "Finite differences: forward or central.", Axis = true, AxisDefault = "forward,central")]
    public FiniteDifference Difference { get; init; } = FiniteDifference.Central;
    /// <summary>Perturb-and-MAP samples S per example; the decoder sees [B*S, ...] (a sweep axis; the command's default grid has 1 and 10).</summary>
    [Setting("samples", "Perturb-and-MAP samples S per example.", Axis = true, Min = 1, Max = 1000, AxisDefault = "1,10")]
    public int Samples { get; init; } = 10;
    /// <summary>Seed of every random draw of the run (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the runs.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;
    /// <summary>Number of blocks M of the code.</summary>
    [Setting("blocks", "Blocks M of the code.", Min = 1, Max = 10_000)]
    public int Blocks { get; init; } = 20;
    /// <summary>Entries N per block.</summary>
    [Setting("categories", "Entries N per block.", Min = 2, Max = 10_000)]
    public int Categories { get; init; } = 20;
    /// <summary>Ones per block (the subset size k), 1 &lt;= k &lt;= Categories.</summary>
    [Setting("k", "Ones per block (the subset size), at most --categories.", Min = 1, Max = 10_000)]
    public int K { get; init; } = 10;
    /// <summary>First hidden width of the encoder (last of the decoder).</summary>
    [Setting("hidden1", "First hidden width of the encoder (last of the decoder).", Min = 1, Max = 100_000)]
    public int Hidden1 { get; init; } = 512;
    /// <summary>Second hidden width of the encoder (first of the decoder).</summary>
    [Setting("hidden2", "Second hidden width of the encoder (first of the decoder).", Min = 1, Max = 100_000)]
    public int Hidden2 { get; init; } = 256;
    /// <summary>Epochs over the training images.</summary>
    [Setting("epochs", "Epochs (the reference runs 100).", Min = 1, Max = 10_000)]
    public int Epochs { get; init; } = 100;
    /// <summary>Batch size.</summary>
    [Setting("batch", "Batch size.", Min = 1, Max = 1 << 20)]
    public int BatchSize { get; init; } = 100;
    /// <summary>Adam learning rate.</summary>
    [Setting("lr", "Adam learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Training images used (the first ones of the MNIST training set).</summary>
    [Setting("train-examples", "Training images (the first ones).", Min = 1, Max = 60_000)]
    public int TrainExamples { get; init; } = 60_000;
    /// <summary>Test images used (the first ones of the MNIST test set).</summary>
    [Setting("test-examples", "Test images (the first ones).", Min = 1, Max = 10_000)]
    public int TestExamples { get; init; } = 10_000;
    /// <summary>Test evaluations per epoch, evenly spread (&gt;= 1); the one at the end of an epoch uses all
    /// <see cref="TestExamples"/> images, the others the first <see cref="IntermediateTestExamples"/>.</summary>
    [Setting("evals-per-epoch", "Test evaluations per epoch (the one at the epoch's end on all test images, the others on the first --intermediate-test-examples).", Min = 1, Max = 1000)]
    public int EvalsPerEpoch { get; init; } = 1;
    /// <summary>Test images of the evaluations inside an epoch (the first ones; at most <see cref="TestExamples"/> are used).</summary>
    [Setting("intermediate-test-examples", "Test images of the evaluations inside an epoch (at most --test-examples are used).", Min = 1, Max = 10_000)]
    public int IntermediateTestExamples { get; init; } = 1_000;
    /// <summary>I-MLE's fixed lambda (the reference CLI's default 10); the gradient is divided by it.</summary>
    [Setting("lambda", "I-MLE's fixed lambda (gradient divided by it).", Min = 0, MinExclusive = true, Max = 1e9)]
    public double Lambda { get; init; } = 10.0;
    /// <summary>Perturbation noise (reference: Sum-of-Gamma).</summary>
    [Setting("noise", "Perturbation noise: sog (Sum-of-Gamma, the reference) or gumbel.", Values = typeof(KSubsetNoiseNames))]
    public KSubsetNoise Noise { get; init; } = KSubsetNoise.SumOfGamma;
    /// <summary>Noise temperature, input and target (reference command: 1).</summary>
    [Setting("temperature", "Noise temperature (input and target).", Min = 0, Max = 1e6)]
    public double NoiseTemperature { get; init; } = 1.0;
    /// <summary>Gamma terms of the Sum-of-Gamma noise (reference: 10).</summary>
    [Setting("noise-terms", "Gamma terms of the Sum-of-Gamma noise.", Min = 1, Max = 1000)]
    public int NoiseTerms { get; init; } = 10;
    /// <summary>AIMLE: initial beta (reference command: 0).</summary>
    [Setting("aimle-initial-beta", "AIMLE: initial beta.", Min = 0, Max = 1e6)]
    public double AimleInitialBeta { get; init; } = 0.0;
    /// <summary>AIMLE: change of beta per backward pass (reference command: 1e-3).</summary>
    [Setting("aimle-step", "AIMLE: change of beta per step.", Min = 0, MinExclusive = true, Max = 1e3)]
    public double AimleStep { get; init; } = 1e-3;
    /// <summary>AIMLE: target number of non-zero gradient entries per block and sample (reference command: 10).</summary>
    [Setting("aimle-target", "AIMLE: target non-zero gradient entries per block and sample.", Min = 0, Max = 1e6)]
    public double AimleTargetNonZeros { get; init; } = 10.0;
    /// <summary>The KL term: categorical (the AIMLE reference, default) or k-subset (the SIMPLE paper's exact KL).</summary>
    [Setting("kl", "KL term: categorical (each block's softmax against uniform, the AIMLE reference) or k-subset (the exact KL of each block's k-subset distribution to the uniform one, log C(N, k) - H, the SIMPLE paper).")]
    public KSubsetKl Kl { get; init; } = KSubsetKl.Categorical;
    /// <summary>Folder of the MNIST files, or <see cref="MnistDataSetting.Auto"/>.</summary>
    [Setting("data", MnistDataSetting.Help, Local = true)]
    public string Data { get; init; } = MnistDataSetting.Auto;

    /// <summary>Size of the code, Blocks x Categories.</summary>
    public int CodeSize => Blocks * Categories;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid setting: each setting's declared range, then
    /// k &lt;= categories.
    /// </summary>
    public void Validate()
    {
        foreach (var s in GridSpec<KSubsetVaeConfig>.Settings) s.Check(s.Get(this));
        if (K > Categories)
            throw new ArgumentOutOfRangeException(nameof(K), K, $"must be at most --categories = {Categories} (got {K}).");
    }

    /// <summary>Short name of the configuration, e.g. "aimle-central-s10", "simple-s10".</summary>
    public string Label => Method == KSubsetMethod.Simple ? $"simple-s{Samples}"
        : $"{(Method == KSubsetMethod.Aimle ? "aimle" : "imle")}-{(Difference == FiniteDifference.Central ? "central" : "forward")}-s{Samples}";

    /// <summary>Display name, e.g. "AIMLE central, S = 10", "SIMPLE, S = 10".</summary>
    public string Display => Method == KSubsetMethod.Simple ? $"SIMPLE, S = {Samples}"
        : $"{(Method == KSubsetMethod.Aimle ? "AIMLE" : "I-MLE")} {(Difference == FiniteDifference.Central ? "central" : "forward")}, S = {Samples}";
}

/// <summary>The command-line names of <see cref="KSubsetNoise"/>: sog (Sum-of-Gamma) and gumbel.</summary>
public sealed class KSubsetNoiseNames : ISettingValues
{
    /// <inheritdoc />
    public IReadOnlyList<string> Allowed { get; } = new[] { "sog", "gumbel" };

    /// <inheritdoc />
    public string Format(object value) => (KSubsetNoise)value == KSubsetNoise.Gumbel ? "gumbel" : "sog";

    /// <inheritdoc />
    public bool TryParse(string text, out object value)
    {
        string t = text.Trim().ToLowerInvariant();
        value = t == "gumbel" ? KSubsetNoise.Gumbel : KSubsetNoise.SumOfGamma;
        return t is "sog" or "gumbel";
    }
}
