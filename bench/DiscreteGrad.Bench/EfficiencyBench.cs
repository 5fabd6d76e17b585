using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Polynomial;
using DiscreteGrad.Experiments.Vae;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Bench;

/// <summary>One training step of a benchmarked configuration (forward, backward, Adam update).</summary>
public interface IStepper : IDisposable
{
    /// <summary>Runs one step inside its own DisposeScope.</summary>
    void Step();
}

/// <summary>
/// A training step of the categorical MNIST-VAE 10 x 30 (DiscreteGrad.Experiments.Vae: encoder 784-512-256-300, decoder
/// mirrored, BCE + KL to the uniform prior, the estimator's <see cref="VaeObjective"/>), batch 100, Adam 1e-3 (by default
/// DiscreteGrad.Optim.Adam, as the VAE task), on a fixed batch x ~ U(0, 1) (the time does not depend on the pixel values).
/// </summary>
public sealed class VaeStepper : IStepper
{
    private readonly CategoricalVae _vae;
    private readonly VaeObjective _objective;
    private readonly VaeWithObjective _both;
    private readonly torch.optim.Optimizer? _opt;
    private readonly TorchSharp.Modules.Parameter[] _parameters;
    private readonly bool _forwardOnly, _updateOnly;
    private readonly Tensor _x;

    /// <param name="optimizer">The update after backward (<see cref="StepOptimizer.None"/>: none, gradients released).</param>
    /// <param name="forwardOnly">Only the forward pass, under no_grad (no backward, no update).</param>
    /// <param name="updateOnly">Only the optimiser's step, on the gradients of one backward made here (kept, not zeroed).</param>
    public VaeStepper(VaeEstimator estimator, int gumbelRaoK = 100, int batch = 100, StepOptimizer optimizer = StepOptimizer.Adam,
        bool forwardOnly = false, bool updateOnly = false)
    {
        torch.manual_seed(1);
        var gen = new Generator(1);
        var config = new VaeConfig { Categories = 10, Latents = 30, Estimator = estimator, GumbelRaoK = gumbelRaoK, BatchSize = batch };
        _vae = new CategoricalVae(10, 30);
        _objective = new VaeObjective(config, gen);
        _both = new VaeWithObjective(_vae, _objective);
        _parameters = _both.parameters().ToArray();
        _opt = optimizer switch
        {
            StepOptimizer.Adam => new DiscreteGrad.Optim.Adam(_parameters, 1e-3),
            StepOptimizer.TorchSharpAdam => torch.optim.Adam(_parameters, 1e-3),
            StepOptimizer.Sgd => torch.optim.SGD(_parameters, 1e-3),
            _ => null,
        };
        _forwardOnly = forwardOnly;
        _updateOnly = updateOnly;
        _x = torch.rand(new long[] { batch, CategoricalVae.Pixels }, generator: gen);
        if (updateOnly)
            using (torch.NewDisposeScope())
                _objective.Loss(_vae, _x).Loss.backward();
    }

    public void Step()
    {
        using var scope = torch.NewDisposeScope();
        if (_updateOnly)
        {
            _opt!.step();
            return;
        }
        if (_forwardOnly)
        {
            using var _ = torch.no_grad();
            _objective.Loss(_vae, _x);
            return;
        }
        if (_opt is null)
            foreach (var p in _parameters) p.grad = null;
        else _opt.zero_grad();
        var l = _objective.Loss(_vae, _x);
        l.Loss.backward();
        _opt?.step();
    }

    public void Dispose() { _opt?.Dispose(); _both.Dispose(); _x.Dispose(); }
}

/// <summary>
/// A training step of polynomial programming as DiscreteGrad.Experiments.Polynomial runs it: theta [128, 2] expanded to
/// [512, 128, 2], z = Categorical.Sample(...).Value[..., 0], loss = mean |z - 0.45|^2, Adam 1e-3. REINFORCE: the library's
/// score-function surrogate with a moving-average baseline instead of a pathwise sample.
/// </summary>
public sealed class PolynomialStepper : IStepper
{
    private readonly TorchSharp.Modules.Parameter _theta;
    private readonly torch.optim.Optimizer _opt;
    private readonly EstimatorKind? _kind;
    private readonly EstimatorOptions _options;
    private readonly Generator _gen = new(1);
    private readonly MovingAverageBaseline _baseline = new(0.9);
    public const int N = 128, Batch = 512;

