using System.Text;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The <c>listops-reinmax</c> experiment: ListOps with the Gumbel Tree-LSTM of Table 1 of Liyuan Liu, Chengyu Dong,
/// Xiaodong Liu, Bin Yu and Jianfeng Gao, "Bridging Discrete and Backpropagation: Straight-Through and Beyond" (NeurIPS
/// 2023), one <see cref="ListOpsReinMaxTask"/> per estimator and seed on the <see cref="NangiaBowmanListOpsRecipe"/>'s data
/// (generated in each cell's process from <see cref="ListOpsReinMaxConfig.DataSeed"/>). The report's table gives per
/// estimator, mean +- std over seeds, the final validation and test accuracy, the best validation accuracy and the test
/// accuracy at it, the <c>--test-file</c> accuracy and seconds per epoch, with the paper's Table 1 beside it.
/// </summary>
public sealed class ListOpsReinMaxExperiment : Experiment<ListOpsReinMaxConfig>
{
    /// <inheritdoc />
    public override string Name => "listops-reinmax";
    /// <inheritdoc />
    public override string Description => "ListOps with the Gumbel Tree-LSTM (ReinMax paper, Table 1): estimators x seeds, validation and test accuracy.";
    /// <inheritdoc />
    public override string Title => "ListOps, Gumbel Tree-LSTM (ReinMax paper, Table 1)";
    /// <inheritdoc />
    public override string Label(ListOpsReinMaxConfig config) => EstimatorNames.Display(config.Estimator);
    /// <inheritdoc />
    public override long LogEvery(ListOpsReinMaxConfig config) => 200;
    /// <inheritdoc />
    public override long CheckpointEvery(ListOpsReinMaxConfig config) => 1000;

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("valid acc", "valid_accuracy"),
        SummaryMetric.FinalEval("test acc", "test_accuracy"),
        SummaryMetric.BestEval("best valid acc", "valid_accuracy"),
        new SummaryMetric("test acc at best valid", o => ListOpsExperiment.TestAtBestDev(o, "valid_accuracy")),
        SummaryMetric.FinalEval("test-file acc", "file_accuracy"),
        SummaryMetric.FinalEval("final lr", "lr", "G3"),
        SummaryMetric.SecondsPerEpoch(),
    };

    /// <inheritdoc />
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("valid-accuracy", "ListOps (Tree-LSTM): validation accuracy (mean +- std over seeds)", "valid_accuracy", XMetric: "epoch", XLabel: "epoch"),
        new CurveSpec("test-accuracy", "ListOps (Tree-LSTM): test accuracy (mean +- std over seeds)", "test_accuracy", XMetric: "epoch", XLabel: "epoch"),
    };

    /// <summary>Table 1 of Liu et al. 2023, ListOps: (estimator, validation accuracy, test accuracy) in percent.</summary>
    public static IReadOnlyList<(string Estimator, string Valid, string Test)> PaperTable1 { get; } = new[]
    {
        ("STGS", "66.95", "67.30"),
        ("GR-MCK", "66.53", "66.53"),
        ("GST-1.0", "66.28", "66.30"),
        ("ST", "66.51", "66.26"),
        ("ReinMax", "67.65", "68.07"),
    };

    /// <inheritdoc />
    public override string PaperReference
    {
        get
        {
            var md = new StringBuilder();
            md.AppendLine("Paper (Liu et al. 2023, \"Bridging Discrete and Backpropagation: Straight-Through and Beyond\", Table 1, ListOps; " +
                          "accuracy in percent, the table above gives fractions):").AppendLine();
            md.Append(MarkdownTable.Render(new[] { "estimator", "valid", "test" },
                PaperTable1.Select(r => (IReadOnlyList<string>)new[] { r.Estimator, r.Valid, r.Test })));
            return md.ToString().TrimEnd();
        }
    }

    /// <summary>Generates the recipe's data from the data seed, reads the test file, and builds the task on the run's device.</summary>
    protected override ITrainingTask CreateTask(ListOpsReinMaxConfig config, RunContext context)
    {
        var data = Data(config.DataSeed);
        var file = ListOpsTestFileSetting.IsSet(config.TestFile) ? ListOpsTestFileSetting.Read(config.TestFile, allowSumMod: true) : null;
        var task = new ListOpsReinMaxTask(config, data, context.TorchDevice, file);
        var (train, dev, test) = task.Sizes;
        context.Log($"ListOps (Nangia-Bowman recipe, data seed {config.DataSeed}, counted length <= {config.MaxLength}): {train} train, {dev} validation, {test} test expressions");
        return task;
    }

    private static readonly object CacheGate = new();
    private static (int Seed, ListOpsSplits Data)? _cache;

    /// <summary>
    /// The data of a data seed (<see cref="ListOpsReinMaxConfig.Recipe"/>); the last one generated in this process is
    /// kept, so the cells of an in-process grid share it.
    /// </summary>
    public static ListOpsSplits Data(int dataSeed)
    {
        lock (CacheGate)
        {
            if (_cache is { } c && c.Seed == dataSeed) return c.Data;
            var data = ListOpsReinMaxConfig.Recipe.Generate(dataSeed);
            _cache = (dataSeed, data);
            return data;
        }
    }

    /// <summary>The setup paragraph and the metric definitions.</summary>
    protected override void WriteSection(IReadOnlyList<(ListOpsReinMaxConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        var c = cells[0].Config;
        markdown.AppendLine("## Setup").AppendLine();
        markdown.AppendLine(
            $"Gumbel Tree-LSTM (width {c.Dim}, leaf LSTM, dropout 0.5, tau = {Inv(c.Tau)}) on the Nangia-Bowman recipe's data (data seed {c.DataSeed}): " +
            $"of the first {c.TrainExamples} training, {c.DevExamples} validation and {c.TestExamples} test expressions those of counted length <= {c.MaxLength} " +
            $"(tokens + 1 per operator, as the reference's loader; 99 keeps all). RAdam {Inv(c.LearningRate)}, batch {c.BatchSize} of one length bucket " +
            $"(width {c.BucketWidth}), gradient norm clipped at {Inv(c.Clip)}, {c.Epochs} epochs, {c.EvalsPerEpoch} validations per epoch, each a step of " +
            $"ReduceLROnPlateau (factor {Inv(c.PlateauFactor)}, patience {c.PlateauPatience}). The reference: width 300, 90000 / 10000 / 10000 expressions, " +
            "20 epochs.").AppendLine();
        markdown.AppendLine("*valid / test acc*: accuracy at the last evaluation with greedy (argmax) merges; *best valid acc*: the highest validation " +
                            "accuracy of any evaluation; *test acc at best valid*: the test accuracy of that evaluation; *test-file acc*: the final model on " +
                            "--test-file; *final lr*: the learning rate after the plateau schedule.").AppendLine();
    }
}
