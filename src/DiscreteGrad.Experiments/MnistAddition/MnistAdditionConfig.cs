using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Layers;

namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// MNIST addition (Friede and Niepert, "Efficient Learning of Discrete-Continuous Computation Graphs", NeurIPS 2021,
/// Figures 1 and 4): N MNIST images in, the sum of their digits out (9N + 1 classes), through a discrete node per image
/// (9N + 1 categories in the reference code, 10 in the separate-parts variant). Every property is a setting of the
/// <c>mnist-addition</c> command; the defaults are the reference hyperparameters. The grid is schemes x seeds.
/// </summary>
public sealed record MnistAdditionConfig : IValidatedConfig
{
    /// <summary>Training scheme (a sweep axis).</summary>
    [Setting("schemes", "Training schemes.", Axis = true, Values = typeof(AdditionSchemeNames))]
    public AdditionScheme Scheme { get; init; } = AdditionScheme.TempMatchDropRes;
    /// <summary>Seed of every random draw of the run (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the runs.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;
    /// <summary>Network: the authors' code (tied centroids, 9N + 1 categories; default) or separate parts (10 categories).</summary>
    [Setting("architecture", "reference: the authors' code (tied centroid matrix, 9N + 1 categories); separate: 10-way node, separate embedding and output layer.")]
    public AdditionArchitecture Architecture { get; init; } = AdditionArchitecture.Reference;
    /// <summary>Digits per example (2 in the paper's figure; "two or more").</summary>
    [Setting("digits", "Digits per example.", Min = 2, Max = 16)]
    public int Digits { get; init; } = 2;
    /// <summary>Training examples drawn from the MNIST training set.</summary>
    [Setting("train-pairs", "Training examples.", Min = 1, Max = 10_000_000)]
    public int TrainPairs { get; init; } = 30_000;
    /// <summary>Test examples drawn from the MNIST test set.</summary>
    [Setting("test-pairs", "Test examples.", Min = 1, Max = 10_000_000)]
    public int TestPairs { get; init; } = 5_000;
    /// <summary>Epochs over the training examples.</summary>
    [Setting("epochs", "Epochs (the reference 30).", Min = 1, Max = 10_000)]
    public int Epochs { get; init; } = 30;
    /// <summary>Batch size.</summary>
    [Setting("batch", "Batch size.", Min = 1, Max = 1 << 20)]
    public int BatchSize { get; init; } = 16;
    /// <summary>Adam learning rate.</summary>
    [Setting("lr", "Adam learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Gumbel-softmax temperature tau (the start value for TauAnn).</summary>
    [Setting("tau", "Temperature tau (the start value for tauann).", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 8.0;
    /// <summary>Gumbel scale beta of the schemes that keep it fixed.</summary>
    [Setting("beta", "Gumbel scale beta of the schemes without TempMatch.", Min = 0, Max = 1e6)]
    public double Beta { get; init; } = 1.0;
    /// <summary>TEMPMATCH rate gamma: beta_t = tau (1 - exp(-gamma t)) after t schedule updates.</summary>
    [Setting("gamma", "TempMatch rate gamma.", Min = 0, MinExclusive = true, Max = 100)]
    public double Gamma { get; init; } = 0.008;
    /// <summary>TauAnn: factor per schedule update (exp(-gamma) by default, the same time scale as TEMPMATCH).</summary>
    [Setting("tau-anneal-rate", "tauann: factor of tau per schedule update.", Min = 0, MinExclusive = true, Max = 1)]
    public double TauAnnealRate { get; init; } = Math.Exp(-0.008);
    /// <summary>TauAnn: lowest temperature; 0 (the default) follows tau: min(1, <see cref="Tau"/>).</summary>
    [Setting("tau-floor", "tauann: lowest tau, at most --tau (0: min(1, --tau)).", Min = 0, Max = 1e6)]
    public double TauFloor { get; init; }
    /// <summary>DROPRES: increase of alpha per schedule update.</summary>
    [Setting("alpha-increment", "DropRes: increase of alpha per schedule update.", Min = 0, MinExclusive = true, Max = 1)]
    public double AlphaIncrement { get; init; } = 1.0 / 500;
    /// <summary>Schedule updates per epoch.</summary>
    [Setting("updates-per-epoch", "Schedule updates (tau, beta, alpha) per epoch.", Min = 1, Max = 1_000_000)]
    public int UpdatesPerEpoch { get; init; } = 8;
    /// <summary>Estimator of the discrete node during training (the paper trains with the Gumbel-softmax relaxation).</summary>
    [Setting("estimator", "Estimator of the discrete node during training (gs: the Gumbel-softmax relaxation of the paper).", Values = typeof(EstimatorSettingNames))]
    public EstimatorKind Estimator { get; init; } = EstimatorKind.GumbelSoftmax;
    /// <summary>Evaluation: a hard sample (beta = 1 Gumbel-max), the argmax, or the relaxation at beta = 1.</summary>
    [Setting("eval", "Evaluation, always without the residual: sample (hard, beta = 1 Gumbel-max), argmax, or relaxed (the training relaxation at beta = 1).")]
    public AdditionEvaluation Evaluation { get; init; } = AdditionEvaluation.Sample;
    /// <summary>DropRes coin: one per batch (reference) or per example.</summary>
    [Setting("dropres-mode", "DropRes coin of the schemes with DropRes: per-batch (the reference) or per-example.")]
    public DropResMode DropResMode { get; init; } = DropResMode.PerBatch;
    /// <summary>Width of the digit embedding and of the encoder's feature u.</summary>
    [Setting("embedding-dim", "Width of the digit embedding and of the encoder's feature.", Min = 1, Max = 100_000)]
    public int EmbeddingDim { get; init; } = 84;
    /// <summary>Hidden width of the ADD network (separate-parts architecture only; the reference uses 84N and 84).</summary>
    [Setting("add-hidden", "Hidden width of the ADD network (separate architecture only).", Min = 1, Max = 100_000)]
    public int AddHidden { get; init; } = 128;
    /// <summary>Evaluate this many times per epoch (at least once, at its end).</summary>
    [Setting("evals-per-epoch", "Test evaluations per epoch.", Min = 1, Max = 1000)]
    public int EvalsPerEpoch { get; init; } = 1;
    /// <summary>Folder of the MNIST files, or <see cref="MnistDataSetting.Auto"/>.</summary>
    [Setting("data", MnistDataSetting.Help, Local = true)]
    public string Data { get; init; } = MnistDataSetting.Auto;

    /// <summary>The TauAnn floor in use: <see cref="TauFloor"/>, or min(1, tau) when it is 0.</summary>
    public double EffectiveTauFloor => TauFloor > 0 ? TauFloor : Math.Min(1.0, Tau);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid setting: each setting's declared range, then
    /// tau-floor &lt;= tau.
    /// </summary>
    public void Validate()
    {
        foreach (var s in GridSpec<MnistAdditionConfig>.Settings) s.Check(s.Get(this));
        if (TauFloor > Tau)
            throw new ArgumentOutOfRangeException(nameof(TauFloor), TauFloor,
                $"must be at most --tau = {Tau.ToString(System.Globalization.CultureInfo.InvariantCulture)} (got {TauFloor.ToString(System.Globalization.CultureInfo.InvariantCulture)}; 0 follows --tau).");
    }

    /// <summary>Number of sum classes, 9N + 1.</summary>
    public int Classes => 9 * Digits + 1;
}

/// <summary>The command-line names of <see cref="AdditionScheme"/>: base, tauann, tempmatch, dropres, tempmatch-dropres.</summary>
public sealed class AdditionSchemeNames : ISettingValues
{
    /// <inheritdoc />
    public IReadOnlyList<string> Allowed { get; } = Enum.GetValues<AdditionScheme>().Select(AdditionSchemes.Name).ToArray();

    /// <inheritdoc />
    public string Format(object value) => AdditionSchemes.Name((AdditionScheme)value);

    /// <inheritdoc />
    public bool TryParse(string text, out object value)
    {
        foreach (var s in Enum.GetValues<AdditionScheme>())
            if (string.Equals(AdditionSchemes.Name(s), text.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                value = s;
                return true;
            }
        value = AdditionScheme.Base;
        return false;
    }
}
