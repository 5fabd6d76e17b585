using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Experiments.ListOps;
using DiscreteGrad.Experiments.Runner;
using TorchSharp;

namespace DiscreteGrad.Bench;

/// <summary>
/// `listops-train` command: the cost of the real training tasks of the <c>listops</c> (DCCG) and <c>listops-reinmax</c>
/// (Gumbel Tree-LSTM) experiments, with their generated data and length-bucketed batches, for the protocol of a grid.
/// Each configuration (the experiment's settings, as on its command line) runs in a child process
/// (<c>listops-train-child</c>): it builds the task as a cell does (data generation included), runs N steps of epoch 0
/// stratified by batch length (the epoch's steps sorted by their batch's length, every (S / N)-th of them, so that the
/// sample's mean cost estimates the epoch's: the models' cost grows with L^2) and one evaluation, and prints the mean wall
/// and process-CPU seconds per step, the evaluation's seconds, the steps per epoch S, the sample's and the epoch's mean
/// squared batch length, and VmHWM (peak RSS) at the end.
/// </summary>
public static class ListOpsTrainBench
{
    /// <summary>(label, experiment, settings as "option=value;..." , glibc keep-on-heap) of every configuration.</summary>
    public static IReadOnlyList<(string Label, string Experiment, string Settings, bool KeepOnHeap)> Cases { get; } =
    [
        ("DCCG TM + DropRes, reference sizes (B 100, d 60, 5 rounds, 90000 train)", "listops", "schemes=tempmatch-dropres", false),
        ("DCCG TM + DropRes, reference sizes, large blocks kept on the heap", "listops", "schemes=tempmatch-dropres", true),
        ("DCCG continuous, reference sizes", "listops", "schemes=continuous", false),
        ("DCCG base, reference sizes", "listops", "schemes=base", false),
        ("Tree-LSTM ReinMax, reference sizes (B 16, width 300, length <= 99)", "listops-reinmax", "estimators=reinmax", false),
        ("Tree-LSTM ReinMax, width 150", "listops-reinmax", "estimators=reinmax;dim=150", false),
        ("Tree-LSTM ReinMax, width 100", "listops-reinmax", "estimators=reinmax;dim=100", false),
        ("Tree-LSTM GR-MCK (K 100), width 100", "listops-reinmax", "estimators=grmck;dim=100", false),
        ("Tree-LSTM ReinMax, width 100, counted length <= 50", "listops-reinmax", "estimators=reinmax;dim=100;max-length=50", false),
    ];

