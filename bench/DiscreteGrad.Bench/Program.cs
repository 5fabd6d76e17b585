using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using DiscreteGrad;
using DiscreteGrad.Bench;
using TorchSharp;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length > 0 && args[0] == "mem-child") return Memory.Child(args[1..]);
if (args.Length > 0 && args[0] == "eff-child") return EfficiencyBench.Child(args[1..]);
if (args.Length > 0 && args[0] == "vae-rss")
{
    VaeStepBench.Rss(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3], args[4],
        args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 100, args.Length > 6 ? args[6] : "task");
    return 0;
}
if (args.Length > 0 && args[0] == "vae-step-loop") { VaeStepBench.Loop(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args.Length > 3 ? args[3] : "default"); return 0; }
if (args.Length > 0 && args[0] == "scalar-race-child") return ScalarRaceBench.Child(args[1..]);
if (args.Length > 0 && args[0] == "listops-child") return ListOpsBench.Child(args[1..]);
if (args.Length > 0 && args[0] == "listops-train-child") return ListOpsTrainBench.Child(args[1..]);

var opts = Options.Parse(args);
torch.set_num_threads(opts.Threads);
Console.WriteLine($"# DiscreteGrad.Bench {string.Join(' ', args)}");
Console.WriteLine($"torch threads {torch.get_num_threads()}, tau {opts.Tau}, machine: {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine();

switch (opts.Command)
{
    case "bdn": RunBdn(opts); break;
    case "time": RunTime(opts); break;
    case "profile": RunProfile(opts); break;
    case "mem": RunMem(opts); break;
    case "grk": RunGrk(opts); break;
    case "check": Check.Run(); break;
    case "estimator-speed": EstimatorSpeedBench.Run(opts.Rounds, opts.BatchMs); break;
    case "solvers": SolverBench.Run(); break;
    case "imle": SolverBench.RunImle(opts.Rounds, opts.BatchMs); break;
    case "efficiency": EfficiencyBench.Run(opts.Threads, opts.Rounds, opts.BatchMs, opts.MemSteps, opts.PythonRounds, opts.PythonSteps); break;
    case "vae-step": VaeStepBench.Run(opts.Rounds, opts.BatchMs, opts.PythonRounds, opts.PythonSteps, opts.PythonThreads, opts.Parts, opts.HeapSteps); break;
    case "listops": ListOpsBench.Run(opts.Threads, opts.ListOpsSteps); break;
    case "listops-train": ListOpsTrainBench.Run(opts.Threads, opts.ListOpsTrainSteps, opts.ListOpsEval); break;
    case "scalar-race": ScalarRaceBench.Run(opts.RaceSeconds); break;
    case "all":
        RunTime(opts);
        RunProfile(opts);
        RunMem(opts);
        RunGrk(opts);
        break;
    default:
        Console.Error.WriteLine(Options.Usage);
        return 2;
}
Console.WriteLine($"load at end: {File.ReadAllText("/proc/loadavg").Trim()}");
return 0;

static void RunBdn(Options o)
{
    EstimatorBenchmarks.Threads = o.Threads;
    EstimatorBenchmarks.Tau = o.Tau;
    // In-process: BenchmarkDotNet's default toolchain would generate and build a new project whose copy of
    // libLibTorchSharp.so does not get this repository's libstdc++ compatibility step; in-process reuses this build.
    var job = Job.Default
        .WithToolchain(InProcessEmitToolchain.Instance)
        .WithLaunchCount(1)
        .WithWarmupCount(o.BdnWarmup)
        .WithIterationCount(o.BdnIterations)
        .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(o.BdnIterationMs));
    var config = DefaultConfig.Instance.AddJob(job.AsDefault())
        .AddColumn(BenchmarkDotNet.Columns.StatisticColumn.Median, BenchmarkDotNet.Columns.StatisticColumn.Min)
        .WithOptions(ConfigOptions.JoinSummary);
    BenchmarkRunner.Run<EstimatorBenchmarks>(config, o.Rest);
}

