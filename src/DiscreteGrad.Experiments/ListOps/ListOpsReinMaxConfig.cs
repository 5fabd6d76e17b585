using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// One run of the ListOps experiment of Table 1 of Liyuan Liu, Chengyu Dong, Xiaodong Liu, Bin Yu and Jianfeng Gao,
/// "Bridging Discrete and Backpropagation: Straight-Through and Beyond" (NeurIPS 2023): the Gumbel Tree-LSTM of Choi, Yoo
/// and Lee (AAAI 2018, <see cref="GumbelTreeLstmClassifier"/>) whose merge choice is trained with one estimator, and the
/// settings of the <c>listops-reinmax</c> grid (estimators x seeds). Defaults are the reference's (LiyuanLucasLiu/ReinMax,
/// listops/): word, hidden and classifier width 300, batch 16 from length buckets, 20 epochs, RAdam 7e-4, tau 1.1,
/// gradient norm clipped at 5, mean cross-entropy, two validations per epoch with ReduceLROnPlateau (maximise the validation
/// accuracy, factor 0.5, patience 4). The data is the <see cref="NangiaBowmanListOpsRecipe"/>'s (expressions of fewer than
/// 100 tokens as the reference's loader counts them) with 90,000 training, 10,000 validation and 10,000 test expressions,
/// generated from <see cref="DataSeed"/> (the validation split is this project's choice: the recipe's generator has none of
/// its own).
/// </summary>
public sealed record ListOpsReinMaxConfig : IValidatedConfig
{
    /// <summary>Estimator of the merge choice (a sweep axis).</summary>
    [Setting("estimators", "Estimators of the merge choice (Table 1: stgs, grmck, gst, st, reinmax).", Axis = true,
        Values = typeof(EstimatorSettingNames), AxisDefault = "stgs,grmck,gst,st,reinmax")]
    public EstimatorKind Estimator { get; init; } = EstimatorKind.ReinMax;

    /// <summary>Seed of the run's initial weights, batch order, merge draws and dropout (a sweep axis).</summary>
    [Setting("seeds", "Seeds of the runs.", Axis = true, Count = true, CountFrom = 1, Min = 0, Max = 1_000_000)]
    public int Seed { get; init; } = 1;

    /// <summary>Seed of the generated data (the same for every run seed).</summary>
    [Setting("data-seed", "Seed of the generated ListOps data (the same data for every run seed).", Min = 0, Max = 1_000_000_000)]
    public int DataSeed { get; init; } = 1;

    /// <summary>Training expressions: the first N of the recipe's 90,000 (those within <see cref="MaxLength"/> are kept).</summary>
    [Setting("train-examples", "Training expressions: the first N of 90000 (of which those within --max-length are kept).", Min = 1, Max = 90_000)]
    public int TrainExamples { get; init; } = 90_000;

    /// <summary>Validation expressions: the first N of 10,000 (those within <see cref="MaxLength"/> are kept).</summary>
    [Setting("dev-examples", "Validation expressions: the first N of 10000 (of which those within --max-length are kept).", Min = 1, Max = 10_000)]
    public int DevExamples { get; init; } = 10_000;

    /// <summary>Test expressions: the first N of 10,000 (those within <see cref="MaxLength"/> are kept).</summary>
    [Setting("test-examples", "Test expressions: the first N of 10000 (of which those within --max-length are kept).", Min = 1, Max = 10_000)]
    public int TestExamples { get; init; } = 10_000;

    /// <summary>
    /// Longest expression kept in every split, counted as the reference's loader counts (<see cref="NangiaBowmanListOpsRecipe.CountedLength"/>:
    /// tokens plus one per operator); 99 keeps everything.
    /// </summary>
    [Setting("max-length", "Longest expression kept in every split, counted as the reference (tokens + 1 per operator); 99: all.", Min = 4, Max = 99)]
    public int MaxLength { get; init; } = 99;

    /// <summary>Epochs.</summary>
    [Setting("epochs", "Epochs (the reference 20).", Min = 1, Max = 100_000)]
    public int Epochs { get; init; } = 20;

    /// <summary>Most expressions per batch.</summary>
    [Setting("batch", "Batch size (expressions of one length bucket per batch).", Min = 1, Max = 100_000)]
    public int BatchSize { get; init; } = 16;

    /// <summary>Lengths per batch bucket (1: equal-length batches).</summary>
    [Setting("bucket-width", "Lengths per batch bucket (1: equal-length batches without padding).", Min = 1, Max = 1000)]
    public int BucketWidth { get; init; } = 1;

    /// <summary>RAdam learning rate.</summary>
    [Setting("lr", "RAdam learning rate.", Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 7e-4;

    /// <summary>Temperature of the estimator.</summary>
    [Setting("tau", "Temperature tau of the estimator.", Min = 0, MinExclusive = true, Max = 1e6)]
    public double Tau { get; init; } = 1.1;

    /// <summary>Largest gradient norm (clip_grad_norm); 0: no clipping.</summary>
    [Setting("clip", "Largest gradient 2-norm, clip_grad_norm (0: no clipping).", Min = 0, Max = 1e9)]
    public double Clip { get; init; } = 5;

    /// <summary>Factor of each ReduceLROnPlateau reduction.</summary>
    [Setting("plateau-factor", "ReduceLROnPlateau factor on the validation accuracy.", Min = 0, MinExclusive = true, Max = 0.999)]
    public double PlateauFactor { get; init; } = 0.5;

    /// <summary>Validations without improvement that ReduceLROnPlateau tolerates.</summary>
    [Setting("plateau-patience", "ReduceLROnPlateau patience, in validations.", Min = 0, Max = 100_000)]
    public int PlateauPatience { get; init; } = 4;

    /// <summary>Validations per epoch (each a plateau step).</summary>
    [Setting("evals-per-epoch", "Validations per epoch (each one step of ReduceLROnPlateau; the reference 2).", Min = 1, Max = 1000)]
    public int EvalsPerEpoch { get; init; } = 2;

    /// <summary>Width of the word embeddings, the leaf and tree LSTM states and the classifier's hidden layer.</summary>
    [Setting("dim", "Width of the word embeddings, the Tree-LSTM states and the classifier's hidden layer (the reference 300).", Min = 1, Max = 4096)]
    public int Dim { get; init; } = 300;

    /// <summary>Conditional Gumbel draws of GR-MCK.</summary>
    [Setting("grmck-k", "Conditional Gumbel draws K of GR-MCK.", Min = 1, Max = 100_000)]
    public int GumbelRaoK { get; init; } = 100;

    /// <summary>An extra ListOps file to score the final model on, or <see cref="ListOpsTestFileSetting.None"/>.</summary>
    [Setting("test-file", ListOpsTestFileSetting.Help, Local = true)]
    public string TestFile { get; init; } = ListOpsTestFileSetting.None;

    /// <summary>The data recipe: Nangia and Bowman's, with a validation split of 10,000.</summary>
    public static NangiaBowmanListOpsRecipe Recipe { get; } = new() { DevCount = 10_000 };

    /// <summary>The model's options for this run (the reference's otherwise).</summary>
    public GumbelTreeLstmOptions ModelOptions => new()
    {
        WordDim = Dim,
        HiddenDim = Dim,
        ClassifierHiddenDim = Dim,
        Estimator = Estimator,
        Tau = Tau,
        GumbelRaoK = GumbelRaoK,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting at fault (the test file must exist).</summary>
    public void Validate()
    {
        foreach (var s in GridSpec<ListOpsReinMaxConfig>.Settings) s.Check(s.Get(this));
        ListOpsTestFileSetting.Check(TestFile, nameof(TestFile));
    }
}
