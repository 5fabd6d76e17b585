using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Tests.Runner;

internal enum ToyShape { Small, VeryLarge }

/// <summary>A configuration record for the grid-runner tests: two axes (seeds, lr) and a few scalar settings.</summary>
internal sealed record ToyConfig : IValidatedConfig
{
    [Setting("seeds", "Seeds.", Axis = true, Count = true, Min = 0, Max = 1000)]
    public int Seed { get; init; } = 1;

    [Setting("lr", "Adam learning rate.", Axis = true, Min = 0, MinExclusive = true, Max = 10)]
    public double LearningRate { get; init; } = 1e-2;

    [Setting("steps", "Steps.", Min = 10, Max = 100_000)]
    public int Steps { get; init; } = 30;

    [Setting("nan-at", "Step whose loss is NaN in the cell of seed 2 (-1: none).", Min = -1)]
    public int NanAt { get; init; } = -1;

    [Setting("shape", "An enum setting.")]
    public ToyShape Shape { get; init; } = ToyShape.Small;

    [Setting("taus", "A list setting that is not an axis.", Min = 0, MinExclusive = true)]
    public double[] Taus { get; init; } = { 1.0, 0.5 };

    [Setting("data", "A local path.", Local = true)]
    public string Data { get; init; } = "here";

    public void Validate()
    {
        if (NanAt >= Steps) throw new ArgumentOutOfRangeException(nameof(NanAt), NanAt, $"NanAt must be < Steps = {Steps}.");
    }
}

/// <summary>The toy task as an experiment declaration.</summary>
internal sealed class ToyExperiment : Experiment<ToyConfig>
{
    public override string Name => "toy";
    public override string Description => "A toy regression through a Gumbel-softmax node.";
    public override string Label(ToyConfig c) => $"lr {Inv(c.LearningRate)}";
    public override IReadOnlyList<SummaryMetric> Metrics { get; } = new[] { SummaryMetric.FinalEval("mse", "mse", "F6"), SummaryMetric.FinalTrain("loss", "loss", "F6") };
    public override IReadOnlyList<CurveSpec> Curves { get; } = new[] { new CurveSpec("mse", "toy: mse", "mse") };
    public override long LogEvery(ToyConfig config) => 10;
    public override long CheckpointEvery(ToyConfig config) => 10;
    protected override ITrainingTask CreateTask(ToyConfig config, RunContext context) =>
        new ToyTask((ulong)config.Seed, config.Steps, config.Seed == 2 ? config.NanAt : -1, config.LearningRate);

    public static IReadOnlyList<IExperiment> Catalog { get; } = new IExperiment[] { new ToyExperiment() };
}
