using System.CommandLine;
using DiscreteGrad.Experiments.Runner;
using Spectre.Console;

namespace DiscreteGrad.Cli;

/// <summary>
/// The commands' common error handling: every failure ends as one red line naming the cause (and the option or file) and
/// exit code 2; the full trace goes to a log file (the grid's <c>discretegrad.log</c> when the folder is known, else
/// <c>~/.cache/discretegrad/logs/last-error.log</c>), never to the console.
/// </summary>
internal static class CommandErrors
{
    /// <summary>Exit code of every failure.</summary>
    public const int ExitCode = 2;

    /// <summary>Wraps a command's action; <paramref name="logFolder"/> names the folder for the trace, if known.</summary>
    public static Func<ParseResult, int> Guarded(Func<ParseResult, int> run, Func<ParseResult, string?>? logFolder = null) => parseResult =>
    {
        try
        {
            return run(parseResult);
        }
        catch (Exception e)
        {
            return Report(e, SafeFolder(logFolder, parseResult));
        }
    };

    /// <summary>Prints the one line of <paramref name="e"/> and logs its trace; returns <see cref="ExitCode"/>.</summary>
    public static int Report(Exception e, string? folder)
    {
        string line = CellRunner.ErrorLine(e);
        string? log = WriteTrace(e, folder);
        AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(line)}{(log is null || e is ArgumentException ? "" : $" [grey](details: {Markup.Escape(log)})[/]")}");
        return ExitCode;
    }

    private static string? SafeFolder(Func<ParseResult, string?>? f, ParseResult pr)
    {
        try
        {
            return f?.Invoke(pr);
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static string? WriteTrace(Exception e, string? folder)
    {
        foreach (var dir in new[] { folder is not null && Directory.Exists(folder) ? folder : null, DefaultLogFolder() })
        {
            if (dir is null) continue;
            try
            {
                Directory.CreateDirectory(dir);
                string path = Path.Combine(dir, dir == folder ? "discretegrad.log" : "last-error.log");
                File.AppendAllText(path, $"{DateTime.UtcNow:O} {Environment.CommandLine}\n{e}\n\n");
                return path;
            }
            catch (Exception)
            {
                // try the next folder
            }
        }
        return null;
    }

    private static string DefaultLogFolder() =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "discretegrad", "logs");
}
