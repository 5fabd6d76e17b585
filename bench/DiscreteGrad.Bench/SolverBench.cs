using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Experiments.Warcraft;
using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Bench;

/// <summary>
/// `solvers` command: throughput of the CPU MAP solvers (grid Dijkstra, top-k) single-thread and on all cores
/// (<see cref="SolverParallelism.MaxDegreeOfParallelism"/>), a plain-Python heapq Dijkstra reference run as a child
/// process; `imle` command: the I-MLE noise samplers before / after and the overhead of <see cref="ImleLayer"/> forward +
/// backward over the two bare solver calls it makes (<see cref="RunImle"/>).
/// Every figure is the median of <see cref="Repeats"/> timed repeats after one warm-up call.
/// </summary>
public static class SolverBench
{
    public const int Repeats = 5;
    public const int GridBatch = 256;
    public static readonly int[] GridSizes = [12, 18, 24, 30];
    public const string Python = "/usr/bin/python3";
    public const string PythonScript = "bench/python/dijkstra_heapq.py";

    public static void Run()
    {
        int cores = Environment.ProcessorCount;
        Console.WriteLine($"## Solvers (median of {Repeats} repeats after a warm-up; all cores = {cores})");
        Console.WriteLine();
        RunGrid(cores);
        RunTopK(cores);
    }

