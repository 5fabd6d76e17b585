using System.Text;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.BernoulliVae;

/// <summary>
/// The <c>bernoulli-vae</c> experiment: the Bernoulli VAE "2 x 200" on MNIST of Liu et al. 2023 ("Bridging Discrete and
/// Backpropagation: Straight-Through and Beyond", Table 6) over K x estimators x seeds, one <see cref="BernoulliVaeTask"/>
/// per cell. The training metrics are logged once per epoch (so the last train record is the mean of the per-step -ELBO
/// estimates over the last epoch, what the paper reports), the test -ELBO every <c>--eval-every</c> epochs. ARM and DisARM
/// with an odd K are left out of a grid (their K is a number of antithetic pairs times two), as the paper leaves those cells empty.
/// </summary>
public sealed class BernoulliVaeExperiment : Experiment<BernoulliVaeConfig>
{
    /// <inheritdoc />
    public override string Name => "bernoulli-vae";
    /// <inheritdoc />
    public override string Description => "Bernoulli VAE 2 x 200 on MNIST (ReinMax paper, Table 6): ReinMax, DisARM, ARM, RLOO, NVIL with K evaluations.";
    /// <inheritdoc />
    public override string Title => "Bernoulli VAE 2 x 200 on MNIST (ReinMax paper, Table 6)";
    /// <summary>"ReinMax K=2".</summary>
    public override string Label(BernoulliVaeConfig config) => $"{BernoulliVaeEstimators.Display(config.Estimator)} K={config.Evaluations}";
    /// <summary>Training metrics averaged over each epoch.</summary>
    public override long LogEvery(BernoulliVaeConfig config) => config.StepsPerEpoch;
    /// <summary>A checkpoint every 5000 steps.</summary>
    public override long CheckpointEvery(BernoulliVaeConfig config) => 5000;

    /// <summary>epochs, train -ELBO of the last epoch, test -ELBO, wall seconds per epoch.</summary>
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[]
    {
        SummaryMetric.FinalEval("epochs", "epoch", "0.##"),
        SummaryMetric.FinalTrain("train -ELBO (last epoch mean)", "loss", "F2"),
        SummaryMetric.FinalEval("test -ELBO", "test_neg_elbo", "F2"),
        new SummaryMetric("s / epoch", o => o.SecondsPerStep * GridSpec<BernoulliVaeConfig>.FromSettings(o.Cell.Settings).StepsPerEpoch, "F1"),
    };

    /// <summary>The train -ELBO per epoch and the test -ELBO per evaluation, mean +- std over seeds.</summary>
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[]
    {
        new CurveSpec("train-elbo", "Bernoulli VAE (200 latents), MNIST: train -ELBO (epoch mean)", "loss", "train", FitTail: true),
        new CurveSpec("test-elbo", "Bernoulli VAE (200 latents), MNIST: test -ELBO", "test_neg_elbo", "eval", "epoch", "epoch", FitTail: true),
    };

    /// <summary>Table 6 of Liu et al. 2023, MNIST, train -ELBO after 10^6 updates (10 seeds).</summary>
    public override string PaperReference =>
        "Paper (Liu et al. 2023, \"Bridging Discrete and Backpropagation: Straight-Through and Beyond\", Table 6, MNIST): train -ELBO " +
        "after 10^6 updates, mean +- std over 10 seeds.\n\n" +
        MarkdownTable.Render(new[] { "K", "ReinMax", "RODEO", "ARMS", "Double CV", "RELAX", "DisARM" }, new[]
        {
            (IReadOnlyList<string>)new[] { "2", "98.05 +- 0.29", "101.89 +- 0.17", "/", "102.14 +- 0.06", "/", "102.75 +- 0.08" },
            new[] { "3", "97.83 +- 0.36", "100.46 +- 0.13", "100.84 +- 0.14", "100.94 +- 0.09", "101.99 +- 0.04", "/" },
        }).TrimEnd();

    /// <summary>ARM and DisARM evaluate f at antithetic pairs: an odd K (or 1) is left out of the grid; RLOO needs K &gt;= 2.</summary>
    protected override string? Excluded(BernoulliVaeConfig config) =>
        BernoulliVaeEstimators.InvalidEvaluations(config.Estimator, config.Evaluations) is { } why ? $"--k {config.Evaluations}: {why}" : null;

    /// <summary>Loads MNIST and builds the cell's task on its own binarisation of the training images (drawn from the seed).</summary>
    protected override ITrainingTask CreateTask(BernoulliVaeConfig config, RunContext context)
    {
        var device = context.TorchDevice;
        var mnist = MnistFolder.Load(config.Data, context.Log);
        context.Log($"MNIST: {mnist.Train.Count} training and {mnist.Test.Count} test images from {mnist.Files.Location.Directory}");
        return new BernoulliVaeTask(config, BernoulliVaeData.FromMnist(mnist, config.TrainCount, config.Seed, device), device, ownsData: true);
    }

    /// <summary>A note on the settings of the runs.</summary>
    protected override void WriteSection(IReadOnlyList<(BernoulliVaeConfig Config, CellOutcome Outcome)> cells, GridReportContext report, StringBuilder markdown)
    {
        if (cells.Count == 0) return;
        var c = cells[0].Config;
        markdown.AppendLine($"One stochastic layer of {c.Latent} Bernoulli latents (\"2 x 200\": 2 categories x 200 latents), encoder 784-{c.Hidden}-{c.Hidden}-{c.Latent} " +
                            $"and decoder {c.Latent}-{c.Hidden}-{c.Hidden}-784 with LeakyReLU(0.3), learned Bernoulli prior, exact KL, " +
                            $"{c.TrainCount} training images, the 10,000 test images, batch {c.BatchSize}, Adam {Inv(c.LearningRate)}, ReinMax tau " +
                            $"{Inv(c.Tau)}, {c.Epochs} epochs ({c.Epochs * c.StepsPerEpoch} updates) per run. *train -ELBO*: the mean of the per-step " +
                            "K-evaluation estimates over the last epoch; *test -ELBO*: one sample of z per test image, exact KL. ARM and DisARM need " +
                            "an even K (antithetic pairs): a grid leaves their odd-K cells out.").AppendLine();
    }
}
