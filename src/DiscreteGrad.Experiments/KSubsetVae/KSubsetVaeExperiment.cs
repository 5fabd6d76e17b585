using System.Text;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;

namespace DiscreteGrad.Experiments.KSubsetVae;

/// <summary>
/// The <c>ksubset-vae</c> experiment: the discrete VAE with k-subset codes on MNIST of Minervini, Franceschi and Niepert
/// ("Adaptive Perturbation-Based Gradient Estimation for Discrete Latent Variable Models", AAAI 2023), one cell per method
/// (I-MLE, AIMLE, SIMPLE), finite difference (not for SIMPLE), sample count S and seed, each a <see cref="KSubsetVaeTask"/> whose process loads
/// MNIST from <see cref="KSubsetVaeConfig.Data"/>. The report shows the final test loss (and the value the reference code
/// prints), its terms, the best test loss at an epoch's end and the final lambda, mean +- std over seeds.
/// </summary>
public sealed class KSubsetVaeExperiment : Experiment<KSubsetVaeConfig>
{
    /// <inheritdoc />
    public override string Name => "ksubset-vae";
    /// <inheritdoc />
    public override string Description => "Discrete VAE with k-subset codes on MNIST (AIMLE paper): I-MLE / AIMLE (forward / central) or SIMPLE, S samples.";
    /// <inheritdoc />
    public override string Title => "Discrete VAE with k-subset codes on MNIST (AIMLE paper)";
    /// <inheritdoc />
    public override string Label(KSubsetVaeConfig config) => config.Display;

    /// <inheritdoc />
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("epochs", "epoch", "F0"),
        SummaryMetric.FinalEval("test loss (BCE + KL)", "test_loss", "F2"),
        SummaryMetric.FinalEval("reference's printed value (BCE + KL/S)", "test_loss_reference", "F2"),
        SummaryMetric.FinalEval("test BCE", "test_bce", "F2"),
        SummaryMetric.FinalEval("test KL", "test_kl", "F2"),
        new SummaryMetric("best test loss", BestEpochEndTestLoss, "F2"),
        SummaryMetric.FinalTrain("final lambda", "lambda", "G3"),
        SummaryMetric.SecondsPerEpoch(),
    };

    /// <inheritdoc />
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("test-loss", "k-subset discrete VAE on MNIST: test loss", "test_loss", XMetric: "epoch", XLabel: "epoch", FitTail: true),
    };

    /// <inheritdoc />
    public override long LogEvery(KSubsetVaeConfig config) => 100;
    /// <inheritdoc />
    public override long CheckpointEvery(KSubsetVaeConfig config) => 6000;

    /// <summary>The lowest test loss of the evaluations that end an epoch (those use all the test images); NaN when none.</summary>
    public static double BestEpochEndTestLoss(CellOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.Records.Where(r => r.Kind == "eval" && r.Metrics.ContainsKey("test_loss") && r.Metrics.TryGetValue("epoch", out var e)
                                          && Math.Abs(e - Math.Round(e)) < 1e-9)
            .Select(r => r.Metrics["test_loss"]).DefaultIfEmpty(double.NaN).Min();
    }

    /// <summary>SIMPLE has no finite difference: it runs in the central-difference cell only.</summary>
    protected override string? Excluded(KSubsetVaeConfig config) =>
        config is { Method: KSubsetMethod.Simple, Difference: FiniteDifference.Forward }
            ? "--methods simple has no finite difference: it runs once, in the --differences central cell"
            : null;

    /// <inheritdoc />
    protected override ITrainingTask CreateTask(KSubsetVaeConfig config, RunContext context)
    {
        var data = new KSubsetVaeData(MnistDataSetting.Load(config.Data, context.Log), config, context.TorchDevice);
        return new KSubsetVaeTask(config, data, ownsData: true);
    }

    /// <inheritdoc />
    protected override void WriteSection(IReadOnlyList<(KSubsetVaeConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        var c = cells[0].Config;
        markdown.AppendLine("## Setup").AppendLine();
        markdown.AppendLine($"Code: {c.Blocks} blocks x {c.Categories} entries, each block a {c.K}-subset (top-k of the perturbed encoder logits " +
                            $"through the I-MLE layer; for SIMPLE an exact sample of the block's k-subset distribution, gradient of its exact marginals). Encoder 784-{c.Hidden1}-{c.Hidden2}-{c.CodeSize}, decoder mirrored; loss BCE (summed over " +
                            "pixels, grey levels in [0, 1], not binarised) + " +
                            (c.Kl == KSubsetKl.KSubset ? $"the exact KL of each block's {c.K}-subset distribution to the uniform one (log C({c.Categories}, {c.K}) − H); " : "KL of each block's softmax to uniform; ") +
                            $"Adam {Inv(c.LearningRate)}, batch {c.BatchSize}, {c.TrainExamples} training and {c.TestExamples} test images, " +
                            $"{c.Epochs} epoch{(c.Epochs == 1 ? "" : "s")}. {(c.Noise == KSubsetNoise.Gumbel ? "Gumbel(0, 1) noise" : $"Sum-of-Gamma noise (k = {c.K}, {c.NoiseTerms} terms)")} at temperature {Inv(c.NoiseTemperature)}; " +
                            $"I-MLE: fixed lambda = {Inv(c.Lambda)}, gradient / lambda; AIMLE: initial beta {Inv(c.AimleInitialBeta)}, " +
                            $"step {Inv(c.AimleStep)}, target {Inv(c.AimleTargetNonZeros)} non-zero gradient entries per block and sample.").AppendLine();
        markdown.AppendLine("*test loss*: mean over the test images of (mean over the S samples of the BCE) + KL, after the last epoch, with the " +
                            "training-time layer (noise and S samples, as the reference evaluates); *reference's printed value*: BCE + KL / S, the " +
                            "quantity the reference script prints as \"Average Test Loss\" (it divides the summed loss, KL included, by S; equal to " +
                            "the test loss for S = 1); *best test loss*: the lowest test loss at an epoch's end; *final lambda*: the perturbation size of the last training step.").AppendLine();
        if (c.EvalsPerEpoch > 1)
            markdown.AppendLine($"The curve has {c.EvalsPerEpoch} evaluations per epoch: the one at each epoch's end on all {c.TestExamples} test images, " +
                                $"the others on the first {Math.Min(c.IntermediateTestExamples, c.TestExamples)}.").AppendLine();
    }
}