static void RunTime(Options o)
{
    Console.WriteLine($"## Forward + backward time, interleaved ({o.Rounds} rounds, ~{o.BatchMs} ms batches; GR-MCK K = 100)");
    foreach (var shape in o.Shapes)
    {
        using var w = new Workload(shape, o.Tau, 100);
        var variants = new[] { Variant.Softmax, Variant.GumbelSoftmax, Variant.StraightThroughGumbel, Variant.StraightThrough,
            Variant.ReinMax, Variant.GappedStraightThrough, Variant.GumbelRao };
        var items = variants.Select(v => (v.ToString(), (Action)(() => w.Step(v)))).ToList();
        PrintTime(shape, Interleaved.Run(items, o.Rounds, o.BatchMs));
    }
}

static void RunProfile(Options o)
{
    Console.WriteLine($"## Profile: components, and estimators with Guard.CheckFiniteLogits off ({o.Rounds} rounds)");
    foreach (var shape in o.Shapes)
    {
        using var w = new Workload(shape, o.Tau, 100);
        var items = new List<(string, Action)>
        {
            ("Softmax", () => w.Step(Variant.Softmax)),
            ("component: finite check (fwd)", () => w.Step(Variant.FiniteCheck)),
            ("component: Gumbel-max one-hot sample (fwd)", () => w.Step(Variant.OneHotSample)),
            ("component: softmax + log_softmax extras (fwd)", () => w.Step(Variant.ProbsAndLogProbs)),
            ("proposal: finite check by aminmax (fwd)", () => w.Step(Variant.FiniteCheckAminmax)),
            ("proposal: multinomial one-hot sample (fwd)", () => w.Step(Variant.MultinomialSample)),
            ("reference: hand-written Gumbel-softmax", () => w.Step(Variant.HandGumbelSoftmax)),
            ("reference: hand-written ST (Gumbel-max D)", () => w.Step(Variant.HandStraightThrough)),
        };
        foreach (var v in new[] { Variant.GumbelSoftmax, Variant.StraightThroughGumbel, Variant.StraightThrough, Variant.ReinMax, Variant.GappedStraightThrough })
        {
            items.Add((v.ToString(), () => w.Step(v)));
            items.Add((v + " (no finite check)", () =>
            {
                using (Guard.FiniteChecks(false)) w.Step(v);
            }));
        }
        PrintTime(shape, Interleaved.Run(items, o.Rounds, o.BatchMs));
    }
}

