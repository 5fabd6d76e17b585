using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;

namespace DiscreteGrad.Bench;

/// <summary>
/// The TorchSharp Scalar race, reproduced, and the runner's guard against it (<see cref="CollectionWindows"/>).
/// <para>Each child process calls <c>softplus</c> on a [200, 784] tensor in a loop (TorchSharp turns its beta and threshold
/// into two <c>Scalar</c> objects that nothing references during the native call) while a second thread allocates 20 kB
/// arrays at a given rate, as the runtime's own threads may. Windows of 25 calls end as the training loop's do: with a
/// forced gen-0 collection (the runner before the guard, and in a shared process) or as no-GC regions (a run-cell
/// process). Each child reports how many calls had a collection start during them and whether libtorch failed.</para>
/// </summary>
public static class ScalarRaceBench
{
    /// <summary>Both modes at each allocation rate, one child per run.</summary>
    /// <param name="seconds">Seconds per child.</param>
    public static void Run(double seconds)
    {
        Console.WriteLine($"## TorchSharp Scalar race: softplus [200, 784] in a loop beside an allocating thread, {seconds:F0} s per child");
        Console.WriteLine("| allocating thread | windows end with | calls | calls with a collection inside | outcome |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (int micros in new[] { 10, 100 })
            foreach (string mode in new[] { "gen0", "regions" })
            {
                var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
                psi.FileName = exe;
                if (Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
                    psi.ArgumentList.Add(typeof(ScalarRaceBench).Assembly.Location);
                foreach (var a in new[] { "scalar-race-child", mode, micros.ToString(CultureInfo.InvariantCulture), seconds.ToString("R", CultureInfo.InvariantCulture) })
                    psi.ArgumentList.Add(a);
                using var p = Process.Start(psi)!;
                var stderr = p.StandardError.ReadToEndAsync();   // both pipes at once: a crash dump must not block the child
                string stdout = p.StandardOutput.ReadToEnd();
                stderr.Wait();
                p.WaitForExit();
                // A use-after-free can also crash the child instead of raising libtorch's error.
                if (p.ExitCode != 0) stdout = $"{stdout.Trim()} (the child exited with code {p.ExitCode})";
                string rate = $"20 kB every {micros} us ({20_000.0 / micros:F0} MB/s)";
                string ends = mode == "gen0" ? "a forced gen-0 collection" : "a no-GC region (CollectionWindows)";
                Console.WriteLine($"| {rate} | {ends} | {stdout.Trim()} |");
            }
    }

    /// <summary>One child: <c>MODE MICROSECONDS SECONDS</c>; prints "calls | calls with a collection | outcome".</summary>
    public static int Child(string[] args)
    {
        bool regions = args[0] == "regions";
        int micros = int.Parse(args[1], CultureInfo.InvariantCulture);
        double seconds = double.Parse(args[2], CultureInfo.InvariantCulture);
        torch.set_num_threads(1);
        using var x = torch.randn(200, 784, generator: new torch.Generator(1));
        using var stop = new CancellationTokenSource();
        var allocator = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            for (long n = 1; !stop.IsCancellationRequested; n++)
            {
                GC.KeepAlive(new byte[20_000]);
                while (clock.Elapsed.TotalMicroseconds < n * micros && !stop.IsCancellationRequested) Thread.SpinWait(20);
            }
        }) { IsBackground = true };
        allocator.Start();
        long calls = 0, inside = 0;
        string outcome = "no failure";
        var run = Stopwatch.StartNew();
        using (var windows = new CollectionWindows(exclusive: regions))
        {
            try
            {
                for (; run.Elapsed.TotalSeconds < seconds; calls++)
                {
                    if (calls > 0 && calls % CollectionWindows.Steps == 0) windows.Next();
                    int before = GC.CollectionCount(0);
                    using (torch.NewDisposeScope()) torch.nn.functional.softplus(x);
                    if (GC.CollectionCount(0) != before) inside++;
                }
                if (regions) outcome += $", {windows.Unguarded} window(s) unguarded";
            }
            catch (System.Runtime.InteropServices.ExternalException e)
            {
                outcome = $"libtorch failed after {run.Elapsed.TotalSeconds:F1} s: \"{e.Message.Split('\n')[0].Split('.')[0]}\"";
            }
        }
        stop.Cancel();
        allocator.Join();
        Console.WriteLine($"{calls} | {inside} | {outcome}");
        return 0;
    }
}