    /// <summary>Child: args = case index, steps, threads, evaluation sizes ("dev,test[,extrapolation]"). Prints one RESULT line.</summary>
    public static int Child(string[] args)
    {
        int index = int.Parse(args[0], CultureInfo.InvariantCulture);
        int steps = int.Parse(args[1], CultureInfo.InvariantCulture);
        torch.set_num_threads(int.Parse(args[2], CultureInfo.InvariantCulture));
        var sizes = args[3].Split(',');
        var (_, experiment, settings, _) = Cases[index];
        var given = settings.Split(';').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
        given["dev-examples"] = sizes[0];
        given["test-examples"] = sizes[1];
        if (experiment == "listops") given["extrapolation-examples"] = sizes.Length > 2 ? sizes[2] : sizes[1];
        var proc = Process.GetCurrentProcess();
        ITrainingTask task;
        IReadOnlyList<int> lengths;
        if (experiment == "listops")
        {
            var config = GridSpec<ListOpsConfig>.FromSettings(new ListOpsExperiment().Plan(given, null).Single().Settings);
            var t = new ListOpsTask(config, ListOpsExperiment.Data(config.DataSeed));
            task = t;
            lengths = BatchLengths(t.Batches, ListOpsExperiment.Data(config.DataSeed).Train.Take(config.TrainExamples).Select(e => e.Length).ToArray());
        }
        else
        {
            var config = GridSpec<ListOpsReinMaxConfig>.FromSettings(new ListOpsReinMaxExperiment().Plan(given, null).Single().Settings);
            var data = ListOpsReinMaxExperiment.Data(config.DataSeed);
            var t = new ListOpsReinMaxTask(config, data);
            task = t;
            var recipe = ListOpsReinMaxConfig.Recipe;
            var train = data.Train.Take(config.TrainExamples).Where(e => recipe.CountedLength(e) <= config.MaxLength).Select(e => e.Length).ToArray();
            lengths = BatchLengths(new LengthBucketBatches(train, config.BatchSize, config.Seed, config.BucketWidth), train);
        }
        long built = Memory.ReadStatusKb("VmHWM");
        task.Model.train();
        var wall = new List<double>();
        var cpu = new List<double>();
        var sorted = Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).ToArray();
        var chosen = Enumerable.Range(0, steps).Select(k => sorted[(int)((k + 0.5) * sorted.Length / steps)]).ToArray();
        foreach (int s in chosen)
        {
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            using (torch.NewDisposeScope()) task.TrainStep(s);
            wall.Add(sw.Elapsed.TotalSeconds);
            proc.Refresh();
            cpu.Add((proc.TotalProcessorTime - c0).TotalSeconds);
            if (wall.Count % 25 == 0)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
        task.Model.eval();
        proc.Refresh();
        var e0 = proc.TotalProcessorTime;
        var ew = Stopwatch.StartNew();
        using (torch.no_grad())
        using (torch.NewDisposeScope())
            task.Evaluate(steps);
        double evalWall = ew.Elapsed.TotalSeconds;
        proc.Refresh();
        double evalCpu = (proc.TotalProcessorTime - e0).TotalSeconds;
        double sample = chosen.Average(i => (double)lengths[i] * lengths[i]), epoch = lengths.Average(l => (double)l * l);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {wall.Average():R} {cpu.Average():R} {evalWall:R} {evalCpu:R} {lengths.Count} {sample:R} {epoch:R} {built} {Memory.ReadStatusKb("VmHWM")}"));
        return 0;
    }

    /// <summary>The (longest) length of each batch of epoch 0, in training order.</summary>
    private static IReadOnlyList<int> BatchLengths(LengthBucketBatches batches, int[] lengths) =>
        batches.Order(0).Select(b => b.Max(i => lengths[i])).ToList();

    /// <summary>Runs every configuration in a child process and prints a markdown table.</summary>
    public static void Run(int threads, int steps, string evalSizes)
    {
        Console.WriteLine($"## ListOps training tasks as a cell runs them: {threads} libtorch thread(s), mean of {steps} steps of epoch 0 stratified by batch length, one evaluation on {evalSizes} (dev, test[, each extrapolation set]) expressions");
        Console.WriteLine("| configuration | steps / epoch | wall s / step | CPU s / step | est. CPU s / epoch | sample / epoch mean L^2 | eval wall s | eval CPU s | peak RSS (MiB) | RSS after building (MiB) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (int i = 0; i < Cases.Count; i++)
        {
            var r = RunChild(i, steps, threads, evalSizes, Cases[i].KeepOnHeap);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Cases[i].Label} | {r.StepsPerEpoch} | {r.Wall:F3} | {r.Cpu:F3} | {r.Cpu * r.StepsPerEpoch:F0} | {r.Sample:F0} / {r.Epoch:F0} | {r.EvalWall:F1} | {r.EvalCpu:F1} | {r.PeakMiB:F0} | {r.BuiltMiB:F0} |"));
        }
        Console.WriteLine();
    }

    private static (double Wall, double Cpu, double EvalWall, double EvalCpu, long StepsPerEpoch, double Sample, double Epoch, double BuiltMiB, double PeakMiB)
        RunChild(int index, int steps, int threads, string evalSizes, bool keepOnHeap)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "listops-train-child", index.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture),
                     threads.ToString(CultureInfo.InvariantCulture), evalSizes })
            psi.ArgumentList.Add(a);
        if (keepOnHeap)
            foreach (var (name, value) in ListOpsBench.KeepOnHeap) psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException($"child {index} failed: {output} {error.Result}");
        var f = line.Split(' ').Skip(1).Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        return (f[0], f[1], f[2], f[3], (long)f[4], f[5], f[6], f[7] / 1024.0, f[8] / 1024.0);
    }
}
