using System.CommandLine;
using DiscreteGrad.Experiments.Figures;
using Spectre.Console;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Cli;

/// <summary>The <c>figure-simplex</c> command: Gumbel-softmax samples on the 3-simplex (DCCG paper, Figure 5).</summary>
internal static class FigureSimplexCommand
{
    private const string Name = "figure-simplex";

    /// <summary>Builds the command; <paramref name="args"/> are recorded verbatim in the markdown section.</summary>
    public static Command Create(string[] args)
    {
        var d = new SimplexConfig();
        var theta = new Option<string>("--theta")
        {
            Description = "The 3 logits theta, comma-separated.",
            DefaultValueFactory = _ => string.Join(",", d.Theta.Select(R)),
        };
        theta.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && ParseTheta(string.Join(",", r.Tokens.Select(t => t.Value)), out var error) is null) r.AddError(error!);
        });
        var taus = OptionParsing.Reals("--taus", "Temperatures of the tau-annealing row", string.Join(",", d.Taus.Select(R)), 0, 1e6);
        var topBeta = OptionParsing.Real("--top-beta", "Gumbel scale of the tau-annealing row.", d.TopBeta, 0, 1e6, lowerOpen: false);
        var betas = FigureCommandSupport.NonNegativeReals("--betas", "Gumbel scales of the beta-increase row", string.Join(",", d.Betas.Select(R)), 1e6);
        var bottomTau = OptionParsing.Real("--bottom-tau", "Temperature of the beta-increase row.", d.BottomTau, 0, 1e6);
        var samples = OptionParsing.Int("--samples", "Samples per panel.", d.Samples, 1, 1_000_000);
        var threshold = OptionParsing.Real("--threshold", "A sample is near a corner when its largest probability exceeds this.",
            d.CornerThreshold, 1.0 / 3, 0.999999, lowerOpen: false);
        var seed = FigureCommandSupport.Seed();
        var output = FigureCommandSupport.Out(Name);
        var docs = FigureCommandSupport.Docs(Name);

        var command = new Command(Name,
            "DCCG Figure 5: Gumbel-softmax samples for theta = (2, 0.5, 1) on the probability simplex, tau annealing (top row) vs " +
            "beta increase (bottom row), with the fraction of near-corner samples and their split over the corners.")
        {
            theta, taus, topBeta, betas, bottomTau, samples, threshold, seed, output, docs,
        };
        command.SetAction(parseResult =>
        {
            var config = new SimplexConfig
            {
                Theta = ParseTheta(parseResult.GetValue(theta)!, out _)!,
                Taus = OptionParsing.ParseReals(parseResult.GetValue(taus)!, "--taus", 0, 1e6, out _)!,
                TopBeta = parseResult.GetValue(topBeta),
                Betas = FigureCommandSupport.ParseList(parseResult.GetValue(betas)!, "--betas", 1e6, out _)!,
                BottomTau = parseResult.GetValue(bottomTau),
                Samples = parseResult.GetValue(samples),
                CornerThreshold = parseResult.GetValue(threshold),
                Seed = (ulong)parseResult.GetValue(seed),
            };
            try
            {
                config.Validate();
            }
            catch (ArgumentException ex)
            {
                return FigureCommandSupport.ArgumentError(ex);
            }
            AnsiConsole.MarkupLine($"[bold]{Name}[/]: theta = ({string.Join(", ", config.Theta.Select(R))}), {config.Settings().Count} panels x {config.Samples} samples (seed {config.Seed})");
            var panels = SimplexSamples.Run(config);
            var files = SimplexReport.WriteAll(config, panels, parseResult.GetValue(output)!,
                FigureCommandSupport.DocsPath(parseResult.GetValue(docs)!), FigureCommandSupport.CommandLine(args));
            FigureCommandSupport.PrintTable("Gumbel-softmax samples on the simplex", SimplexReport.Headers(config.CornerThreshold),
                SimplexReport.Rows(panels));
            FigureCommandSupport.PrintFiles(files);
            return 0;
        });
        return command;
    }

    private static double[]? ParseTheta(string text, out string? error)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new List<double>();
        foreach (var p in parts)
        {
            if (!double.TryParse(p, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v)
                || !double.IsFinite(v) || Math.Abs(v) > 1e6)
            {
                error = $"--theta: '{p}' is not a finite number in [-1e6, 1e6].";
                return null;
            }
            values.Add(v);
        }
        if (values.Count != 3)
        {
            error = $"--theta must list exactly 3 logits (got {values.Count}).";
            return null;
        }
        error = null;
        return values.ToArray();
    }
}
