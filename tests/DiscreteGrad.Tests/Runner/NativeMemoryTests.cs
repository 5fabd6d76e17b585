using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Tests.Runner;

public class NativeMemoryTests
{
    [Fact]
    public void NativeGarbage_collects_only_when_the_resident_size_grew_by_more_than_the_threshold_since_the_last_collection()
    {
        double rss = 500;
        var collectedAt = new List<long>();
        long step = 0;
        // A collection lets the heap give back 10 MiB.
        var policy = new NativeGarbage(() => rss, () => { collectedAt.Add(step); rss -= 10; });
        for (step = 1; step <= 200; step++)
        {
            rss += 1;                                 // the process grows by 1 MiB per step
            policy.Check(step);
        }
        // Read at 25 (floor 525); 550 at 50 is within 32 MiB; 575 at 75 is not: collect (565 is the new floor); 590 at 100
        // is within; 615 at 125: collect (605); 630 at 150 within; 655 at 175: collect (645); 670 at 200 within.
        Assert.Equal(new long[] { 75, 125, 175 }, collectedAt);
        Assert.Equal(3, policy.Collections);
    }

    [Fact]
    public void NativeGarbage_never_collects_a_flat_or_shrinking_process_and_reads_only_every_25_steps()
    {
        int reads = 0;
        double rss = 800;
        var policy = new NativeGarbage(() => { reads++; return rss; }, () => throw new InvalidOperationException("collected"));
        for (long step = 1; step <= 1000; step++)
        {
            rss += step % 2 == 0 ? 1 : -1.5;        // drifts down by 0.25 MiB per step
            Assert.False(policy.Check(step));
        }
        Assert.Equal(1000 / 25, reads);
        Assert.Equal(0, policy.Collections);
    }

    [Fact]
    public void NativeHeap_applies_once_on_Linux_unless_the_environment_sets_the_malloc_policy()
    {
        bool expected = OperatingSystem.IsLinux()
            && new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES" }
                .All(v => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v)));
        Assert.Equal(expected, NativeHeap.KeepFreedBlocks());
        Assert.Equal(expected, NativeHeap.KeepFreedBlocks());
    }
}