    /// <param name="kind">Pathwise estimator, or null for REINFORCE with a moving-average baseline.</param>
    public PolynomialStepper(EstimatorKind? kind, int gumbelRaoK = 100)
    {
        _kind = kind;
        _options = new EstimatorOptions(Tau: 1.0, GumbelRaoK: gumbelRaoK);
        using (torch.NewDisposeScope())
            _theta = new TorchSharp.Modules.Parameter(torch.rand(new long[] { N, 2 }, generator: _gen) * 0.02 - 0.01, requires_grad: true)
                .DetachFromDisposeScope() as TorchSharp.Modules.Parameter ?? throw new InvalidOperationException("theta");
        _opt = torch.optim.Adam(new[] { _theta }, 1e-3);
    }

    public void Step()
    {
        using var scope = torch.NewDisposeScope();
        var logits = _theta.unsqueeze(0).expand(Batch, N, 2);
        Tensor loss;
        if (_kind is EstimatorKind k)
        {
            var z = Categorical.Sample(logits, k, _options, generator: _gen).Value.select(-1, 0);
            loss = PolynomialObjective.Loss(z, 0.45, 2.0);
        }
        else
        {
            var r = Reinforce.Categorical(logits, d => (d.select(-1, 0) - 0.45).abs().pow(2).mean(new long[] { -1 }), _baseline, generator: _gen);
            loss = r.Surrogate.mean();
        }
        _opt.zero_grad();
        loss.backward();
        _opt.step();
    }

    public void Dispose() { _opt.Dispose(); _theta.Dispose(); }
}

/// <summary>
/// `efficiency` command (issue 4 section 5, the ReinMax paper's efficiency table): time per step (scaled to an epoch of 600 steps
/// for the VAE: 60,000 images / batch 100) and peak memory per estimator on the MNIST-VAE 10 x 30 and on polynomial
/// programming (128 binary variables, batch 512), measured in one run; then one interleaved comparison of the VAE step
/// with the PyTorch peer (bench/python/vae_10x30.py).
/// </summary>
public static class EfficiencyBench
{
    public const string Python = "/usr/bin/python3";
    public const string PythonScript = "bench/python/vae_10x30.py";
    public const int VaeStepsPerEpoch = 600;
    /// <summary>GR-MCK's K values benchmarked (the paper also has 1000; on this CPU a 10x30 VAE step with K = 1000 takes
    /// seconds, beyond the benchmark's time budget).</summary>
    public static readonly int[] GumbelRaoKs = [100, 300];

    /// <summary>(task, label, factory) of every benchmarked configuration; the first of each task is the ratio baseline.</summary>
    public static IReadOnlyList<(string Task, string Label, Func<IStepper> Make)> Cases { get; } = BuildCases();

    private static List<(string, string, Func<IStepper>)> BuildCases()
    {
        var list = new List<(string, string, Func<IStepper>)>();
        foreach (var (label, e) in new[] { ("ST", VaeEstimator.StraightThrough), ("STGS", VaeEstimator.StraightThroughGumbel),
                     ("GST-1.0", VaeEstimator.GappedStraightThrough), ("ReinMax", VaeEstimator.ReinMax) })
            list.Add(("vae", label, () => new VaeStepper(e)));
        foreach (int k in GumbelRaoKs)
            list.Add(("vae", $"GR-MCK{k}", () => new VaeStepper(VaeEstimator.GumbelRao, k)));
        foreach (var (label, e) in new[] { ("REINFORCE+MA", VaeEstimator.Reinforce), ("NVIL", VaeEstimator.Nvil),
                     ("VIMCO (4 samples)", VaeEstimator.Vimco), ("MuProp", VaeEstimator.MuProp) })
            list.Add(("vae", label, () => new VaeStepper(e)));
        foreach (var (label, k) in new[] { ("ST", EstimatorKind.StraightThrough), ("STGS", EstimatorKind.StraightThroughGumbel),
                     ("GST-1.0", EstimatorKind.GappedStraightThrough), ("ReinMax", EstimatorKind.ReinMax) })
            list.Add(("qp", label, () => new PolynomialStepper(k)));
        foreach (int k in GumbelRaoKs)
            list.Add(("qp", $"GR-MCK{k}", () => new PolynomialStepper(EstimatorKind.GumbelRao, k)));
        list.Add(("qp", "REINFORCE+MA", () => new PolynomialStepper(null)));
        return list;
    }

    /// <summary>Median wall and CPU milliseconds per step of one configuration.</summary>
    public sealed record StepTime(string Label, double WallMs, double CpuMs, double CpuRatio);

