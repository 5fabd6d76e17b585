using System.Globalization;
using DiscreteGrad.Experiments.Vae;

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Bench;

/// <summary>The optimiser of a benchmarked VAE step.</summary>
public enum StepOptimizer
{
    /// <summary>DiscreteGrad.Optim.Adam (fused; what the VAE tasks use).</summary>
    Adam,
    /// <summary>TorchSharp's torch.optim.Adam (tensor ops; what the tasks used before).</summary>
    TorchSharpAdam,
    /// <summary>TorchSharp's SGD (one kernel per parameter).</summary>
    Sgd,
    /// <summary>No update: forward and backward only, the gradients released after each step.</summary>
    None,
}

/// <summary>
/// The 17 matrix products of one VAE 10x30 training step alone, on preallocated outputs (addmm_ with beta = 0, i.e. one
/// GEMM each): forward y = x W^T for the six layers (784-512-256-300 | 300-256-512-784, batch 100), backward dW = dy^T x
/// for all six and dx = dy W for the five whose input needs a gradient. The floor of the step's time: what the step does
/// besides these products is overhead.
/// </summary>
public sealed class VaeGemms : IStepper
{
    private static readonly int[] Widths = { CategoricalVae.Pixels, 512, 256, 300, 256, 512, CategoricalVae.Pixels };
    private readonly Tensor[] _w, _dw, _act, _dAct;

    public VaeGemms(int batch = 100)
    {
        var gen = new Generator(3);
        int layers = Widths.Length - 1;
        _w = new Tensor[layers];
        _dw = new Tensor[layers];
        _act = new Tensor[layers + 1];
        _dAct = new Tensor[layers + 1];
        for (int i = 0; i <= layers; i++)
        {
            _act[i] = torch.randn(new long[] { batch, Widths[i] }, generator: gen).DetachFromDisposeScope();
            _dAct[i] = torch.randn(new long[] { batch, Widths[i] }, generator: gen).DetachFromDisposeScope();
        }
        for (int i = 0; i < layers; i++)
        {
            _w[i] = (torch.randn(new long[] { Widths[i + 1], Widths[i] }, generator: gen) * 0.05).DetachFromDisposeScope();
            _dw[i] = torch.empty(Widths[i + 1], Widths[i]).DetachFromDisposeScope();
        }
    }

    /// <summary>Multiply-adds of one step.</summary>
    public long MultiplyAdds
    {
        get
        {
            long s = 0;
            for (int i = 0; i < _w.Length; i++)
                s += _act[0].shape[0] * Widths[i] * Widths[i + 1] * (i == 0 ? 2 : 3);
            return s;
        }
    }

    public void Step()
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        for (int i = 0; i < _w.Length; i++) _act[i + 1].addmm_(_act[i], _w[i].t(), beta: 0, alpha: 1);
        for (int i = _w.Length - 1; i >= 0; i--)
        {
            _dw[i].addmm_(_dAct[i + 1].t(), _act[i], beta: 0, alpha: 1);
            if (i > 0) _dAct[i].addmm_(_dAct[i + 1], _w[i], beta: 0, alpha: 1);
        }
    }

    public void Dispose()
    {
        foreach (var t in _w.Concat(_dw).Concat(_act).Concat(_dAct)) t.Dispose();
    }
}

