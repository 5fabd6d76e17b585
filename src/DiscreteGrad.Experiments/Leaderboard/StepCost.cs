using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace DiscreteGrad.Experiments.Leaderboard;

/// <summary>Wall and CPU seconds per step of a loop of steps.</summary>
/// <param name="WallSecondsPerStep">Elapsed time over the steps.</param>
/// <param name="CpuSecondsPerStep">The process's user + system time over the steps (every thread: libtorch's, the
/// garbage collector's); NaN when the run shares its process.</param>
public sealed record StepTiming(double WallSecondsPerStep, double CpuSecondsPerStep);

/// <summary>
/// The cost columns of the leaderboard, measured in the cell's own process: time per step (wall and CPU) and the peak
/// memory of a step. The peak is read from the kernel: before each measured step the process's high-water mark of resident
/// memory is reset to its current resident size (<c>/proc/self/clear_refs</c> with "5", Linux 4.0 and later), after it
/// VmHWM - VmRSS(before) is what the step added at its peak. libtorch's CPU tensors are native allocations, invisible to
/// .NET's heap counters, hence the kernel's figure; glibc is first told to map every block of 128 KiB or more on its own
/// (<c>mallopt(M_MMAP_THRESHOLD, 131072)</c>, as the efficiency benchmark's children run) and, before each measured step,
/// to give its free heap pages back (<c>malloc_trim(0)</c>), so that memory freed by earlier steps is not reused unseen,
/// and the peak is close to that of the step's live tensors. Both need the
/// process to itself (<see cref="Runner.RunContext.OwnsProcess"/>); otherwise the peak is NaN.
/// </summary>
public static class StepCost
{
    private const int MmapThreshold = -3;   // M_MMAP_THRESHOLD of glibc's malloc.h

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>Runs <paramref name="steps"/> steps and returns their wall and CPU time per step.</summary>
    /// <param name="steps">Number of steps, &gt;= 1.</param>
    /// <param name="step">Runs step i (0-based).</param>
    /// <param name="ownsProcess">Whether the CPU time of the process is the run's.</param>
    public static StepTiming Time(long steps, Action<long> step, bool ownsProcess)
    {
        ArgumentNullException.ThrowIfNull(step);
        Guard.AtLeast(steps, 1, nameof(steps));
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (long i = 0; i < steps; i++) step(i);
        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
        return new StepTiming(wall / steps, ownsProcess ? cpuSeconds / steps : double.NaN);
    }

    /// <summary>
    /// The largest peak memory, in MB (2^20 bytes), that one of <paramref name="steps"/> steps added to the resident memory
    /// of the process (see the class remarks); NaN when the process is not the run's own or the kernel does not offer the
    /// reset. Finished steps' native memory is released (a full collection) before each measured step.
    /// </summary>
    public static double PeakStepMegabytes(int steps, Action<int> step, bool ownsProcess)
    {
        ArgumentNullException.ThrowIfNull(step);
        Guard.AtLeast(steps, 1, nameof(steps));
        if (!ownsProcess || !OperatingSystem.IsLinux()) return double.NaN;
        try
        {
            MallOpt(MmapThreshold, 131072);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return double.NaN;
        }
        double peak = 0;
        for (int i = 0; i < steps; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            MallocTrim(0);   // free heap pages back to the kernel, so that reusing them shows in the resident size
            if (!ResetPeak()) return double.NaN;
            long before = StatusKb("VmRSS");
            step(i);
            peak = Math.Max(peak, (StatusKb("VmHWM") - before) / 1024.0);
        }
        return peak;
    }

    /// <summary>The process's peak resident memory so far, in MB (VmHWM; NaN off Linux).</summary>
    public static double ProcessPeakMegabytes() => OperatingSystem.IsLinux() ? StatusKb("VmHWM") / 1024.0 : double.NaN;

    /// <summary>The 1-minute load average (NaN when unknown).</summary>
    public static double LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long StatusKb(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new InvalidDataException($"{key} is not in /proc/self/status.");
    }
}
