using DiscreteGrad.Experiments.ListOps;

namespace DiscreteGrad.Tests.Experiments.ListOps;

/// <summary>
/// <see cref="LengthBucketBatches"/>: every example once per epoch, every batch within one bucket, the order a function of
/// (seed, epoch) alone (so any step can be asked for first, as after a resume), and evaluation batches of one length.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class ListOpsLengthBucketTests
{
    private static int[] Lengths(int n, int seed, int max = 30)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => 1 + rng.Next(max)).ToArray();
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(3, 16)]
    [InlineData(1, 1)]
    [InlineData(50, 100)]
    public void Every_example_is_visited_once_per_epoch_and_every_batch_lies_in_one_bucket(int width, int batch)
    {
        var lengths = Lengths(503, 1);
        var b = new LengthBucketBatches(lengths, batch, seed: 4, bucketWidth: width);
        long expectedSteps = lengths.GroupBy(l => (l - 1) / width).Sum(g => (g.Count() + batch - 1) / batch);
        Assert.Equal(expectedSteps, b.StepsPerEpoch);
        Assert.Equal(lengths.Select(l => (l - 1) / width).Distinct().Count(), b.Buckets);
        for (long epoch = 0; epoch < 3; epoch++)
        {
            var steps = Enumerable.Range(0, (int)b.StepsPerEpoch).Select(s => b.Indices(epoch * b.StepsPerEpoch + s)).ToList();
            Assert.Equal(Enumerable.Range(0, lengths.Length), steps.SelectMany(x => x).OrderBy(i => i));
            Assert.All(steps, s =>
            {
                Assert.InRange(s.Count, 1, batch);
                Assert.Single(s.Select(i => LengthBucketBatches.BucketOf(lengths[i], width)).Distinct());
            });
            if (width == 1) Assert.All(steps, s => Assert.Single(s.Select(i => lengths[i]).Distinct()));
        }
    }

    [Fact]
    public void The_order_depends_only_on_seed_and_epoch_so_a_resume_mid_epoch_sees_the_same_batches()
    {
        var lengths = Lengths(300, 2);
        var straight = new LengthBucketBatches(lengths, 8, seed: 7);
        var all = Enumerable.Range(0, (int)(3 * straight.StepsPerEpoch)).Select(s => straight.Indices(s).ToArray()).ToList();
        // A fresh instance (a resumed process) asked first for a step in the middle of epoch 1, then onwards.
        var resumed = new LengthBucketBatches(lengths, 8, seed: 7);
        long mid = straight.StepsPerEpoch + straight.StepsPerEpoch / 2;
        for (long s = mid; s < all.Count; s++) Assert.Equal(all[(int)s], resumed.Indices(s));
        // ... and jumping back to epoch 0 afterwards still gives epoch 0's batches.
        Assert.Equal(all[3], resumed.Indices(3));
        // Epochs differ from each other, and another seed gives another order.
        Assert.NotEqual(straight.Order(0).SelectMany(x => x), straight.Order(1).SelectMany(x => x));
        Assert.NotEqual(straight.Order(0).SelectMany(x => x), new LengthBucketBatches(lengths, 8, seed: 8).Order(0).SelectMany(x => x));
        // Shuffled within and across buckets: the first epoch does not list the buckets in length order.
        var firstLengths = straight.Order(0).Select(x => lengths[x[0]]).ToList();
        Assert.NotEqual(firstLengths.OrderBy(l => l), firstLengths);
    }

    [Fact]
    public void Evaluation_batches_hold_one_length_each_and_cover_every_example_once()
    {
        var lengths = Lengths(200, 3);
        var batches = LengthBucketBatches.ByLength(lengths, l => 100 / l);
        Assert.Equal(Enumerable.Range(0, 200), batches.SelectMany(x => x).OrderBy(i => i));
        Assert.All(batches, x => Assert.Single(x.Select(i => lengths[i]).Distinct()));
        Assert.All(batches, x => Assert.InRange(x.Length, 1, Math.Max(1, 100 / lengths[x[0]])));
        Assert.Equal(batches.Select(x => lengths[x[0]]).OrderBy(l => l), batches.Select(x => lengths[x[0]]));
    }

    [Fact]
    public void Bad_arguments_throw()
    {
        Assert.Throws<ArgumentException>(() => new LengthBucketBatches(Array.Empty<int>(), 4, 1));
        Assert.Throws<ArgumentException>(() => new LengthBucketBatches(new[] { 3, 0 }, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LengthBucketBatches(new[] { 3 }, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LengthBucketBatches(new[] { 3 }, 4, 1).Indices(-1));
    }
}
