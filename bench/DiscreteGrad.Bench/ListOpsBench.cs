using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.ListOps;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Bench;

/// <summary>
/// `listops` command: seconds per training step (forward, backward, Adam 1e-3) and peak resident memory of the two ListOps
/// models at the reference sizes, on random token ids of full length (both models cost what the longest sequence of a
/// batch costs, so full length is the worst case of "up to L tokens"). DCCG (nec-research/dccg run_listops.py): batch 100,
/// d = 60, 5 rounds, L = 50, training mode with the relaxed Gumbel-softmax, beta = 1 and DropRes alpha = 0.5. Gumbel
/// Tree-LSTM (ReinMax's listops): batch 16, L = 100, word, hidden and classifier width 300 (also 150 and 100), leaf LSTM,
/// dropout 0.5. Each configuration runs in a child process (this executable with <c>listops-child</c>): one warm-up step,
/// then the timed steps; it prints the median wall and process-CPU seconds per step, and its VmHWM (peak RSS) after the
/// steps and after building the model and batch alone. Every configuration runs twice: with glibc's default malloc, and
/// with <see cref="KeepOnHeap"/>, which keeps large blocks on the heap for reuse. The DCCG step allocates many
/// [B, L, L, d] tensors of 60 MB, above glibc's largest dynamic mmap threshold (32 MiB), so by default each is mapped and
/// unmapped afresh and its pages faulted in again (system time).
/// </summary>
public static class ListOpsBench
{
    /// <summary>Label and factory of every configuration.</summary>
    public static IReadOnlyList<(string Label, Func<IStepper> Make)> Cases { get; } =
    [
        ("DCCG discrete (B 100, d 60, L 50, 5 rounds)", () => new DccgStepper(DccgListOpsVariant.Discrete)),
        ("DCCG continuous baseline (B 100, d 60, L 50)", () => new DccgStepper(DccgListOpsVariant.Continuous)),
        ("Tree-LSTM 300, ReinMax (B 16, L 100)", () => new TreeStepper(300, EstimatorKind.ReinMax)),
        ("Tree-LSTM 300, STGS", () => new TreeStepper(300, EstimatorKind.StraightThroughGumbel)),
        ("Tree-LSTM 300, GST-1.0", () => new TreeStepper(300, EstimatorKind.GappedStraightThrough)),
        ("Tree-LSTM 300, ST", () => new TreeStepper(300, EstimatorKind.StraightThrough)),
        ("Tree-LSTM 300, GR-MCK K = 100", () => new TreeStepper(300, EstimatorKind.GumbelRao)),
        ("Tree-LSTM 150, ReinMax", () => new TreeStepper(150, EstimatorKind.ReinMax)),
        ("Tree-LSTM 100, ReinMax", () => new TreeStepper(100, EstimatorKind.ReinMax)),
    ];

    /// <summary>glibc settings that keep freed large blocks on the heap instead of unmapping them.</summary>
    public static readonly (string Name, string Value)[] KeepOnHeap =
        [("MALLOC_MMAP_THRESHOLD_", "4294967296"), ("MALLOC_TRIM_THRESHOLD_", "17179869184")];

