using BenchmarkDotNet.Attributes;
using TorchSharp;

namespace DiscreteGrad.Bench;

/// <summary>
/// BenchmarkDotNet: forward + backward of each estimator through Categorical.Sample, against the softmax relaxation
/// (Baseline) of the same shape and upstream weight. Run in-process (see Program.BdnConfig).
/// </summary>
public class EstimatorBenchmarks
{
    /// <summary>Set by Program before BenchmarkRunner.Run (in-process toolchain, so statics carry over).</summary>
    public static int Threads = 1;
    public static double Tau = 0.5;

    [Params("512x128x2", "100x30x10")]
    public string Shape { get; set; } = "512x128x2";

    private Workload work = null!;

    [GlobalSetup]
    public void Setup()
    {
        torch.set_num_threads(Threads);
        work = new Workload(Bench.Shape.Parse(Shape), Tau, grK: 100);
    }

    [GlobalCleanup]
    public void Cleanup() => work.Dispose();

    [Benchmark(Baseline = true)] public void Softmax() => work.Step(Variant.Softmax);
    [Benchmark] public void GumbelSoftmax() => work.Step(Variant.GumbelSoftmax);
    [Benchmark] public void StraightThroughGumbel() => work.Step(Variant.StraightThroughGumbel);
    [Benchmark] public void StraightThrough() => work.Step(Variant.StraightThrough);
    [Benchmark] public void ReinMax() => work.Step(Variant.ReinMax);
    [Benchmark] public void GappedStraightThrough() => work.Step(Variant.GappedStraightThrough);
    [Benchmark] public void GumbelRaoK100() => work.Step(Variant.GumbelRao);
}
