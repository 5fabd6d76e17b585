using System.Runtime.InteropServices;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// The native heap policy of a training process. libtorch allocates every CPU tensor with glibc's malloc; with glibc's
/// defaults, blocks above a dynamic threshold are mmap'd and unmapped on free, and free memory at the top of the heap is
/// returned to the kernel, so each training step faults in and zero-fills fresh pages for the same few megabytes it freed
/// in the previous step (600-800 minor page faults per training step of the MNIST-VAE 10x30, about 1 ms of its CPU). After
/// <see cref="KeepFreedBlocks"/> blocks up to 32 MiB come from the heap and freed memory stays in the process for the next
/// step (trimmed only when more than 256 MiB lie free at the top), so the resident size stays at the steps' high-water
/// mark instead of breathing with each step.
/// </summary>
public static class NativeHeap
{
    private const int MTrimThreshold = -1, MMmapThreshold = -3;
    /// <summary>Blocks up to this size come from the heap (glibc's largest accepted mmap threshold on 64-bit).</summary>
    public const int MmapThresholdBytes = 32 * 1024 * 1024;
    /// <summary>The heap top is returned to the kernel only when more than this lies free there.</summary>
    public const int TrimThresholdBytes = 256 * 1024 * 1024;

    private static readonly Lazy<bool> Applied = new(Apply);

    /// <summary>
    /// Sets glibc's M_MMAP_THRESHOLD and M_TRIM_THRESHOLD (once per process; later calls return the first result). Does
    /// nothing (returns false) off Linux, without glibc, or when the environment already sets the malloc policy
    /// (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_ or GLIBC_TUNABLES): the user's choice wins.
    /// </summary>
    /// <returns>Whether the thresholds were set.</returns>
    public static bool KeepFreedBlocks() => Applied.Value;

    private static bool Apply()
    {
        if (!OperatingSystem.IsLinux()) return false;
        foreach (var v in new[] { "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES" })
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))) return false;
        try
        {
            return mallopt(MMmapThreshold, MmapThresholdBytes) == 1 && mallopt(MTrimThreshold, TrimThresholdBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);
}