/// <summary>
/// `vae-step` command (issue 15): the VAE 10x30 STGS training step next to the floor of its matrix products, and against
/// the PyTorch peer at 1 and 2 threads. Part 1 interleaves, in one process at 1 libtorch thread, the GEMMs alone
/// (<see cref="VaeGemms"/>), the forward pass alone, forward + backward, and the full step with DiscreteGrad.Optim.Adam
/// (the tasks' optimiser), TorchSharp's Adam (before) and SGD; CPU and wall time per step, and the ratio of each to the
/// GEMMs (median of per-round ratios). Part 2 runs <c>bench/python/vae_10x30.py</c> as a persistent child at 1 and then 2
/// threads (torch.set_num_threads and OPENBLAS_NUM_THREADS) and alternates rounds between it and our step at the same
/// thread count: steps per wall second and per CPU second of each and their ratios. The child reports the BLAS library it
/// mapped (from /proc/self/maps); a child on the reference BLAS is refused (no comparison is printed).
/// </summary>
public static class VaeStepBench
{
    public static void Run(int rounds, double batchMs, int pythonRounds, int pythonSteps, string threadList, bool parts, int heapSteps)
    {
        // The malloc policy of training runs (ExperimentRunner applies it), first, before the heap has grown.
        bool kept = DiscreteGrad.Experiments.Runner.NativeHeap.KeepFreedBlocks();
        torch.set_num_threads(1);
        Console.WriteLine("## VAE 10x30 STGS training step vs its GEMMs (1 libtorch thread), and vs the PyTorch peer");
        Console.WriteLine($"native heap: {(kept ? $"kept (NativeHeap.KeepFreedBlocks: M_MMAP_THRESHOLD {DiscreteGrad.Experiments.Runner.NativeHeap.MmapThresholdBytes >> 20} MiB, M_TRIM_THRESHOLD {DiscreteGrad.Experiments.Runner.NativeHeap.TrimThresholdBytes >> 20} MiB, as ExperimentRunner sets)" : "glibc default (KeepFreedBlocks did not apply)")}");
        var (gemmMs, fullMs, ratio) = RunBreakdown(rounds, batchMs);
        Console.WriteLine($"RESULT GEMMs only {gemmMs:F2} ms, full step (DiscreteGrad.Optim.Adam) {fullMs:F2} ms of CPU (medians): " +
                          $"ratio {ratio:F2} (median of the per-round ratios; target <= 1.3)");
        Console.WriteLine();
        if (parts) RunParts(rounds, batchMs);
        if (heapSteps > 0) RunHeapPolicies(heapSteps);
        if (pythonRounds <= 0) return;
        foreach (int threads in threadList.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
            EfficiencyBench.RunPython(threads, pythonRounds, pythonSteps, StepOptimizer.Adam);
    }

    /// <summary>
    /// glibc's default malloc policy against <see cref="DiscreteGrad.Experiments.Runner.NativeHeap.KeepFreedBlocks"/>: the
    /// policy is process-wide and depends on the allocation history (the default's mmap threshold rises with the blocks
    /// freed), so each measurement is a fresh child process that runs only the full step (DiscreteGrad.Optim.Adam), three
    /// children per policy, alternating; CPU ms and minor page faults per step, medians.
    /// </summary>
    private static void RunHeapPolicies(int steps)
    {
        var results = new Dictionary<string, List<(double Cpu, double Faults)>> { ["default"] = new(), ["kept"] = new() };
        for (int rep = 0; rep < 3; rep++)
            foreach (var malloc in new[] { "default", "kept" })
            {
                var psi = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
                foreach (var a in new[] { "vae-step-loop", "adam", steps.ToString(CultureInfo.InvariantCulture), malloc }) psi.ArgumentList.Add(a);
                using var p = System.Diagnostics.Process.Start(psi)!;
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                var line = output.Split('\n').First(l => l.StartsWith("RESULT ", StringComparison.Ordinal)).Split(' ');
                results[malloc].Add((double.Parse(line[1], CultureInfo.InvariantCulture), double.Parse(line[3], CultureInfo.InvariantCulture)));
            }
        Console.WriteLine($"Native heap policy: the full step alone in fresh child processes ({steps} steps after 5 warm-up, 3 children per policy, alternating)");
        Console.WriteLine("| malloc policy | CPU ms / step (median) | runs | minor page faults / step (median) |");
        Console.WriteLine("|---|---:|---|---:|");
        foreach (var (k, v) in results)
            Console.WriteLine($"| {(k == "kept" ? "NativeHeap.KeepFreedBlocks" : "glibc default")} | {Interleaved.Median(v.Select(x => x.Cpu)):F2} | " +
                              $"{string.Join(", ", v.Select(x => x.Cpu.ToString("F2", CultureInfo.InvariantCulture)))} | {Interleaved.Median(v.Select(x => x.Faults)):F0} |");
        Console.WriteLine();
    }

    /// <summary>Minor page faults of this process so far (field 10 of /proc/self/stat).</summary>
    private static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }

