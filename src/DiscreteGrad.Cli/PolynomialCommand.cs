using System.CommandLine;
using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Polynomial;
using Spectre.Console;

namespace DiscreteGrad.Cli;

/// <summary>The <c>polynomial</c> command: parses the options, runs <see cref="PolynomialExperiment"/> with a live
/// progress display, writes the CSVs, PNGs and markdown report, and prints the results tables.</summary>
internal static class PolynomialCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Builds the command; <paramref name="args"/> are recorded verbatim in the report.</summary>
    public static Command Create(string[] args)
    {
        var steps = OptionParsing.Int("--steps", "Adam steps per run.", 8000, 1, 100_000_000);
        var seeds = OptionParsing.Int("--seeds", "Seeds per (estimator, p); the seeds are 0, 1, ...", 3, 1, 10_000);
        var estimators = OptionParsing.Estimators("--estimators", "st,stgs,gst,grmck,reinmax");
        var powers = OptionParsing.Reals("--powers", "Powers p of the loss |z - 0.45|^p", "1.5,2,3", 0, 16);
        var tau = OptionParsing.Real("--tau", "Temperature of every estimator.", 1.0, 0, 1e6);
        var batch = OptionParsing.Int("--batch", "Samples per step.", 64, 1, 1 << 20);
        var lr = OptionParsing.Real("--lr", "Adam learning rate.", 1e-3, 0, 10);
        var logEvery = OptionParsing.Int("--log-every", "Record the curves every this many steps (at most --steps).", 50, 1, 100_000_000);
        var threads = OptionParsing.Int("--threads", "Runs in parallel, each with one libtorch thread.", Environment.ProcessorCount, 1, 1024);
        var device = new Option<string>("--device") { Description = "cpu or cuda (or cuda:N).", DefaultValueFactory = _ => "cpu" };
        device.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>() ?? "";
            bool ok = v == "cpu" || v == "cuda" || (v.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(v[5..], NumberStyles.None, Inv, out _));
            if (!ok) r.AddError($"--device must be cpu, cuda or cuda:N (got '{v}').");
        });
        var output = new Option<string>("--out") { Description = "Folder for the CSVs and PNGs.", DefaultValueFactory = _ => "runs/polynomial" };
        var docs = new Option<string>("--docs")
        {
            Description = "Path of the markdown report (PNGs are copied next to it); 'none' for no report.",
            DefaultValueFactory = _ => "docs/experiments/polynomial.md",
        };
        var note = new Option<string>("--note") { Description = "Free text placed near the top of the markdown report." };
        foreach (var o in new[] { output, docs })
            o.Validators.Add(r =>
            {
                var v = r.GetValueOrDefault<string>();
                if (string.IsNullOrWhiteSpace(v) || v.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
                    r.AddError($"{o.Name} must be a non-empty, valid path (got '{v}').");
            });

        var command = new Command("polynomial",
            "Polynomial programming (ReinMax paper): min E[(1/128) sum_i |z_i - 0.45|^p] over theta in R^{128x2}, comparing estimators.")
        {
            steps, seeds, estimators, powers, tau, batch, lr, logEvery, threads, device, output, docs, note,
        };
        command.Validators.Add(r =>
        {
            int s, le;
            try
            {
                s = r.GetValue(steps);
                le = r.GetValue(logEvery);
            }
            catch (InvalidOperationException)
            {
                return;                                   // a malformed value is reported by its own option
            }
            if (le > s) r.AddError($"--log-every must be in [1, --steps = {s}] (got {le}).");
        });

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var config = new PolynomialConfig
            {
                Steps = parseResult.GetValue(steps),
                Seeds = parseResult.GetValue(seeds),
                Estimators = OptionParsing.ParseEstimators(parseResult.GetValue(estimators)!, "--estimators", out _)!,
                Powers = OptionParsing.ParseReals(parseResult.GetValue(powers)!, "--powers", 0, 16, out _)!,
                Tau = parseResult.GetValue(tau),
                Batch = parseResult.GetValue(batch),
                LearningRate = parseResult.GetValue(lr),
                LogEvery = parseResult.GetValue(logEvery),
                Threads = parseResult.GetValue(threads),
                Device = parseResult.GetValue(device)!,
            };
            var outDir = parseResult.GetValue(output)!;
            var docsPath = parseResult.GetValue(docs)!;
            return await RunAsync(config, outDir, docsPath == "none" ? null : docsPath, parseResult.GetValue(note), CommandLine(args), cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(PolynomialConfig config, string outDir, string? docsPath, string? note, string commandLine,
        CancellationToken ct)
    {
        try
        {
            config.Validate();
        }
        catch (ArgumentException ex)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] --{Markup.Escape(ex.ParamName ?? "?")}: {Markup.Escape(FirstLine(ex.Message))}");
            return 1;
        }

        int runs = config.Estimators.Count * config.Powers.Count * config.Seeds;
        AnsiConsole.MarkupLine($"[bold]polynomial programming[/]: {runs} runs x {config.Steps} steps " +
            $"(estimators {Markup.Escape(string.Join(", ", config.Estimators.Select(EstimatorNames.Display)))}; " +
            $"p = {string.Join(", ", config.Powers.Select(p => p.ToString(Inv)))}; {config.Seeds} seed(s)), " +
            $"{config.Threads} parallel run(s) on {Markup.Escape(config.Device)}");

        PolynomialResults results;
        try
        {
            results = await AnsiConsole.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(ctx =>
                {
                    var progress = new SpectreProgress(ctx, config);
                    return Task.Run(() => PolynomialExperiment.Run(config, progress, ct), ct);
                });
        }
        catch (PolynomialDivergenceException ex)
        {
            AnsiConsole.MarkupLine($"[red]diverged:[/] {Markup.Escape(ex.Message)}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled[/]");
            return 130;
        }
        catch (ArgumentException ex)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] --{Markup.Escape(ex.ParamName ?? "?")}: {Markup.Escape(FirstLine(ex.Message))}");
            return 1;
        }

        var files = PolynomialReport.WriteAll(results, outDir, docsPath, commandLine, note);
        PrintTables(results);
        AnsiConsole.MarkupLine($"wall time: [bold]{Markup.Escape(PolynomialReport.FormatDuration(results.WallTime))}[/]");
        AnsiConsole.MarkupLine($"wrote {Markup.Escape(files.CurvesCsv)}, {Markup.Escape(files.FinalCsv)}, {Markup.Escape(files.SummaryCsv)}");
        foreach (var p in files.Plots.Concat(files.DocsPlots)) AnsiConsole.MarkupLine($"wrote {Markup.Escape(p)}");
        if (files.Markdown is not null) AnsiConsole.MarkupLine($"wrote {Markup.Escape(files.Markdown)}");
        return 0;
    }

    private static void PrintTables(PolynomialResults results)
    {
        var cfg = results.Config;
        void Print(string title, Func<PolynomialSummaryRow, string> cell, string? extraLabel = null, Func<double, string>? extra = null)
        {
            var table = new Table().Title(Markup.Escape(title)).Border(TableBorder.Rounded);
            table.AddColumn("estimator");
            foreach (var p in cfg.Powers) table.AddColumn(new TableColumn($"p = {p.ToString(Inv)}").RightAligned());
            foreach (var e in cfg.Estimators)
            {
                var best = cfg.Powers.Select(p => PolynomialReport.Ranking(results, p)[0].Estimator == e).ToArray();
                table.AddRow(new[] { Markup.Escape(EstimatorNames.Display(e)) }
                    .Concat(cfg.Powers.Select((p, i) => best[i] ? $"[bold green]{Markup.Escape(cell(results.Cell(e, p)))}[/]" : Markup.Escape(cell(results.Cell(e, p)))))
                    .ToArray());
            }
            if (extraLabel is not null && extra is not null)
                table.AddRow(new[] { Markup.Escape(extraLabel) }.Concat(cfg.Powers.Select(p => Markup.Escape(extra(p)))).ToArray());
            AnsiConsole.Write(table);
        }
        Print("final exact expected loss E[loss] (mean ± std over seeds; lowest in green)",
            r => PolynomialReport.MeanStd(r.ExactMean, r.ExactStd),
            "optimum", p => PolynomialObjective.Optimum(cfg.Target, p).ToString("F6", Inv));
        Print("final excess loss E[loss] - optimum", r => PolynomialReport.MeanStdSci(r.ExcessMean, r.ExcessStd));
        Print($"final training loss (mean of the last {Math.Min(cfg.FinalWindow, cfg.Steps)} steps)",
            r => PolynomialReport.MeanStd(r.TrainMean, r.TrainStd));
    }

    /// <summary>The command line as typed: the launcher (DISCRETEGRAD_LAUNCHER, set by ./discretegrad) and the arguments.</summary>
    private static string CommandLine(string[] args)
    {
        var launcher = Environment.GetEnvironmentVariable("DISCRETEGRAD_LAUNCHER");
        if (string.IsNullOrWhiteSpace(launcher)) launcher = "discretegrad";
        return string.Join(" ", new[] { launcher }.Concat(args.Select(Quote)));
    }

    private static string Quote(string a)
        => a.Length > 0 && a.All(ch => char.IsLetterOrDigit(ch) || "-_.,/:=+".Contains(ch)) ? a : "'" + a.Replace("'", "'\\''") + "'";

    private static string FirstLine(string message)
    {
        int i = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        var s = i >= 0 ? message[..i] : message;
        int nl = s.IndexOf('\n');
        return nl >= 0 ? s[..nl].TrimEnd() : s;
    }
}