    /// <summary>
    /// Interleaved timing that also reads this process's CPU time (<see cref="Process.TotalProcessorTime"/>; with one libtorch
    /// thread it is the step's own compute, unaffected by other processes on a shared machine): one warm-up step each, then
    /// <paramref name="rounds"/> rounds in which every configuration runs a batch of steps in turn (rotating order; batch
    /// sized once to ~<paramref name="batchMs"/> of CPU, at least one step). Reports medians over rounds, and the median of
    /// the per-round CPU ratios to the first configuration.
    /// </summary>
    public static List<StepTime> TimeInterleaved(IReadOnlyList<(string Label, Action Step)> items, int rounds, double batchMs)
    {
        int n = items.Count;
        var batch = new int[n];
        var proc = Process.GetCurrentProcess();
        for (int i = 0; i < n; i++)
        {
            items[i].Step();
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            items[i].Step();
            proc.Refresh();
            double cpu = Math.Max(0.05, (proc.TotalProcessorTime - c0).TotalMilliseconds);
            batch[i] = Math.Max(1, (int)Math.Round(batchMs / cpu));
        }
        var wall = new double[n][];
        var cpuMs = new double[n][];
        for (int i = 0; i < n; i++) { wall[i] = new double[rounds]; cpuMs[i] = new double[rounds]; }
        for (int r = 0; r < rounds; r++)
            for (int jj = 0; jj < n; jj++)
            {
                int i = (jj + r) % n;
                proc.Refresh();
                var c0 = proc.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                for (int c = 0; c < batch[i]; c++) items[i].Step();
                wall[i][r] = sw.Elapsed.TotalMilliseconds / batch[i];
                proc.Refresh();
                cpuMs[i][r] = (proc.TotalProcessorTime - c0).TotalMilliseconds / batch[i];
            }
        return Enumerable.Range(0, n).Select(i => new StepTime(items[i].Label, Interleaved.Median(wall[i]), Interleaved.Median(cpuMs[i]),
            Interleaved.Median(Enumerable.Range(0, rounds).Select(r => cpuMs[i][r] / cpuMs[0][r])))).ToList();
    }

    /// <summary>Child entry point: args = index of the case (or "baseline-vae"/"baseline-qp"), steps, threads. Prints "VmHWM_kB N".</summary>
    public static int Child(string[] args)
    {
        int steps = int.Parse(args[1], CultureInfo.InvariantCulture);
        torch.set_num_threads(int.Parse(args[2], CultureInfo.InvariantCulture));
        IStepper s = args[0] switch
        {
            "baseline-vae" => new VaeStepper(VaeEstimator.StraightThrough),
            "baseline-qp" => new PolynomialStepper(EstimatorKind.StraightThrough),
            var i => Cases[int.Parse(i, CultureInfo.InvariantCulture)].Make(),
        };
        if (!args[0].StartsWith("baseline", StringComparison.Ordinal))
            for (int i = 0; i < steps; i++) s.Step();
        Console.WriteLine($"VmHWM_kB {Memory.ReadStatusKb("VmHWM")}");
        s.Dispose();
        return 0;
    }

