using System.CommandLine;
using DiscreteGrad.Cli;
using DiscreteGrad.Experiments;
using Spectre.Console;

// Output to a file or a pipe: no 80-column wrapping (an error stays one line, tables keep their rows).
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 1000;
// The root command is named explicitly: RootCommand takes the entry assembly's name (DiscreteGrad.Cli) for the usage text.
var root = new Command("discretegrad", "discretegrad: experiments with gradient estimators for discrete stochastic nodes (DiscreteGrad).")
{
    new System.CommandLine.Help.HelpOption(),
    new VersionOption(),
};
foreach (var experiment in ExperimentCatalog.All) root.Subcommands.Add(ExperimentCommand.Create(experiment, args));
root.Subcommands.Add(RunCellCommand.Create());
root.Subcommands.Add(ReportCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // One line per command line: the first parse error (it names the option), exit code 2; no usage dump.
    var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
    string message = System.Text.RegularExpressions.Regex.Replace(error.Message, @":?\s*\n\s*", m => m.Value.StartsWith(':') ? ": " : ", ");
    AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(message)} [grey](see --help)[/]");
    return CommandErrors.ExitCode;
}
return await parsed.InvokeAsync();
