using System.Text;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// The <c>mnist-addition</c> experiment (Friede and Niepert, "Efficient Learning of Discrete-Continuous Computation Graphs",
/// NeurIPS 2021, Figure 4): one cell per scheme and seed, each a <see cref="MnistAdditionTask"/> on real MNIST (loaded by
/// the cell's process from <see cref="MnistAdditionConfig.Data"/>); the report shows the final and best test accuracy of
/// the sum, the digit accuracy of the discrete node and the categories it uses, mean +- std over seeds, and the curves.
/// </summary>
public sealed class MnistAdditionExperiment : Experiment<MnistAdditionConfig>
{
    /// <inheritdoc />
    public override string Name => "mnist-addition";
    /// <inheritdoc />
    public override string Description => "MNIST addition (DCCG paper, Fig. 4): learn digit sums through a discrete node, on real MNIST.";
    /// <inheritdoc />
    public override string Title => "MNIST addition (DCCG paper, Figure 4)";
    /// <inheritdoc />
    public override string Label(MnistAdditionConfig config) => AdditionSchemes.Display(config.Scheme);

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("test accuracy", "test_accuracy"),
        SummaryMetric.BestEval("best test accuracy", "test_accuracy"),
        SummaryMetric.FinalEval("digit accuracy", "digit_accuracy"),
        SummaryMetric.FinalEval("categories used", "categories_used", "F1"),
        SummaryMetric.SecondsPerEpoch(),
    };

    /// <inheritdoc />
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("test-accuracy", "MNIST addition: test accuracy (mean +- std over seeds)", "test_accuracy", XMetric: "epoch", XLabel: "epoch"),
        new CurveSpec("digit-accuracy", "MNIST addition: digit accuracy (mean +- std over seeds)", "digit_accuracy", XMetric: "epoch", XLabel: "epoch"),
    };

    /// <inheritdoc />
    public override string PaperReference =>
        "Paper (Friede and Niepert 2021, Fig. 4, 8 models each): Base stays below 0.7 test accuracy; TempMatch reaches about 1.0 and beats TauAnn.";

    /// <inheritdoc />
    public override long LogEvery(MnistAdditionConfig config) => 100;
    /// <inheritdoc />
    public override long CheckpointEvery(MnistAdditionConfig config) => 2000;

    /// <inheritdoc />
    protected override ITrainingTask CreateTask(MnistAdditionConfig config, RunContext context)
    {
        var pairs = new AdditionPairs(MnistDataSetting.Load(config.Data, context.Log), config, context.TorchDevice);
        return new MnistAdditionTask(config, pairs, ownsData: true);
    }

    /// <inheritdoc />
    protected override void WriteSection(IReadOnlyList<(MnistAdditionConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        markdown.AppendLine("## Setup").AppendLine().AppendLine(Setup(cells[0].Config)).AppendLine();
        markdown.AppendLine("*test accuracy*: accuracy of the predicted sum on the test examples after the last epoch; *digit accuracy*: accuracy of the " +
                            "discrete node's category as a digit under the best one-to-one category-to-digit matching (the node never sees a digit " +
                            "label); *categories used*: distinct categories the node outputs on the test images.").AppendLine();
    }

    /// <summary>The paragraph that describes a configuration's network, data and schedules.</summary>
    public static string Setup(MnistAdditionConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        string network = c.Architecture == AdditionArchitecture.Reference
            ? $"a {c.Classes}-way discrete node per image, without digit labels. The authors' network (nec-research/dccg): LeNet encoder -> " +
              "u (84) -> node logits u C^T -> embedding z C -> ADD network (168-168-84) -> output logits x C^T, one matrix C " +
              $"[{c.Classes}, 84] tied across the three. "
            : "a 10-way discrete node per image, without digit labels. LeNet encoder -> categorical node -> embedding -> ADD network " +
              "(separate parts). ";
        return $"Tuples of {c.Digits} real MNIST images -> the sum of their digits ({c.Classes} classes), learned end to end through " + network +
               $"{c.TrainPairs} training examples from the MNIST training set, {c.TestPairs} test examples from the MNIST test set; " +
               $"Adam {Inv(c.LearningRate)}, batch {c.BatchSize}, {c.Epochs} epochs, tau = {Inv(c.Tau)}, " +
               $"{c.UpdatesPerEpoch} schedule updates per epoch (TempMatch gamma = {Inv(c.Gamma)}, DropRes alpha step " +
               $"{Inv(c.AlphaIncrement)}). Evaluation: {c.Evaluation} (see AdditionEvaluation), no residual.";
    }
}
