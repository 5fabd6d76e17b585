using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// One run of the DCCG ListOps experiment (David Friede and Mathias Niepert, "Efficient Learning of Discrete-Continuous
/// Computation Graphs", NeurIPS 2021, Figure 1 bottom and Figure 6), and the settings of the <c>listops</c> grid (schemes x
/// seeds). The defaults are the reference's (nec-research/dccg, run_listops.py): <see cref="DccgListOpsModel"/> with d = 60
/// and 5 rounds, Adam 5e-4, batch 100 of equal-length expressions, cross-entropy summed over the batch, 100 epochs, tau = 1,
/// TEMPMATCH gamma = 0.008 and DROPRES alpha step 1/500, both updated 10 times per epoch; the data is the
/// <see cref="DccgListOpsRecipe"/>'s (90,000 training, 10,000 dev and 10,000 test expressions of depths 1-5, and depth-8
/// and depth-10 extrapolation sets), generated from <see cref="DataSeed"/> so that every run seed sees the same data.
/// </summary>
public sealed record ListOpsConfig : IValidatedConfig
{
    /// <summary>Training scheme (a sweep axis).</summary>
    [Setting("schemes", "Training schemes ('all': the five).", Axis = true, Values = typeof(ListOpsSchemeWords),
        AxisDefault = "base,tempmatch,dropres,tempmatch-dropres,continuous")]
    public ListOpsScheme Scheme { get; init; } = ListOpsScheme.TempMatchDropRes;

    /// <summary>Seed of the run's initial weights, batch order and draws (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the runs.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;

    /// <summary>Seed of the generated data (the same for every run seed).</summary>
    [Setting("data-seed", "Seed of the generated ListOps data (the same data for every run seed).", Min = 0, Max = 1_000_000_000)]
    public int DataSeed { get; init; } = 1;

    /// <summary>Training expressions: the first N of the recipe's 90,000 (shuffled, so balanced over depths 1-5).</summary>
    [Setting("train-examples", "Training expressions: the first N of the recipe's 90000 (shuffled, balanced over depths 1-5).", Min = 1, Max = 90_000)]
    public int TrainExamples { get; init; } = 90_000;

    /// <summary>Dev expressions: the first N of the recipe's 10,000.</summary>
    [Setting("dev-examples", "Dev expressions: the first N of the recipe's 10000.", Min = 1, Max = 10_000)]
    public int DevExamples { get; init; } = 10_000;

    /// <summary>Test expressions: the first N of the recipe's 10,000.</summary>
    [Setting("test-examples", "Test expressions: the first N of the recipe's 10000.", Min = 1, Max = 10_000)]
    public int TestExamples { get; init; } = 10_000;

    /// <summary>Expressions of each extrapolation set (depth 8 and depth 10): the first N of 10,000; 0: no extrapolation test.</summary>
    [Setting("extrapolation-examples", "Expressions of each extrapolation set (depths 8 and 10, scored with 8 and 10 rounds): the first N of 10000; 0: none.",
        Min = 0, Max = 10_000)]
    public int ExtrapolationExamples { get; init; } = 10_000;

    /// <summary>Epochs over the training expressions.</summary>
    [Setting("epochs", "Epochs (the reference 100).", Min = 1, Max = 100_000)]
    public int Epochs { get; init; } = 100;

    /// <summary>Most expressions per batch.</summary>
    [Setting("batch", "Batch size (expressions of one length bucket per batch).", Min = 1, Max = 100_000)]
    public int BatchSize { get; init; } = 100;

    /// <summary>Lengths per batch bucket (1: every batch holds expressions of one length, as the reference).</summary>
    [Setting("bucket-width", "Lengths per batch bucket (1: equal-length batches without padding, as the reference).", Min = 1, Max = 1000)]
    public int BucketWidth { get; init; } = 1;

    /// <summary>Adam learning rate.</summary>
    [Setting("lr", "Adam learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 5e-4;

    /// <summary>Temperature tau of both categorical nodes (fixed).</summary>
    [Setting("tau", "Temperature tau of the parent and digit nodes (fixed).", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 1.0;

    /// <summary>TEMPMATCH rate: beta_t = tau (1 - exp(-gamma t)) after t schedule updates.</summary>
    [Setting("gamma", "TempMatch rate gamma: beta_t = tau (1 - exp(-gamma t)) after t schedule updates.", Min = 0, MinExclusive = true, Max = 100)]
    public double Gamma { get; init; } = 0.008;

    /// <summary>DROPRES: increase of alpha per schedule update (alpha_t = min(1, t x step)).</summary>
    [Setting("alpha-increment", "DropRes: increase of alpha per schedule update.", Min = 0, MinExclusive = true, Max = 1)]
    public double AlphaIncrement { get; init; } = 1.0 / 500;

    /// <summary>Schedule updates (beta, alpha) per epoch, the first at the epoch's first batch.</summary>
    [Setting("updates-per-epoch", "Schedule updates (beta, alpha) per epoch, at every 1/N of the epoch's batches, the first included.", Min = 1, Max = 1_000_000)]
    public int UpdatesPerEpoch { get; init; } = 10;

    /// <summary>Evaluations per epoch (the last at its end).</summary>
    [Setting("evals-per-epoch", "Evaluations per epoch (dev, test, extrapolation, gradient probe).", Min = 1, Max = 1000)]
    public int EvalsPerEpoch { get; init; } = 1;

    /// <summary>Message-passing rounds R in training and on dev and test.</summary>
    [Setting("rounds", "Message-passing rounds in training and on dev and test (the extrapolation sets use 8 and 10).", Min = 1, Max = 100)]
    public int Rounds { get; init; } = 5;

    /// <summary>Width d of the embeddings, LSTMs, node states and MLPs.</summary>
    [Setting("dim", "Width d of the embeddings, LSTMs, node states and message MLP.", Min = 1, Max = 4096)]
    public int Dim { get; init; } = 60;

    /// <summary>Training expressions of the fixed Figure 6 probe batch (the first N); 0: no probe.</summary>
    [Setting("probe-examples", "Training expressions of the fixed Figure 6 gradient probe (the first N, padded); 0: no probe.", Min = 0, Max = 10_000)]
    public int ProbeExamples { get; init; } = 100;

    /// <summary>An extra ListOps file to score the final model on, or <see cref="ListOpsTestFileSetting.None"/>.</summary>
    [Setting("test-file", ListOpsTestFileSetting.Help, Local = true)]
    public string TestFile { get; init; } = ListOpsTestFileSetting.None;

    /// <summary>Depths of the extrapolation sets, each scored with as many rounds as its depth (the reference's 8 and 10).</summary>
    public static IReadOnlyList<int> ExtrapolationDepths { get; } = new[] { 8, 10 };

    /// <summary>The model's options for this run.</summary>
    public DccgListOpsOptions ModelOptions => new()
    {
        Dim = Dim,
        Rounds = Rounds,
        Variant = Scheme.IsDiscrete() ? DccgListOpsVariant.Discrete : DccgListOpsVariant.Continuous,
        DropRes = Scheme.UsesDropRes(),
        Tau = Tau,
        Beta = Scheme.UsesTempMatch() ? 0 : 1,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting at fault (the test file must exist).</summary>
    public void Validate()
    {
        foreach (var s in GridSpec<ListOpsConfig>.Settings) s.Check(s.Get(this));
        ListOpsTestFileSetting.Check(TestFile, nameof(TestFile));
    }
}