    public static void Run(int threads, int rounds, double batchMs, int memSteps, int pythonRounds, int pythonSteps)
    {
        Console.WriteLine($"## Efficiency (ReinMax paper Table 4): MNIST-VAE 10x30 (batch 100) and polynomial programming (128 binary, batch 512)");
        Console.WriteLine($"time: interleaved (1 warm-up step, then {rounds} rounds of ~{batchMs} ms-of-CPU batches per configuration, at least one step), median per step of the process CPU time (1 libtorch thread; robust to other processes) and of the wall time (inflated by the load); peak memory: VmHWM of a child " +
                          $"process after {memSteps} steps (MALLOC_MMAP_THRESHOLD_=131072) minus that of a child that built the same model and data without a step");
        Console.WriteLine();
        foreach (var task in new[] { "vae", "qp" })
        {
            var cases = Cases.Select((c, i) => (c, i)).Where(t => t.c.Task == task).ToList();
            var steppers = cases.Select(t => t.c.Make()).ToList();
            var items = cases.Select((t, j) => (t.c.Label, (Action)(() => steppers[j].Step()))).ToList();
            var timing = TimeInterleaved(items, rounds, batchMs);
            foreach (var s in steppers) s.Dispose();
            long baseKb = Memory.ReadChildPeak(new[] { "eff-child", "baseline-" + task, "0", threads.ToString(CultureInfo.InvariantCulture) });
            Console.WriteLine(task == "vae"
                ? $"### MNIST-VAE 10x30, batch 100, Adam (one epoch = {VaeStepsPerEpoch} steps; baseline child VmHWM {baseKb / 1024.0:F1} MiB)"
                : $"### Polynomial programming, 128 binary variables, batch 512, Adam (baseline child VmHWM {baseKb / 1024.0:F1} MiB)");
            Console.WriteLine(task == "vae"
                ? "| estimator | CPU ms / step | CPU s / epoch | CPU time vs ST | wall ms / step (loaded machine) | peak memory above baseline (MiB) |"
                : "| estimator | CPU ms / step | CPU time vs ST | wall ms / step (loaded machine) | peak memory above baseline (MiB) |");
            Console.WriteLine(task == "vae" ? "|---|---:|---:|---:|---:|---:|" : "|---|---:|---:|---:|---:|");
            for (int j = 0; j < cases.Count; j++)
            {
                long kb = Memory.ReadChildPeak(new[] { "eff-child", cases[j].i.ToString(CultureInfo.InvariantCulture),
                    memSteps.ToString(CultureInfo.InvariantCulture), threads.ToString(CultureInfo.InvariantCulture) });
                var t = timing[j];
                string mem = ((kb - baseKb) / 1024.0).ToString("F1", CultureInfo.InvariantCulture);
                Console.WriteLine(task == "vae"
                    ? $"| {t.Label} | {t.CpuMs:F2} | {t.CpuMs * VaeStepsPerEpoch / 1000:F1} | {t.CpuRatio:F2} | {t.WallMs:F1} | {mem} |"
                    : $"| {t.Label} | {t.CpuMs:F2} | {t.CpuRatio:F2} | {t.WallMs:F1} | {mem} |");
            }
            Console.WriteLine();
        }
        if (pythonRounds > 0) RunPython(threads, pythonRounds, pythonSteps);
    }

    /// <summary>The BLAS libraries a process has mapped (from /proc/PID/maps) and whether one is the reference (netlib) BLAS.</summary>
    public sealed record MappedBlas(IReadOnlyList<string> Paths, string Name, bool Reference);

