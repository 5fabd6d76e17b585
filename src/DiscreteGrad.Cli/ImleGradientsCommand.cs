using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Solvers;
using Spectre.Console;
using TorchSharp;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Cli;

/// <summary>The <c>imle-gradients</c> command: AIMLE's synthetic gradient-quality study on top-k.</summary>
internal static class ImleGradientsCommand
{
    private const string Name = "imle-gradients";

    /// <summary>Parses "20x10,10x5" into (n, k) pairs; null and an error naming the option when malformed.</summary>
    public static (int N, int K)[]? ParseCases(string text, out string? error)
    {
        var list = new List<(int, int)>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var nk = part.Split('x');
            if (nk.Length != 2 || !int.TryParse(nk[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n)
                || !int.TryParse(nk[1], NumberStyles.None, CultureInfo.InvariantCulture, out int k) || n < 2 || n > 24 || k < 1 || k >= n)
            {
                error = $"--cases: '{part}' is not NxK with 2 <= N <= 24 and 1 <= K < N (e.g. 20x10).";
                return null;
            }
            list.Add((n, k));
        }
        if (list.Count == 0) { error = "--cases must list at least one NxK."; return null; }
        error = null;
        return list.ToArray();
    }

    /// <summary>Parses "imle-central,ste" into methods; null and an error naming the option when a key is unknown or repeated.</summary>
    public static GradientMethod[]? ParseMethods(string text, out string? error)
    {
        var list = new List<GradientMethod>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!GradientMethods.TryParse(part, out var m) || m == GradientMethod.Exact || list.Contains(m))
            {
                error = $"--methods: '{part}' is unknown or repeated; allowed: {string.Join(", ", GradientMethods.Estimators.Select(GradientMethods.Key))}.";
                return null;
            }
            list.Add(m);
        }
        if (list.Count == 0) { error = "--methods must list at least one estimator."; return null; }
        error = null;
        return list.ToArray();
    }

    /// <summary>Builds the command; <paramref name="args"/> are recorded verbatim in the markdown section.</summary>
    public static Command Create(string[] args)
    {
        var d = new ImleGradientsConfig();
        var cases = new Option<string>("--cases") { Description = "Top-k cases NxK, comma-separated.", DefaultValueFactory = _ => "20x10,10x5" };
        cases.Validators.Add(r => { ParseCases(string.Join(",", r.Tokens.Select(t => t.Value)), out var e); if (r.Tokens.Count > 0 && e is not null) r.AddError(e); });
        var methods = new Option<string>("--methods")
        {
            Description = "Estimators, comma-separated: " + string.Join(", ", GradientMethods.Estimators.Select(GradientMethods.Key)) + ".",
            DefaultValueFactory = _ => string.Join(",", GradientMethods.Estimators.Select(GradientMethods.Key)),
        };
        methods.Validators.Add(r => { ParseMethods(string.Join(",", r.Tokens.Select(t => t.Value)), out var e); if (r.Tokens.Count > 0 && e is not null) r.AddError(e); });
        var aimleStep = OptionParsing.Real("--aimle-step", "AIMLE: change of beta per backward pass.", d.AimleStep, 0, 1e3);
        var aimleBeta = OptionParsing.Real("--aimle-beta", "AIMLE: initial beta in the cosine study.", d.AimleInitialBeta, 0, 1e6, lowerOpen: false);
        var seeds = OptionParsing.Int("--seeds", "Random problems (theta, b) of the cosine study.", d.Seeds, 1, 100_000);
        var lmin = OptionParsing.Real("--lambda-min", "Smallest I-MLE lambda of the log grid.", 1e-2, 0, 1e6);
        var lmax = OptionParsing.Real("--lambda-max", "Largest I-MLE lambda of the log grid.", 1e2, 0, 1e6);
        var perDecade = OptionParsing.Int("--lambdas-per-decade", "Points per decade of the lambda grid.", 4, 1, 100);
        var samples = OptionParsing.Int("--samples", "Samples S per gradient estimate (cosine study).", d.Samples, 1, 1_000_000);
        var warmup = OptionParsing.Int("--warmup", "AIMLE adapting backward passes before the measured one.", d.WarmupSteps, 0, 1_000_000);
        var sgdSteps = OptionParsing.Int("--sgd-steps", "SGD steps of the optimisation curves.", d.SgdSteps, 1, 1_000_000);
        var sgdRuns = OptionParsing.Int("--sgd-runs", "Runs per method of the optimisation curves.", d.SgdRepeats, 1, 100_000);
        var lr = OptionParsing.Real("--lr", "SGD learning rate (all methods).", d.SgdLearningRate, 0, 1e3);
        var sgdLambda = OptionParsing.Real("--sgd-lambda", "I-MLE fixed lambda in the optimisation curves.", d.SgdLambda, 0, 1e6);
        var sgdBeta = OptionParsing.Real("--sgd-aimle-beta", "AIMLE initial beta in the optimisation curves.", d.SgdAimleInitialBeta, 0, 1e6);
        var sgdSamples = OptionParsing.Int("--sgd-samples", "Samples per SGD step.", d.SgdSamples, 1, 1_000_000);
        var threads = OptionParsing.Int("--threads", "libtorch and solver threads.", Environment.ProcessorCount, 1, 1024);
        var seed = FigureCommandSupport.Seed();
        var output = FigureCommandSupport.Out(Name);
        var docs = FigureCommandSupport.Docs(Name);
        var command = new Command(Name,
            "AIMLE's synthetic study: cosine similarity of I-MLE (forward, central), AIMLE, STE and SFE gradient estimates to the exact " +
            "gradient on top-k (enumerating all k-subsets) as lambda varies, and the optimality gap over SGD steps.")
        {
            cases, methods, aimleStep, aimleBeta, seeds, lmin, lmax, perDecade, samples, warmup, sgdSteps, sgdRuns, lr, sgdLambda, sgdBeta, sgdSamples, threads, seed, output, docs,
        };
        command.SetAction(parseResult =>
        {
            double lo = parseResult.GetValue(lmin), hi = parseResult.GetValue(lmax);
            if (hi < lo)
            {
                AnsiConsole.MarkupLine($"[red]error:[/] --lambda-max ({R(hi)}) must be >= --lambda-min ({R(lo)}).");
                return 1;
            }
            int per = parseResult.GetValue(perDecade);
            int count = (int)Math.Floor(Math.Log10(hi / lo) * per + 1e-9) + 1;
            var config = new ImleGradientsConfig
            {
                Cases = ParseCases(parseResult.GetValue(cases)!, out _)!,
                Methods = ParseMethods(parseResult.GetValue(methods)!, out _)!,
                AimleStep = parseResult.GetValue(aimleStep),
                AimleInitialBeta = parseResult.GetValue(aimleBeta),
                Seeds = parseResult.GetValue(seeds),
                Lambdas = Enumerable.Range(0, count).Select(i => lo * Math.Pow(10, i / (double)per)).ToArray(),
                Samples = parseResult.GetValue(samples),
                WarmupSteps = parseResult.GetValue(warmup),
                SgdSteps = parseResult.GetValue(sgdSteps),
                SgdRepeats = parseResult.GetValue(sgdRuns),
                SgdLearningRate = parseResult.GetValue(lr),
                SgdLambda = parseResult.GetValue(sgdLambda),
                SgdAimleInitialBeta = parseResult.GetValue(sgdBeta),
                SgdSamples = parseResult.GetValue(sgdSamples),
                Seed = (ulong)parseResult.GetValue(seed),
            };
            try { config.Validate(); }
            catch (ArgumentException ex) { return FigureCommandSupport.ArgumentError(ex); }
            int th = parseResult.GetValue(threads);
            torch.set_num_threads(th);
            using var solverLimit = SolverParallelism.Limit(th);
            AnsiConsole.MarkupLine($"[bold]{Name}[/]: cases {string.Join(", ", config.Cases.Select(c => $"n = {c.N}, k = {c.K}"))}; {config.Seeds} seeds x " +
                                   $"{config.Lambdas.Count} lambdas, S = {config.Samples}; SGD {config.SgdSteps} steps x {config.SgdRepeats} runs; threads {th}");
            var sw = Stopwatch.StartNew();
            var results = ImleGradientsExperiment.Run(config, line => AnsiConsole.MarkupLine(Markup.Escape(line)));
            var files = ImleGradientsReport.WriteAll(config, results, parseResult.GetValue(output)!,
                FigureCommandSupport.DocsPath(parseResult.GetValue(docs)!), FigureCommandSupport.CommandLine(args), sw.Elapsed.TotalSeconds);
            foreach (var c in results)
            {
                var fixedRows = c.Cosine.Where(r => GradientMethods.UsesFixedLambda(r.Method)).ToArray();
                if (fixedRows.Length > 0)
                    FigureCommandSupport.PrintTable($"n = {c.N}, k = {c.K}: cosine to the exact gradient vs lambda (mean ± SE over {config.Seeds} seeds)",
                    new[] { "lambda" }.Concat(fixedRows.Select(r => GradientMethods.Label(r.Method))).ToArray(),
                    Enumerable.Range(0, config.Lambdas.Count).Select(l => (IReadOnlyList<string>)new[] { G(config.Lambdas[l]) }
                        .Concat(fixedRows.Select(r => MeanSe.Of(ImleGradientsReport.Row(r.Values, l)).ToString())).ToArray()));
                FigureCommandSupport.PrintTable($"n = {c.N}, k = {c.K}: every method (fixed lambda at its best) and the final optimality gap",
                    new[] { "method", "cosine", "best lambda", $"gap at step {config.SgdSteps}" },
                    c.Cosine.Select(r =>
                    {
                        var (l, cs) = ImleGradientsReport.Best(r);
                        var gap = c.Sgd.First(s => s.Method == r.Method).Gap;
                        return (IReadOnlyList<string>)new[] { GradientMethods.Label(r.Method), cs.ToString(), double.IsNaN(l) ? "–" : G(l),
                            MeanSe.Of(ImleGradientsReport.Column(gap, config.SgdSteps)).ToString() };
                    }).Append(new[] { "exact gradient", "1", "–",
                        MeanSe.Of(ImleGradientsReport.Column(c.Sgd.First(s => s.Method == GradientMethod.Exact).Gap, config.SgdSteps)).ToString() }));
            }
            foreach (var f in files) AnsiConsole.MarkupLine($"wrote {Markup.Escape(f)}");
            AnsiConsole.MarkupLine($"wall time {sw.Elapsed.TotalMinutes:F1} min");
            return 0;
        });
        return command;
    }
}
