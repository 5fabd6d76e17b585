using System.CommandLine;
using DiscreteGrad.Experiments.Figures;
using Spectre.Console;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Cli;

/// <summary>The <c>figure-temperature</c> command: the temperature experiment of the lecture slides (seed 001).</summary>
internal static class FigureTemperatureCommand
{
    private const string Name = "figure-temperature";

    /// <summary>Builds the command; <paramref name="args"/> are recorded verbatim in the markdown section.</summary>
    public static Command Create(string[] args)
    {
        var d = new TemperatureConfig();
        var categories = OptionParsing.Int("--categories", "Number of categories.", d.Categories, 2, 10_000);
        var samples = OptionParsing.Int("--samples", "Samples per temperature.", d.Samples, 2, 10_000_000);
        var taus = OptionParsing.Reals("--taus", "Temperatures", string.Join(",", d.Taus.Select(R)), 0, 1e6);
        var scale = OptionParsing.Real("--score-scale", "Scores are drawn from N(0, scale^2).", d.ScoreScale, 0, 1e3);
        var seed = FigureCommandSupport.Seed();
        var output = FigureCommandSupport.Out(Name);
        var docs = FigureCommandSupport.Docs(Name);

        var command = new Command(Name,
            "Lecture-slides temperature experiment: random scores over 10 categories, 10k Gumbel-softmax samples per tau, the mean soft " +
            "sample (and the tempered categorical) against softmax(scores).")
        {
            categories, samples, taus, scale, seed, output, docs,
        };
        command.SetAction(parseResult =>
        {
            var config = new TemperatureConfig
            {
                Categories = parseResult.GetValue(categories),
                Samples = parseResult.GetValue(samples),
                Taus = OptionParsing.ParseReals(parseResult.GetValue(taus)!, "--taus", 0, 1e6, out _)!,
                ScoreScale = parseResult.GetValue(scale),
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
            AnsiConsole.MarkupLine($"[bold]{Name}[/]: {config.Categories} categories, {config.Taus.Count} temperatures x {config.Samples} samples (seed {config.Seed})");
            var results = TemperatureExperiment.Run(config);
            var files = TemperatureReport.WriteAll(results, parseResult.GetValue(output)!,
                FigureCommandSupport.DocsPath(parseResult.GetValue(docs)!), FigureCommandSupport.CommandLine(args));
            FigureCommandSupport.PrintTable("mean Gumbel-softmax sample vs softmax(scores), per tau", TemperatureReport.Headers,
                TemperatureReport.Rows(results));
            FigureCommandSupport.PrintFiles(files);
            return 0;
        });
        return command;
    }
}