static void RunMem(Options o)
{
    Console.WriteLine($"## Peak resident memory (VmHWM) minus a baseline child (torch loaded, logits + w allocated); median of {o.MemRepeats} children, {o.MemSteps} steps each; GR-MCK K = 100");
    Console.WriteLine("default = glibc's dynamic mmap threshold; fixed = MALLOC_MMAP_THRESHOLD_=131072 (close to the live-tensor peak)");
    var variants = new[] { Variant.Softmax, Variant.GumbelSoftmax, Variant.StraightThroughGumbel, Variant.StraightThrough,
        Variant.ReinMax, Variant.GappedStraightThrough, Variant.GumbelRao };
    foreach (var shape in o.MemShapes)
    {
        var baseKb = new Dictionary<Memory.Malloc, long>();
        foreach (var m in Enum.GetValues<Memory.Malloc>())
            baseKb[m] = Memory.MedianPeak(Memory.BaselineName, shape, 100, o.MemSteps, o.Threads, o.Tau, o.MemRepeats, m);
        Console.WriteLine($"### {shape} (baseline child VmHWM: default {baseKb[Memory.Malloc.Default] / 1024.0:F1} MiB, fixed {baseKb[Memory.Malloc.FixedMmapThreshold] / 1024.0:F1} MiB; one [{shape}] fp32 tensor = {Numel(shape) * 4 / 1048576.0:F2} MiB)");
        Console.WriteLine("| variant | peak - baseline, default malloc (MiB) | peak - baseline, fixed mmap threshold (MiB) |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var v in variants)
        {
            var d = Enum.GetValues<Memory.Malloc>().Select(m =>
                (Memory.MedianPeak(v.ToString(), shape, 100, o.MemSteps, o.Threads, o.Tau, o.MemRepeats, m) - baseKb[m]) / 1024.0).ToArray();
            Console.WriteLine($"| {v} | {d[0]:F1} | {d[1]:F1} |");
        }
        Console.WriteLine();
    }
}

static void RunGrk(Options o)
{
    Console.WriteLine("## GR-MCK vs K: library (chunked) and bench-only naive version (autograd through [..., C, K])");
    Console.WriteLine($"time: interleaved with softmax ({o.Rounds} rounds, {o.GrkRoundsLarge} for K >= 1000); peak memory: VmHWM of a child ({o.MemSteps} steps; median of {o.MemRepeats} children, 1 for K >= 1000) minus the baseline child");
    foreach (var shape in o.Shapes)
    {
        var baseKb = new Dictionary<Memory.Malloc, long>();
        foreach (var m in Enum.GetValues<Memory.Malloc>())
            baseKb[m] = Memory.MedianPeak(Memory.BaselineName, shape, 10, o.MemSteps, o.Threads, o.Tau, o.MemRepeats, m);
        Console.WriteLine($"### {shape} (baseline child VmHWM: default {baseKb[Memory.Malloc.Default] / 1024.0:F1} MiB, fixed {baseKb[Memory.Malloc.FixedMmapThreshold] / 1024.0:F1} MiB)");
        Console.WriteLine("| K | [..., C, K] fp32 (MiB) | library ms | naive ms | library / softmax | naive / softmax | library peak MiB (default / fixed malloc) | naive peak MiB (default / fixed malloc) |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (int k in o.Ks)
        {
            bool large = k >= 1000;
            string Peak(Variant v) => string.Join(" / ", Enum.GetValues<Memory.Malloc>().Select(m =>
                ((Memory.MedianPeak(v.ToString(), shape, k, o.MemSteps, o.Threads, o.Tau, large ? 1 : o.MemRepeats, m) - baseKb[m]) / 1024.0).ToString("F0")));
            string lib = Peak(Variant.GumbelRao), naive = Peak(Variant.NaiveGumbelRao);
            using var w = new Workload(shape, o.Tau, k);
            var items = new List<(string, Action)>
            {
                ("Softmax", () => w.Step(Variant.Softmax)),
                ("GumbelRao", () => w.Step(Variant.GumbelRao)),
                ("NaiveGumbelRao", () => w.Step(Variant.NaiveGumbelRao)),
            };
            var r = Interleaved.Run(items, large ? o.GrkRoundsLarge : o.Rounds, o.BatchMs, warmup: large ? 0 : 3);
            Console.WriteLine($"| {k} | {Numel(shape) * k * 4 / 1048576.0:F1} | {r[1].MedianUs / 1000:F1} | {r[2].MedianUs / 1000:F1} | {r[1].MedianRatio:F0} | {r[2].MedianRatio:F0} | {lib} | {naive} |");
        }
        Console.WriteLine();
    }
}

static long Numel(Shape s) => s.Dims.Aggregate(1L, (a, b) => a * b);

static void PrintTime(Shape shape, List<Interleaved.Result> results)
{
    Console.WriteLine($"### {shape}");
    Console.WriteLine("| variant | median µs | min µs | ratio vs softmax (median of per-round ratios) |");
    Console.WriteLine("|---|---:|---:|---:|");
    foreach (var r in results)
        Console.WriteLine($"| {r.Name} | {r.MedianUs:F1} | {r.MinUs:F1} | {r.MedianRatio:F2} |");
    Console.WriteLine();
}

internal sealed class Options
{
    public const string Usage =
        "usage: DiscreteGrad.Bench <bdn|time|profile|mem|grk|all|check|solvers|imle|efficiency|estimator-speed|vae-step|listops|listops-train|scalar-race> [--threads N] [--tau T] [--rounds R] [--batch-ms MS]\n" +
        "       [--mem-repeats N] [--mem-steps N] [--ks 10,100,1000] [--shapes 512x128x2,100x30x10] [--grk-rounds-large R]\n" +
        "       [--bdn-warmup N] [--bdn-iterations N] [--bdn-iteration-ms MS] [--python-rounds R] [--python-steps N] [--python-threads 1,2] [--parts 0|1] [--heap-steps N]\n" +
        "       [--listops-steps N] [--listops-train-steps N] [--listops-eval DEV,TEST[,EXTRAPOLATION]] [--race-seconds S]\n" +
        "       [-- <BenchmarkDotNet args>]";

    public string Command = "";
    public int Threads = 1;
    public double Tau = 0.5;
    public int Rounds = 15;
    public double BatchMs = 60;
    public int MemRepeats = 3;
    public int MemSteps = 2;
    public int[] Ks = [10, 100, 1000];
    public Shape[] Shapes = Shape.All;
    /// <summary>The mem table adds a tiny shape: its deltas are the floor (JIT, autograd engine, allocator) of each variant.</summary>
    public Shape[] MemShapes = [.. Shape.All, new Shape([4, 2])];
    public int GrkRoundsLarge = 3;
    public int BdnWarmup = 3;
    public int BdnIterations = 15;
    public int BdnIterationMs = 250;
    public string[] Rest = [];
    /// <summary>efficiency: interleaved rounds against the PyTorch peer (0: skip it) and VAE steps per round.</summary>
    public int PythonRounds = 7;
    public int PythonSteps = 20;
    /// <summary>vae-step: thread counts of the comparisons with the PyTorch peer (both sides at each).</summary>
    public string PythonThreads = "1,2";
    /// <summary>vae-step: also time the forward's pieces alone.</summary>
    public bool Parts;
    /// <summary>vae-step: steps per child of the malloc-policy comparison (0 skips it).</summary>
    public int HeapSteps = 300;
    /// <summary>listops: timed steps per configuration (after one warm-up).</summary>
    public int ListOpsSteps = 3;
    /// <summary>listops-train: steps of epoch 0 per configuration.</summary>
    public int ListOpsTrainSteps = 40;
    /// <summary>listops-train: expressions of the evaluation (dev, test[, each extrapolation set]).</summary>
    public string ListOpsEval = "2000,2000,1000";
    /// <summary>scalar-race: seconds per child.</summary>
    public double RaceSeconds = 20;

    public static Options Parse(string[] args)
    {
        var o = new Options { Command = args.Length > 0 ? args[0] : "" };
        for (int i = 1; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--") { o.Rest = args[(i + 1)..]; break; }
            string v = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "--threads": o.Threads = int.Parse(v); break;
                case "--race-seconds": o.RaceSeconds = double.Parse(v, CultureInfo.InvariantCulture); break;
                case "--tau": o.Tau = double.Parse(v, CultureInfo.InvariantCulture); break;
                case "--rounds": o.Rounds = int.Parse(v); break;
                case "--batch-ms": o.BatchMs = double.Parse(v, CultureInfo.InvariantCulture); break;
                case "--mem-repeats": o.MemRepeats = int.Parse(v); break;
                case "--mem-steps": o.MemSteps = int.Parse(v); break;
                case "--shapes": o.Shapes = o.MemShapes = v.Split(',').Select(Shape.Parse).ToArray(); break;
                case "--ks": o.Ks = v.Split(',').Select(int.Parse).ToArray(); break;
                case "--grk-rounds-large": o.GrkRoundsLarge = int.Parse(v); break;
                case "--bdn-warmup": o.BdnWarmup = int.Parse(v); break;
                case "--bdn-iterations": o.BdnIterations = int.Parse(v); break;
                case "--bdn-iteration-ms": o.BdnIterationMs = int.Parse(v); break;
                case "--python-rounds": o.PythonRounds = int.Parse(v); break;
                case "--python-steps": o.PythonSteps = int.Parse(v); break;
                case "--python-threads": o.PythonThreads = v; break;
                case "--parts": o.Parts = v == "1" || v == "true"; break;
                case "--heap-steps": o.HeapSteps = int.Parse(v); break;
                case "--listops-steps": o.ListOpsSteps = int.Parse(v); break;
                case "--listops-train-steps": o.ListOpsTrainSteps = int.Parse(v); break;
                case "--listops-eval": o.ListOpsEval = v; break;
                default: throw new ArgumentException($"unknown option {a}\n{Usage}");
            }
        }
        return o;
    }
}