    private static void RunGrid(int cores)
    {
        Console.WriteLine($"### Grid shortest path (8-neighbourhood, costs U[0, 1), batch {GridBatch} maps, fp32 [B, N, N] in and out)");
        Console.WriteLine($"Python reference: `{Python} {PythonScript} N {GridBatch}` (heapq, one process), {PythonVersion()}");
        Console.WriteLine($"C#: `GridShortestPathSolver` with the default sweep algorithm ({GridShortestPathSolver.SweepLanes} maps per SIMD group on this machine) and with `GridShortestPathAlgorithm.Dijkstra`; both give the same paths.");
        Console.WriteLine();
        Console.WriteLine("The CPU-time columns divide by the process CPU time instead of wall time (C#: 1 thread only; Python: time.process_time), which a loaded machine inflates far less.");
        Console.WriteLine();
        Console.WriteLine("| N | sweep, 1 thread (maps/s) | sweep, all cores (maps/s) | Dijkstra, 1 thread (maps/s) | Python heapq (maps/s) | ratio sweep 1 thread / Python | ratio sweep all cores / Python | ratio Dijkstra 1 thread / Python | ratio sweep / Python by CPU time |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var sweep = new GridShortestPathSolver(GridNeighbourhood.Eight);
        var dijkstra = new GridShortestPathSolver(GridNeighbourhood.Eight, GridShortestPathAlgorithm.Dijkstra);
        foreach (int n in GridSizes)
        {
            var gen = new Generator(1234 + (ulong)n);
            using var costs = torch.rand(new long[] { GridBatch, n, n }, generator: gen);
            double one = Throughput(() => sweep.Solve(costs).Dispose(), GridBatch, 1);
            double cpuShare = CpuShare(() => sweep.Solve(costs).Dispose());
            double all = Throughput(() => sweep.Solve(costs).Dispose(), GridBatch, cores);
            double dij = Throughput(() => dijkstra.Solve(costs).Dispose(), GridBatch, 1);
            var (py, pyCpu) = RunPython(n, GridBatch);
            // One thread: maps per CPU-second = wall throughput / the fraction of a core the process got meanwhile.
            double oneCpu = one / Math.Max(1e-9, cpuShare);
            Console.WriteLine($"| {n} | {one:F0} | {all:F0} | {dij:F0} | {py:F0} | {one / py:F1} | {all / py:F1} | {dij / py:F1} | {oneCpu / pyCpu:F1} |");
        }
        Console.WriteLine();
        RunWarcraftTerrain();
    }

    /// <summary>
    /// The same solvers on the cost maps of the Warcraft experiment (5 terrain costs in blobs, many equal-cost paths), where
    /// shortest paths detour around lakes and mountains and the sweeps need more passes than on U[0, 1) maps.
    /// </summary>
    private static void RunWarcraftTerrain()
    {
        Console.WriteLine($"### Grid shortest path on Warcraft terrain costs (batch {GridBatch} maps of `WarcraftMapGenerator`, fp32, 1 thread)");
        Console.WriteLine();
        Console.WriteLine("| N | sweep (maps/s) | Dijkstra (maps/s) | sweep / Dijkstra |");
        Console.WriteLine("|---:|---:|---:|---:|");
        var sweep = new GridShortestPathSolver(GridNeighbourhood.Eight);
        var dijkstra = new GridShortestPathSolver(GridNeighbourhood.Eight, GridShortestPathAlgorithm.Dijkstra);
        foreach (int n in GridSizes)
        {
            var values = Enumerable.Range(0, GridBatch)
                .SelectMany(i => WarcraftMapGenerator.Draw(n, 1000UL + (ulong)i, patchSize: 4).Cells.Select(TerrainTable.Cost))
                .Select(v => (float)v).ToArray();
            using var costs = torch.tensor(values, new long[] { GridBatch, n, n });
            double one = Throughput(() => sweep.Solve(costs).Dispose(), GridBatch, 1);
            double dij = Throughput(() => dijkstra.Solve(costs).Dispose(), GridBatch, 1);
            Console.WriteLine($"| {n} | {one:F0} | {dij:F0} | {one / dij:F1} |");
        }
        Console.WriteLine();
    }

    private static void RunTopK(int cores)
    {
        Console.WriteLine("### Top-k (fp32 [instances, n] in and out)");
        Console.WriteLine();
        Console.WriteLine("| case | shape | k | C# 1 thread (instances/s) | C# all cores (instances/s) |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        var cases = new (string Name, int Rows, int N, int K)[]
        {
            ("k-subset VAE (B = 100, 20 blocks of 20)", 100 * 20, 20, 10),
            ("L2X BeerAdvocate (B = 100, 350 words)", 100, 350, 10),
        };
        foreach (var c in cases)
        {
            var gen = new Generator(99);
            using var w = torch.randn(new long[] { c.Rows, c.N }, generator: gen);
            var solver = new TopKSolver(c.K);
            double one = Throughput(() => solver.Solve(w).Dispose(), c.Rows, 1);
            double all = Throughput(() => solver.Solve(w).Dispose(), c.Rows, cores);
            Console.WriteLine($"| {c.Name} | [{c.Rows}, {c.N}] | {c.K} | {one:F0} | {all:F0} |");
        }
        Console.WriteLine();
    }

    /// <summary>The I-MLE cases of the `imle` command: the solver, the shape of theta and the k of the Sum-of-Gamma noise.</summary>
    private static readonly (string Name, Func<IMapSolver> Solver, long[] Shape, double K, bool Minimise)[] ImleCases =
    [
        ("top-k, k-subset VAE", () => new TopKSolver(10), [2000, 20], 10, false),
        ("top-k, L2X", () => new TopKSolver(10), [100, 350], 10, false),
        ("grid path N = 12 (minimise)", () => new GridShortestPathSolver(), [GridBatch, 12, 12], 12, true),
        ("grid path N = 30 (minimise)", () => new GridShortestPathSolver(), [GridBatch, 30, 30], 30, true),
    ];

    /// <summary>
    /// `imle` command: every figure of the I-MLE speed targets in one run, on one thread, with
    /// <see cref="EfficiencyBench.TimeInterleaved"/> (each round runs a batch of every variant in turn, rotating the order;
    /// the ratio of CPU times, which time given to other processes does not inflate, is taken within a round and its median
    /// over rounds printed, with the median wall times). Each variant first runs for >= 300 ms, so that tiered JIT has
    /// compiled its loops. (1) One draw of the noise: the managed Sum-of-Gamma sampler against libtorch's
    /// (<see cref="SumOfGammaNoise.ReferenceSample"/>, the sampler before), and the managed Gumbel sampler against
    /// <see cref="Sampling.Gumbel.Sample"/> (before). (2) <see cref="ImleLayer"/> forward + backward (S = 1, forward
    /// difference, lambda = 10, backward with upstream gradient u) against the two bare solver calls it makes, on the same
    /// inputs (theta + eps and theta + eps -/+ lambda u).
    /// </summary>
    public static void RunImle(int rounds, double batchMs)
    {
        using var serial = SolverParallelism.Limit(1);
        Console.WriteLine($"## I-MLE noise and layer (one thread; interleaved, {rounds} rounds of ~{batchMs} ms-of-CPU batches)");
        Console.WriteLine();
        Console.WriteLine("### One noise draw of theta's shape: before (libtorch) / after (managed)");
        Console.WriteLine();
        Console.WriteLine("Speed-up: median over rounds of CPU time before / after in the same round. Times: medians of the wall time per draw.");
        Console.WriteLine();
        Console.WriteLine("| case | shape | k | Sum-of-Gamma before (ms) | after (ms) | speed-up | Gumbel before (ms) | after (ms) | speed-up |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in ImleCases)
        {
            var sog = new SumOfGammaNoise(c.K);
            var gen = new Generator(13);
            var g = Timed(rounds, batchMs, ("after", () => sog.Sample(c.Shape, gen).Dispose()), ("before", () => sog.ReferenceSample(c.Shape, gen).Dispose()));
            var u = Timed(rounds, batchMs, ("after", () => ImleNoise.Gumbel.Sample(c.Shape, gen).Dispose()), ("before", () => Sampling.Gumbel.Sample(c.Shape, 1.0, gen).Dispose()));
            Console.WriteLine($"| {c.Name} | [{string.Join(", ", c.Shape)}] | {c.K} | {g[1].WallMs:F3} | {g[0].WallMs:F3} | {g[1].CpuRatio:F1} " +
                $"| {u[1].WallMs:F3} | {u[0].WallMs:F3} | {u[1].CpuRatio:F1} |");
        }
        Console.WriteLine();
        Console.WriteLine("### ImleLayer forward + backward / the two bare solver calls it makes (same inputs)");
        Console.WriteLine();
        Console.WriteLine("Ratio: median over rounds of CPU time layer / bare calls in the same round. Times: medians of the wall time per call.");
        Console.WriteLine();
        Console.WriteLine("| case | shape | noise | 2 bare solver calls (ms) | layer fwd + bwd (ms) | ratio | noise draw alone (ms) |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|");
        foreach (var c in ImleCases)
            foreach (var noise in new[] { ImleNoise.SumOfGamma(c.K), ImleNoise.Gumbel })
            {
                var step = new LayerStep(c.Solver(), c.Shape, noise, c.Minimise);
                var gen = new Generator(17);
                var r = Timed(rounds, batchMs, ("bare", step.Bare), ("layer", step.Step), ("noise", () => noise.Sample(c.Shape, gen).Dispose()));
                string name = noise is SumOfGammaNoise ? "Sum-of-Gamma" : "Gumbel";
                Console.WriteLine($"| {c.Name} | [{string.Join(", ", c.Shape)}] | {name} | {r[0].WallMs:F3} | {r[1].WallMs:F3} | {r[1].CpuRatio:F2} | {r[2].WallMs:F3} |");
            }
        Console.WriteLine();
    }

    /// <summary><see cref="EfficiencyBench.TimeInterleaved"/> after >= 300 ms of each variant (JIT warm-up).</summary>
    private static List<EfficiencyBench.StepTime> Timed(int rounds, double batchMs, params (string Label, Action Step)[] items)
    {
        foreach (var (_, step) in items)
        {
            var warm = Stopwatch.StartNew();
            do step(); while (warm.Elapsed.TotalMilliseconds < 300);
        }
        return EfficiencyBench.TimeInterleaved(items, rounds, batchMs);
    }

    /// <summary>One step of an <see cref="ImleLayer"/> (forward, backward with upstream gradient u) and the two
    /// bare solver calls it makes, on the same inputs: theta + eps and theta + eps - lambda u (maximising) or + lambda u
    /// (minimising), eps one draw of the layer's noise.</summary>
    private sealed class LayerStep
    {
        private const double Lambda = 10.0;
        private readonly IMapSolver _solver;
        private readonly ImleLayer _layer;
        private readonly Tensor _theta, _upstream, _b1, _b2;

        public LayerStep(IMapSolver solver, long[] shape, ImleNoise noise, bool minimise)
        {
            _solver = solver;
            var gen = new Generator(7);
            // Grid costs must stay >= 0 after the noise and the backward step: offset them well above the noise range, and
            // a non-negative upstream gradient keeps the backward costs theta + lambda u >= 0 (the layer minimises).
            using var theta0 = minimise ? torch.rand(shape, generator: gen) + 20.0 : torch.randn(shape, generator: gen);
            _upstream = minimise ? torch.rand(shape, generator: gen) : torch.randn(shape, generator: gen);
            _theta = theta0.detach().requires_grad_(true);
            _b1 = theta0 + noise.Sample(shape, new Generator(11));
            _b2 = torch.add(_b1, _upstream, alpha: minimise ? Lambda : -Lambda);
            _layer = new ImleLayer(solver, new ImleOptions
            {
                Noise = noise, Samples = 1, Target = ImleTargetDistribution.Fixed(Lambda), Minimise = minimise,
            }, new Generator(11));
        }

        public void Step()
        {
            using var scope = torch.NewDisposeScope();
            _theta.grad?.zero_();
            // Backward with upstream gradient u (the gradient of the loss <z, u>), without loss operations of its own.
            _layer.forward(_theta).backward(new[] { _upstream });
        }

        public void Bare()
        {
            _solver.Solve(_b1).Dispose();
            _solver.Solve(_b2).Dispose();
        }
    }

    private static double Throughput(Action solve, int items, int degree)
    {
        using (SolverParallelism.Limit(degree)) return items / MedianSeconds(solve);
    }

    /// <summary>
    /// Median over <see cref="Repeats"/> of the seconds per call; each repeat runs enough calls for >= 50 ms. The warm-up
    /// runs for >= 300 ms so that tiered JIT has promoted the solver loop before timing (one warm-up call is not enough).
    /// </summary>
    private static double MedianSeconds(Action step)
    {
        var warm = Stopwatch.StartNew();
        do step(); while (warm.Elapsed.TotalMilliseconds < 300);
        var sw = Stopwatch.StartNew();
        int calls = 0;
        do { step(); calls++; } while (sw.Elapsed.TotalMilliseconds < 20);
        int perRepeat = Math.Max(1, (int)Math.Ceiling(50.0 / (sw.Elapsed.TotalMilliseconds / calls)));
        var t = new double[Repeats];
        for (int r = 0; r < Repeats; r++)
        {
            sw.Restart();
            for (int i = 0; i < perRepeat; i++) step();
            t[r] = sw.Elapsed.TotalSeconds / perRepeat;
        }
        return Interleaved.Median(t);
    }

    /// <summary>
    /// Fraction of one core the process got while running <paramref name="step"/> for >= 250 ms (after the timed repeats, so
    /// JIT work is over): process CPU time / wall time, single-threaded solver.
    /// </summary>
    private static double CpuShare(Action step)
    {
        var proc = Process.GetCurrentProcess();
        proc.Refresh();
        var cpu0 = proc.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        do step(); while (sw.Elapsed.TotalMilliseconds < 250);
        proc.Refresh();
        return (proc.TotalProcessorTime - cpu0).TotalSeconds / sw.Elapsed.TotalSeconds;
    }

    private static string PythonVersion()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Python, "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string s = (p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd()).Trim();
            p.WaitForExit();
            return s;
        }
        catch (Exception e) { return $"unavailable ({e.Message})"; }
    }

    private static (double Wall, double Cpu) RunPython(int n, int batch)
    {
        string script = FindScript();
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(n.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(batch.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(Repeats.ToString(CultureInfo.InvariantCulture));
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        var lines = output.Split('\n').Select(l => l.Trim()).ToArray();
        var line = lines.LastOrDefault(l => l.StartsWith("maps_per_s "));
        var cpuLine = lines.LastOrDefault(l => l.StartsWith("cpu_maps_per_s "));
        if (p.ExitCode != 0 || line is null || cpuLine is null)
            throw new InvalidOperationException($"{Python} {script} failed (exit {p.ExitCode}): {output}{err}");
        return (double.Parse(line["maps_per_s ".Length..], CultureInfo.InvariantCulture),
            double.Parse(cpuLine["cpu_maps_per_s ".Length..], CultureInfo.InvariantCulture));
    }

    /// <summary>The script relative to the working directory, or found by walking up from the executable (repository root).</summary>
    private static string FindScript()
    {
        if (File.Exists(PythonScript)) return PythonScript;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, PythonScript);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{PythonScript} not found; run from the repository root.");
    }
}