    /// <summary>`vae-step-loop VARIANT STEPS [default|kept]` (also for a profiler): runs one variant of the breakdown STEPS
    /// times at 1 thread under the given malloc policy and prints "RESULT cpu-ms wall-ms page-faults" per step;
    /// VARIANT = gemms, forward, fwd-bwd, adam, torchsharp-adam, sgd, adam-update (only the optimiser's step, gradients kept),
    /// torchsharp-adam-update.</summary>
    public static void Loop(string variant, int steps, string malloc = "default")
    {
        if (malloc == "kept" && !DiscreteGrad.Experiments.Runner.NativeHeap.KeepFreedBlocks())
            throw new InvalidOperationException("NativeHeap.KeepFreedBlocks did not apply");
        torch.set_num_threads(1);
        IStepper s = variant switch
        {
            "gemms" => new VaeGemms(),
            "forward" => new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.None, forwardOnly: true),
            "fwd-bwd" => new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.None),
            "adam" => new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.Adam),
            "torchsharp-adam" => new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.TorchSharpAdam),
            "sgd" => new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.Sgd),
            "adam-update" => new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.Adam, updateOnly: true),
            "torchsharp-adam-update" => new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.TorchSharpAdam, updateOnly: true),
            _ => throw new ArgumentException($"unknown variant {variant}", nameof(variant)),
        };
        for (int i = 0; i < 5; i++) s.Step();
        long f0 = MinorFaults();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var c0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        for (int i = 0; i < steps; i++) s.Step();
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - c0;
        double faults = (MinorFaults() - f0) / (double)steps;
        Console.WriteLine($"RESULT {cpu.TotalMilliseconds / steps:F3} {sw.Elapsed.TotalMilliseconds / steps:F3} {faults:F1}");
        Console.WriteLine($"{variant}: {sw.Elapsed.TotalMilliseconds / steps:F3} wall ms, {cpu.TotalMilliseconds / steps:F3} CPU ms per step; " +
                          $"VmRSS {DiscreteGrad.Experiments.Runner.ExperimentRunner.ResidentMegabytes():F0} MiB, managed {GC.GetTotalMemory(false) / 1048576.0:F1} MiB, gen0 GCs {GC.CollectionCount(0)}");
        s.Dispose();
    }

    /// <summary>
    /// `vae-rss ESTIMATOR STEPS COLLECT MALLOC [K] [OPTIMIZER]`: the resident memory of a VAE 10x30 training loop as the
    /// experiment runner drives it (one DisposeScope per step, 1 thread): OPTIMIZER = task (default: VaeTask.TrainStep on
    /// synthetic U(0, 1) images, with the task's optimiser) or torchsharp-adam (the bench's VaeStepper with TorchSharp's
    /// Adam, as the tasks that still use it). COLLECT = 0 (never), N (GC.Collect() + WaitForPendingFinalizers every N steps,
    /// what the runner did before), gen0:N (a gen-0 collection every N steps, then waiting for the finalisers) or gen0nowait:N
    /// (a gen-0 collection every N steps without waiting: what the runner does now); MALLOC = default | kept
    /// (<see cref="DiscreteGrad.Experiments.Runner.NativeHeap.KeepFreedBlocks"/>). Prints VmRSS, the managed heap, the live
    /// tensors, the GC counts and the time spent in the forced collections every max(100, STEPS / 20) steps, and the RSS
    /// growth from step 1000 to the end.
    /// </summary>
    public static void Rss(string estimator, int steps, string collect, string malloc, int k, string optimizer)
    {
        torch.set_num_threads(1);
        if (malloc == "kept" && !DiscreteGrad.Experiments.Runner.NativeHeap.KeepFreedBlocks())
            throw new InvalidOperationException("NativeHeap.KeepFreedBlocks did not apply");
        bool gen0 = collect.StartsWith("gen0:", StringComparison.Ordinal);
        bool noWait = collect.StartsWith("gen0nowait:", StringComparison.Ordinal);
        int collectEvery = int.Parse(noWait ? collect[11..] : gen0 ? collect[5..] : collect, CultureInfo.InvariantCulture);
        var e = VaeEstimators.All.First(x => VaeEstimators.Key(x) == estimator);
        Action<long> step;
        IDisposable owner;
        if (optimizer == "torchsharp-adam")
        {
            var stepper = new VaeStepper(e, k, optimizer: StepOptimizer.TorchSharpAdam);
            step = _ => stepper.Step();
            owner = stepper;
        }
        else
        {
            var config = new VaeConfig { Categories = 10, Latents = 30, Estimator = e, GumbelRaoK = k, TrainExamples = 10_000, TestExamples = 100,
                Epochs = Math.Max(1, steps / 100 + 1) };
            var gen = new Generator(99);
            var task = new VaeTask(config, new VaeData(torch.rand(10_000, CategoricalVae.Pixels, generator: gen), torch.rand(100, CategoricalVae.Pixels, generator: gen)), ownsData: true);
            step = i => { using (torch.NewDisposeScope()) task.TrainStep(i); };
            owner = task;
        }
        Console.WriteLine($"vae-rss {estimator} (K {k}), {optimizer}, {steps} steps, forced collection: {(collectEvery > 0 ? $"{(noWait ? "gen 0 without waiting for the finalisers (the runner's)" : gen0 ? "gen 0" : "full")} every {collectEvery} steps" : "never")}, malloc {malloc}");
        Console.WriteLine("| step | VmRSS MiB | managed heap MiB | live tensors | GC gen0/gen1/gen2 | ms in forced collections per step | s |");
        Console.WriteLine("|---:|---:|---:|---:|---|---:|---:|");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var inCollect = new System.Diagnostics.Stopwatch();
        double rss1k = double.NaN, rss = double.NaN;
        int every = Math.Max(100, steps / 20 / 100 * 100);
        for (int i = 0; i < steps; i++)
        {
            step(i);
            if (collectEvery > 0 && (i + 1) % collectEvery == 0)
            {
                inCollect.Start();
                if (gen0 || noWait) GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                else GC.Collect();
                if (!noWait) GC.WaitForPendingFinalizers();
                inCollect.Stop();
            }
            if ((i + 1) % every == 0 || i + 1 == steps)
            {
                rss = DiscreteGrad.Experiments.Runner.ExperimentRunner.ResidentMegabytes();
                if (i + 1 == 1000) rss1k = rss;
                Console.WriteLine($"| {i + 1} | {rss:F1} | {GC.GetTotalMemory(false) / 1048576.0:F1} | {DisposeScopeManager.Statistics.ThreadTotalLiveCount} | " +
                                  $"{GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} | {inCollect.Elapsed.TotalMilliseconds / (i + 1):F3} | {sw.Elapsed.TotalSeconds:F0} |");
            }
        }
        owner.Dispose();
        Console.WriteLine($"RSS growth from step 1000 to {steps}: {(rss / rss1k - 1) * 100:F2} % (target < 5 %)");
    }

    /// <summary>
    /// The forward's pieces alone (1 thread, interleaved, CPU time; each with autograd recording unless marked no_grad):
    /// what the step spends besides its GEMMs.
    /// </summary>
    private static void RunParts(int rounds, double batchMs)
    {
        torch.manual_seed(1);
        var gen = new Generator(5);
        using var vae = new CategoricalVae(10, 30);
        using var x = torch.rand(new long[] { 100, CategoricalVae.Pixels }, generator: gen);
        using var theta = (torch.randn(new long[] { 100, 30, 10 }, generator: gen)).requires_grad_(true);
        using var z = DiscreteGrad.ScoreFunction.Samples.Categorical(theta.detach(), null, gen).requires_grad_(true);
        using var small = torch.randn(new long[] { 100 }, generator: gen).requires_grad_(true);
        var options = new DiscreteGrad.Estimators.EstimatorOptions(Tau: 1.0);
        void Scoped(Action a) { using var scope = torch.NewDisposeScope(); a(); }
        var items = new List<(string, Action)>
        {
            ("encoder forward (3 addmm, 2 relu)", () => Scoped(() => vae.EncoderLogits(x))),
            ("encoder forward, no_grad", () => Scoped(() => { using var _ = torch.no_grad(); vae.EncoderLogits(x); })),
            ("KL to uniform [100, 30, 10] (KlToUniform: finite check, log_softmax, exp, mul, sum)", () => Scoped(() => CategoricalVae.KlToUniform(theta))),
            ("STGS sample [100, 30, 10] (Categorical.Sample)", () => Scoped(() => DiscreteGrad.Estimators.Categorical.Sample(theta, DiscreteGrad.Estimators.EstimatorKind.StraightThroughGumbel, options, generator: gen))),
            ("Gumbel noise [100, 30, 10] alone (Gumbel.SampleLike: exponential_, clamp, log, neg)", () => Scoped(() => DiscreteGrad.Sampling.Gumbel.SampleLike(theta, 1.0, gen))),
            ("for comparison: -log(-log U), U = torch.rand [100, 30, 10] (another random stream)", () => Scoped(() => torch.rand(theta.shape, generator: gen).log_().neg_().log_().neg_())),
            ("log_softmax over the last dim (10) of [100, 30, 10], no_grad", () => Scoped(() => { using var ng = torch.no_grad(); theta.log_softmax(-1); })),
            ("log_softmax over dim 1 of a [100, 10, 30] copy, no_grad", () => Scoped(() => { using var ng = torch.no_grad(); theta.transpose(1, 2).log_softmax(1); })),
            ("KL forward + backward, log_softmax over the last dim (the formula before)", () => Scoped(() => { var lq = theta.log_softmax(-1); ((lq.exp() * lq).sum(new long[] { -1, -2 }) + 30 * Math.Log(10)).sum().backward(); })),
            ("KL forward + backward, CategoricalVae.KlToUniform (after: [.., C, L] layout)", () => Scoped(() => CategoricalVae.KlToUniform(theta).sum().backward())),
            ("decoder forward + BCE (3 addmm, 2 relu, softplus, mul, sub, sum)", () => Scoped(() => vae.Bce(z, x))),
            ("100 tiny ops (t + 1 on [100]), no_grad", () => Scoped(() => { using var ng = torch.no_grad(); for (int i = 0; i < 100; i++) _ = small + 1.0; })),
            ("100 tiny ops (t + 1 on [100]), recorded by autograd", () => Scoped(() => { for (int i = 0; i < 100; i++) _ = small + 1.0; })),
        };
        var t = EfficiencyBench.TimeInterleaved(items, rounds, batchMs);
        Console.WriteLine("Forward pieces alone (interleaved as above):");
        Console.WriteLine("| piece | CPU ms | wall ms |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var r in t) Console.WriteLine($"| {r.Label} | {r.CpuMs:F3} | {r.WallMs:F3} |");
        Console.WriteLine();
    }

    private static (double GemmMs, double FullMs, double Ratio) RunBreakdown(int rounds, double batchMs)
    {
        using var gemms = new VaeGemms();
        using var forward = new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.None, forwardOnly: true);
        using var fwdBwd = new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.None);
        using var ours = new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.Adam);
        using var before = new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.TorchSharpAdam);
        using var sgd = new VaeStepper(VaeEstimator.StraightThroughGumbel, optimizer: StepOptimizer.Sgd);
        var items = new List<(string, Action)>
        {
            ("GEMMs only (17 products, preallocated outputs)", gemms.Step),
            ("forward only (no_grad)", forward.Step),
            ("forward + backward (no optimizer)", fwdBwd.Step),
            ("full step, DiscreteGrad.Optim.Adam (after)", ours.Step),
            ("full step, TorchSharp Adam (before)", before.Step),
            ("full step, TorchSharp SGD", sgd.Step),
        };
        var t = EfficiencyBench.TimeInterleaved(items, rounds, batchMs);
        var faults = new long[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            long f0 = MinorFaults();
            for (int j = 0; j < 20; j++) items[i].Item2();
            faults[i] = (MinorFaults() - f0) / 20;
        }
        double gflop = 2.0 * gemms.MultiplyAdds / 1e9;
        Console.WriteLine($"{rounds} interleaved rounds of ~{batchMs} ms-of-CPU batches per variant; {gflop:F3} GFLOP of GEMMs per step ({gflop / (t[0].CpuMs / 1000):F0} GFLOP/s in the GEMMs-only variant)");
        Console.WriteLine("| variant | CPU ms / step | wall ms / step | CPU time / GEMMs only (median of per-round ratios) | minor page faults / step |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        for (int i = 0; i < t.Count; i++)
            Console.WriteLine($"| {t[i].Label} | {t[i].CpuMs:F2} | {t[i].WallMs:F2} | {t[i].CpuRatio:F2} | {faults[i]} |");
        Console.WriteLine();
        return (t[0].CpuMs, t[3].CpuMs, t[3].CpuRatio);
    }
}