    /// <summary>Classifies the BLAS libraries process <paramref name="pid"/> has mapped: OpenBLAS (any path with "openblas",
    /// as Debian's openblas-pthread/libblas.so.3), MKL, BLIS, or the reference BLAS (Debian's blas/libblas.so.3).</summary>
    public static MappedBlas ReadMappedBlas(int pid)
    {
        var paths = File.ReadLines($"/proc/{pid}/maps")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 6 && f[5].StartsWith('/'))
            .Select(f => f[5])
            .Where(p =>
            {
                string name = Path.GetFileName(p);
                return name.Contains("blas", StringComparison.OrdinalIgnoreCase) || name.StartsWith("libmkl", StringComparison.Ordinal) || name.StartsWith("libblis", StringComparison.Ordinal);
            })
            .Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
        bool Has(string s) => paths.Any(p => p.Contains(s, StringComparison.OrdinalIgnoreCase));
        if (Has("openblas")) return new MappedBlas(paths, "OpenBLAS", false);
        if (Has("libmkl")) return new MappedBlas(paths, "MKL", false);
        if (Has("blis")) return new MappedBlas(paths, "BLIS", false);
        if (paths.Any(p => p.Contains("/blas/libblas", StringComparison.Ordinal) || Path.GetFileName(p).StartsWith("libblas", StringComparison.Ordinal)))
            return new MappedBlas(paths, "reference BLAS (netlib)", true);
        return new MappedBlas(paths, "none mapped", false);
    }

    /// <summary>
    /// Our STGS VAE step against the PyTorch peer at <paramref name="threads"/> threads on both sides (torch.set_num_threads
    /// here; torch.set_num_threads and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS in the child), interleaved round by round; wall
    /// and CPU time of each. Refuses (prints why, compares nothing) when the child mapped the reference BLAS.
    /// </summary>
    public static void RunPython(int threads, int rounds, int steps, StepOptimizer optimizer = StepOptimizer.Adam)
    {
        string t = threads.ToString(CultureInfo.InvariantCulture);
        var psi = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { PythonScript, "--estimator", "stgs", "--threads", t, "--batch", "100" })
            psi.ArgumentList.Add(a);
        psi.Environment["OPENBLAS_NUM_THREADS"] = t;
        psi.Environment["OMP_NUM_THREADS"] = t;
        using var p = Process.Start(psi)!;
        string ready = p.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{PythonScript} did not start");
        var blas = ReadMappedBlas(p.Id);
        var ownBlas = ReadMappedBlas(Environment.ProcessId);
        string ownBlasName = ownBlas.Paths.Count == 0 ? "libtorch_cpu's own (MKL, statically linked)" : $"{ownBlas.Name}: {string.Join(", ", ownBlas.Paths)}";
        Console.WriteLine($"### MNIST-VAE 10x30 STGS step, {threads} thread(s) each: DiscreteGrad (TorchSharp) vs PyTorch peer ({PythonScript}, {ready})");
        Console.WriteLine($"peer BLAS: {blas.Name} ({(blas.Paths.Count == 0 ? "no BLAS library mapped" : string.Join(", ", blas.Paths))}); ours: {ownBlasName}");
        if (blas.Reference)
        {
            Console.WriteLine($"REFUSED: the peer loaded the reference BLAS, which would flatter us; install an optimised one (e.g. Debian's libopenblas0-pthread) and select it (update-alternatives --config libblas.so.3-x86_64-linux-gnu). No comparison at {threads} thread(s).");
            Console.WriteLine();
            p.StandardInput.WriteLine();
            p.WaitForExit();
            return;
        }
        int savedThreads = torch.get_num_threads();
        torch.set_num_threads(threads);
        try
        {
            using var ours = new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: optimizer);
            for (int i = 0; i < 20; i++) ours.Step();
            var usWall = new List<double>();
            var usCpu = new List<double>();
            var pyWall = new List<double>();
            var pyCpu = new List<double>();
            var proc = Process.GetCurrentProcess();
            for (int r = 0; r < rounds; r++)
                for (int half = 0; half < 2; half++)
                {
                    if ((half + r) % 2 == 0)
                    {
                        proc.Refresh();
                        var c0 = proc.TotalProcessorTime;
                        var sw = Stopwatch.StartNew();
                        for (int i = 0; i < steps; i++) ours.Step();
                        usWall.Add(sw.Elapsed.TotalSeconds);
                        proc.Refresh();
                        usCpu.Add((proc.TotalProcessorTime - c0).TotalSeconds);
                    }
                    else
                    {
                        p.StandardInput.WriteLine(steps.ToString(CultureInfo.InvariantCulture));
                        p.StandardInput.Flush();
                        var parts = p.StandardOutput.ReadLine()!.Split(' ');
                        pyWall.Add(double.Parse(parts[0], CultureInfo.InvariantCulture));
                        pyCpu.Add(double.Parse(parts[1], CultureInfo.InvariantCulture));
                    }
                }
            var wallRatios = Enumerable.Range(0, rounds).Select(r => pyWall[r] / usWall[r]).ToList();
            var cpuRatios = Enumerable.Range(0, rounds).Select(r => pyCpu[r] / usCpu[r]).ToList();
            static string Rate(List<double> secs, int n) =>
                $"{Interleaved.Median(secs.Select(x => n / x)):F1} | {secs.Select(x => n / x).Min():F1}-{secs.Select(x => n / x).Max():F1}";
            Console.WriteLine($"{rounds} interleaved rounds of {steps} steps (order alternating); load {File.ReadAllText("/proc/loadavg").Trim()}");
            Console.WriteLine("| implementation | steps per wall second (median) | range | CPU ms per step (median, all threads) | steps per CPU second (median) |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            Console.WriteLine($"| DiscreteGrad (C#, TorchSharp 0.107, libtorch 2.10), {optimizer} | {Rate(usWall, steps)} | {Interleaved.Median(usCpu) * 1000 / steps:F2} | {Interleaved.Median(usCpu.Select(x => steps / x)):F1} |");
            Console.WriteLine($"| PyTorch peer ({ready.Replace("ready ", "", StringComparison.Ordinal)}, {blas.Name}) | {Rate(pyWall, steps)} | {Interleaved.Median(pyCpu) * 1000 / steps:F2} | {Interleaved.Median(pyCpu.Select(x => steps / x)):F1} |");
            Console.WriteLine();
            Console.WriteLine($"ratio DiscreteGrad / PyTorch at {threads} thread(s): steps per wall second {Interleaved.Median(wallRatios):F2} " +
                              $"(rounds: {string.Join(", ", wallRatios.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))}); " +
                              $"steps per CPU second {Interleaved.Median(cpuRatios):F2} (target: wall ratio >= 1.5)");
            Console.WriteLine();
        }
        finally
        {
            torch.set_num_threads(savedThreads);
            p.StandardInput.WriteLine();
            p.WaitForExit();
        }
    }
}
