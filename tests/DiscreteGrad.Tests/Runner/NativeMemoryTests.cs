using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Tests.Runner;

public class NativeMemoryTests
{
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
