using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Warcraft;

/// <summary>
/// One Warcraft shortest-path run; every property is a setting of the <c>warcraft</c> command, the grid is methods x seeds.
/// Defaults: 12 x 12 maps of 8 x 8 pixel cells, 10000 / 1000 / 1000 maps (the sizes of the benchmark of Vlastelica et
/// al., "Differentiation of Blackbox Combinatorial Solvers", ICLR 2020), batch 70 and Adam with learning rate divided by
/// 10 at 60 % and 80 % of the epochs (the reference's 50 epochs with decays at 30 and 40), I-MLE lambda = 20 (Niepert,
/// Minervini and Franceschi, "Implicit MLE: Backpropagating Through Discrete Exponential Family Distributions", NeurIPS
/// 2021) with Sum-of-Gamma noise.
/// </summary>
public sealed record WarcraftConfig : IValidatedConfig
{
    /// <summary>Method (a sweep axis; the command's default grid has all three).</summary>
    [Setting("methods", "Methods: imle (fixed lambda), aimle (adaptive lambda) around Dijkstra, or direct (a CNN that predicts the path).", Axis = true, AxisDefault = "imle,aimle,direct")]
    public WarcraftMethod Method { get; init; } = WarcraftMethod.Imle;
    /// <summary>Seed of the model's initialisation, noise and batch order (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the runs.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;
    /// <summary>Grid size N.</summary>
    [Setting("size", "Grid size N (N x N cells).", Min = 2, Max = 64)]
    public int Size { get; init; } = 12;
    /// <summary>Pixels per cell side P (a multiple of 4).</summary>
    [Setting("patch-size", "Pixels per cell side, a multiple of 4.", Min = 4, Max = 64)]
    public int PatchSize { get; init; } = 8;
    /// <summary>Training maps.</summary>
    [Setting("train-maps", "Training maps.", Min = 1, Max = 1_000_000)]
    public int TrainMaps { get; init; } = 10_000;
    /// <summary>Validation maps.</summary>
    [Setting("val-maps", "Validation maps.", Min = 1, Max = 1_000_000)]
    public int ValidationMaps { get; init; } = 1_000;
    /// <summary>Test maps.</summary>
    [Setting("test-maps", "Test maps.", Min = 1, Max = 1_000_000)]
    public int TestMaps { get; init; } = 1_000;
    /// <summary>Epochs.</summary>
    [Setting("epochs", "Epochs.", Min = 1, Max = 10_000)]
    public int Epochs { get; init; } = 10;
    /// <summary>Batch size.</summary>
    [Setting("batch", "Batch size.", Min = 1, Max = 1 << 20)]
    public int BatchSize { get; init; } = 70;
    /// <summary>Adam learning rate (before the decays).</summary>
    [Setting("lr", "Adam learning rate (x0.1 at 60 % and 80 % of the epochs).", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Channels of the CNN's hidden layers.</summary>
    [Setting("channels", "CNN channels.", Min = 1, Max = 1024)]
    public int Channels { get; init; } = 32;
    /// <summary>3 x 3 convolutions at cell resolution (receptive field 2 * depth + 3 cells).</summary>
    [Setting("depth", "CNN 3x3 layers at cell resolution.", Min = 0, Max = 64)]
    public int Depth { get; init; } = 3;
    /// <summary>I-MLE: fixed lambda.</summary>
    [Setting("lambda", "I-MLE lambda.", Min = 0, MinExclusive = true, Max = 1e9)]
    public double Lambda { get; init; } = 20.0;
    /// <summary>I-MLE and AIMLE: k of the Sum-of-Gamma noise (0: the grid size N).</summary>
    [Setting("noise-k", "I-MLE and AIMLE: k of the Sum-of-Gamma noise (0: the grid size N).", Min = 0, Max = 1e6)]
    public double NoiseK { get; init; }
    /// <summary>I-MLE and AIMLE: input and target noise temperature.</summary>
    [Setting("noise-temperature", "I-MLE and AIMLE: noise temperature, input and target (0: no noise).", Min = 0, Max = 1e6)]
    public double NoiseTemperature { get; init; } = 1.0;
    /// <summary>AIMLE: target number of non-zero gradient entries per map (0: the grid size N).</summary>
    [Setting("aimle-target", "AIMLE target non-zeros per map (0: N).", Min = 0, Max = 1e6)]
    public double AimleTargetNonZeros { get; init; }
    /// <summary>AIMLE: change of beta per backward pass.</summary>
    [Setting("aimle-step", "AIMLE beta step.", Min = 0, MinExclusive = true, Max = 10)]
    public double AimleStep { get; init; } = 1e-3;
    /// <summary>AIMLE: starting beta (the adaptive method starts from lambda = 0).</summary>
    [Setting("aimle-initial-beta", "AIMLE starting beta.", Min = 0, Max = 1e6)]
    public double AimleInitialBeta { get; init; }
    /// <summary>Evaluations per epoch (at least one, at its end).</summary>
    [Setting("evals-per-epoch", "Evaluations per epoch.", Min = 1, Max = 1000)]
    public int EvalsPerEpoch { get; init; } = 1;

    /// <summary>The Sum-of-Gamma k in use.</summary>
    public double EffectiveNoiseK => NoiseK > 0 ? NoiseK : Size;
    /// <summary>The AIMLE target in use.</summary>
    public double EffectiveTargetNonZeros => AimleTargetNonZeros > 0 ? AimleTargetNonZeros : Size;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid setting: each setting's declared range, then the
    /// patch size's multiple of 4.
    /// </summary>
    public void Validate()
    {
        foreach (var s in GridSpec<WarcraftConfig>.Settings) s.Check(s.Get(this));
        if (PatchSize % 4 != 0)
            throw new ArgumentOutOfRangeException(nameof(PatchSize), PatchSize, $"must be a multiple of 4 in [4, 64] (got {PatchSize}).");
    }
}
