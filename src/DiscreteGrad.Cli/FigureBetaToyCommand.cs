using System.CommandLine;
using DiscreteGrad.Experiments.Figures;
using Spectre.Console;
using static DiscreteGrad.Experiments.Figures.FigureOutput;

namespace DiscreteGrad.Cli;

/// <summary>The <c>figure-beta-toy</c> command: the Gumbel-scale toy of the DCCG paper (Figure 2).</summary>
internal static class FigureBetaToyCommand
{
    private const string Name = "figure-beta-toy";

    /// <summary>Builds the command; <paramref name="args"/> are recorded verbatim in the markdown section.</summary>
    public static Command Create(string[] args)
    {
        var defaults = new BetaToyConfig();
        var betas = FigureCommandSupport.NonNegativeReals("--betas", "Gumbel scales beta", string.Join(",", defaults.Betas.Select(R)), 1e3);
        var runs = OptionParsing.Int("--runs", "Independent runs per beta.", defaults.Runs, 1, 100_000);
        var steps = OptionParsing.Int("--steps", "SGD steps.", defaults.Steps, 1, 10_000_000);
        var lr = OptionParsing.Real("--lr", "SGD learning rate.", defaults.LearningRate, 0, 1e3);
        var tau = OptionParsing.Real("--tau", "Gumbel-softmax temperature.", defaults.Tau, 0, 1e6);
        var seed = FigureCommandSupport.Seed();
        var output = FigureCommandSupport.Out(Name);
        var docs = FigureCommandSupport.Docs(Name);

        var command = new Command(Name,
            "DCCG Figure 2: train theta in R^2 of softmax(theta + Gumbel(0, beta)) against the target (1, 0) with SGD, for several beta; " +
            "plots |dL/dtheta|, theta_1 - theta_2 and p_1 over the steps.")
        {
            betas, runs, steps, lr, tau, seed, output, docs,
        };
        command.SetAction(parseResult =>
        {
            var config = new BetaToyConfig
            {
                Betas = FigureCommandSupport.ParseList(parseResult.GetValue(betas)!, "--betas", 1e3, out _)!,
                Runs = parseResult.GetValue(runs),
                Steps = parseResult.GetValue(steps),
                LearningRate = parseResult.GetValue(lr),
                Tau = parseResult.GetValue(tau),
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
            AnsiConsole.MarkupLine($"[bold]{Name}[/]: {config.Betas.Count} beta(s) x {config.Runs} runs x {config.Steps} SGD steps (lr {R(config.LearningRate)}, tau {R(config.Tau)}, seed {config.Seed})");
            var traces = BetaToy.Run(config);
            var files = BetaToyReport.WriteAll(config, traces, parseResult.GetValue(output)!,
                FigureCommandSupport.DocsPath(parseResult.GetValue(docs)!), FigureCommandSupport.CommandLine(args));
            int w = BetaToy.Window(config.Steps);
            FigureCommandSupport.PrintTable($"|dL/dtheta| and p_1 per beta (early = first {w} steps, late = last {w}; mean ± std over runs)",
                new[] { "beta", "|dL/dθ| early", "|dL/dθ| late", "p1 after early", "θ1 − θ2 final", "1 − p1 final" },
                traces.Select(BetaToy.Summarize).Select(s => (IReadOnlyList<string>)new[]
                {
                    R(s.Beta), Pm(s.EarlyGradMean, s.EarlyGradStd, G), Pm(s.LateGradMean, s.LateGradStd, G),
                    Pm(s.EarlyProb1Mean, s.EarlyProb1Std, x => F(x)), Pm(s.FinalGapMean, s.FinalGapStd, x => F(x, 2)), G(1 - s.FinalProb1Mean),
                }));
            FigureCommandSupport.PrintFiles(files);
            return 0;
        });
        return command;
    }
}
