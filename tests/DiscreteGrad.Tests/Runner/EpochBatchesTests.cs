using DiscreteGrad.Experiments.Runner;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Runner;

[Collection(GlobalGenerator.Name)]
public class EpochBatchesTests
{
    [Fact]
    public void Each_epoch_visits_every_example_once_in_an_order_fixed_by_seed_and_epoch()
    {
        using var a = new EpochBatches(count: 10, batchSize: 4, seed: 3);
        using var b = new EpochBatches(count: 10, batchSize: 4, seed: 3);
        Assert.Equal(3, a.StepsPerEpoch);
        long[] Epoch(EpochBatches e, int epoch) =>
            Enumerable.Range(0, 3).SelectMany(s => e.Indices(epoch * 3 + s).data<long>().ToArray()).ToArray();
        var first = Epoch(a, 0);
        Assert.Equal(new long[] { 4, 4, 2 }, Enumerable.Range(0, 3).Select(s => a.Indices(s).shape[0]));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), first.OrderBy(i => i));
        Assert.NotEqual(first, Epoch(a, 1));
        // A fresh instance (a resumed run) jumping straight to epoch 1 sees the same batches.
        Assert.Equal(Epoch(a, 1), Epoch(b, 1));
        Assert.Equal(first, Epoch(b, 0));
        Assert.Equal("batchSize", Assert.ThrowsAny<ArgumentException>(() => new EpochBatches(10, 0, 1)).ParamName);
    }
}