    /// <summary>Child entry point: args = case index, timed steps, threads. Prints one "RESULT wall cpu built_kB peak_kB" line.</summary>
    public static int Child(string[] args)
    {
        int index = int.Parse(args[0], CultureInfo.InvariantCulture);
        int steps = int.Parse(args[1], CultureInfo.InvariantCulture);
        torch.set_num_threads(int.Parse(args[2], CultureInfo.InvariantCulture));
        using var s = Cases[index].Make();
        long builtKb = Memory.ReadStatusKb("VmHWM");
        var proc = Process.GetCurrentProcess();
        s.Step();
        var wall = new List<double>();
        var cpu = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            s.Step();
            wall.Add(sw.Elapsed.TotalSeconds);
            proc.Refresh();
            cpu.Add((proc.TotalProcessorTime - c0).TotalSeconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {Interleaved.Median(wall):R} {Interleaved.Median(cpu):R} {builtKb} {Memory.ReadStatusKb("VmHWM")}"));
        return 0;
    }

    public static void Run(int threads, int steps)
    {
        Console.WriteLine($"## ListOps models: one training step (forward + backward + Adam), {threads} libtorch thread(s), median of {steps} steps after one warm-up");
        Console.WriteLine($"Each cell: glibc's default malloc (in brackets: {string.Join(" ", KeepOnHeap.Select(e => $"{e.Name}={e.Value}"))}).");
        Console.WriteLine("| configuration | wall s / step | CPU s / step | peak RSS (MiB) | RSS after building (MiB) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        for (int i = 0; i < Cases.Count; i++)
        {
            var d = RunChild(i, steps, threads, false);
            var k = RunChild(i, steps, threads, true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Cases[i].Label} | {d.Wall:F2} ({k.Wall:F2}) | {d.Cpu:F2} ({k.Cpu:F2}) | {d.PeakMiB:F0} ({k.PeakMiB:F0}) | {d.BuiltMiB:F0} |"));
        }
        Console.WriteLine();
    }

    private static (double Wall, double Cpu, double BuiltMiB, double PeakMiB) RunChild(int index, int steps, int threads, bool keepOnHeap)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "listops-child", index.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture),
                     threads.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (keepOnHeap)
            foreach (var (name, value) in KeepOnHeap) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException($"child {index} failed: {error.Result}");
        var f = line.Split(' ');
        return (double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture),
            long.Parse(f[3], CultureInfo.InvariantCulture) / 1024.0, long.Parse(f[4], CultureInfo.InvariantCulture) / 1024.0);
    }

    private sealed class DccgStepper : IStepper
    {
        private readonly DccgListOpsModel _model;
        private readonly torch.optim.Optimizer _opt;
        private readonly Tensor _tokens, _targets;

        public DccgStepper(DccgListOpsVariant variant)
        {
            torch.manual_seed(1);
            var gen = new Generator(1);
            _model = new DccgListOpsModel(new DccgListOpsOptions { Variant = variant }, gen);
            _model.Alpha = 0.5;
            _model.train();
            _opt = torch.optim.Adam(_model.parameters(), 1e-3);
            _tokens = torch.randint(0, 14, new long[] { 100, 50 }, generator: gen);
            _tokens[TensorIndex.Colon, 0] = torch.randint(1, 4, new long[] { 100 }, generator: gen);
            _targets = torch.randint(0, 10, new long[] { 100 }, generator: gen);
        }

        public void Step()
        {
            using var scope = torch.NewDisposeScope();
            _opt.zero_grad();
            var loss = nn.functional.cross_entropy(_model.forward(_tokens), _targets, reduction: nn.Reduction.Sum);
            loss.backward();
            _opt.step();
        }

        public void Dispose() { _opt.Dispose(); _model.Dispose(); }
    }

    private sealed class TreeStepper : IStepper
    {
        private readonly GumbelTreeLstmClassifier _model;
        private readonly torch.optim.Optimizer _opt;
        private readonly Tensor _tokens, _targets;

        public TreeStepper(int dim, EstimatorKind kind)
        {
            torch.manual_seed(1);
            var gen = new Generator(1);
            _model = new GumbelTreeLstmClassifier(new GumbelTreeLstmOptions
            {
                WordDim = dim, HiddenDim = dim, ClassifierHiddenDim = dim, Estimator = kind,
            }, gen);
            _model.train();
            _opt = torch.optim.Adam(_model.parameters(), 1e-3);
            _tokens = torch.randint(0, 15, new long[] { 16, 100 }, generator: gen);
            _targets = torch.randint(0, 10, new long[] { 16 }, generator: gen);
        }

        public void Step()
        {
            using var scope = torch.NewDisposeScope();
            _opt.zero_grad();
            var loss = nn.functional.cross_entropy(_model.forward(_tokens), _targets);
            loss.backward();
            _opt.step();
        }

        public void Dispose() { _opt.Dispose(); _model.Dispose(); }
    }
}
