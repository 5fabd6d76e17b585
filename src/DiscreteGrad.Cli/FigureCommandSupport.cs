using System.CommandLine;
using System.Globalization;
using DiscreteGrad.Experiments.Figures;
using Spectre.Console;

namespace DiscreteGrad.Cli;

/// <summary>Options and output shared by the figure commands (figure-beta-toy, figure-simplex, figure-temperature).</summary>
internal static class FigureCommandSupport
{
    /// <summary>The --seed option (seed of the explicit generator).</summary>
    public static Option<int> Seed(int defaultValue = 0)
        => OptionParsing.Int("--seed", "Seed of the random generator.", defaultValue, 0, int.MaxValue);

    /// <summary>The --out option: folder for the CSVs and the PNG, default runs/&lt;name&gt;.</summary>
    public static Option<string> Out(string name) => PathOption("--out", "Folder for the CSVs and the PNG.", $"runs/{name}");

    /// <summary>The --docs option: the markdown section (the PNG is copied next to it), default docs/experiments/&lt;name&gt;.md.</summary>
    public static Option<string> Docs(string name)
        => PathOption("--docs", "Path of the markdown section (the PNG is copied next to it); 'none' for no section.",
            $"docs/experiments/{name}.md");

    /// <summary>The --docs value as a path, or null for 'none'.</summary>
    public static string? DocsPath(string value) => value == "none" ? null : value;

    /// <summary>A comma-separated list of distinct finite reals in [min, max] (min included, unlike
    /// <see cref="OptionParsing.Reals"/>); read it with <see cref="ParseList"/>.</summary>
    public static Option<string> NonNegativeReals(string name, string description, string defaultValue, double max)
    {
        var o = new Option<string>(name)
        {
            Description = $"{description} (comma-separated, each in [0, {max.ToString(CultureInfo.InvariantCulture)}])",
            DefaultValueFactory = _ => defaultValue,
        };
        o.Validators.Add(r =>
        {
            ParseList(string.Join(",", r.Tokens.Select(t => t.Value)), name, max, out var error);
            if (r.Tokens.Count > 0 && error is not null) r.AddError(error);
        });
        return o;
    }

    /// <summary>Parses a list of <see cref="NonNegativeReals"/> (invariant culture): null and an error naming the option when a
    /// value is malformed, outside [0, max] or repeated, or the list is empty.</summary>
    public static double[]? ParseList(string text, string optionName, double max, out string? error)
        => OptionParsing.ParseReals(text, optionName, 0, max, out error, minInclusive: true);

    /// <summary>The command line as typed: the launcher (DISCRETEGRAD_LAUNCHER, set by ./discretegrad) and the arguments.</summary>
    public static string CommandLine(string[] args)
    {
        var launcher = Environment.GetEnvironmentVariable("DISCRETEGRAD_LAUNCHER");
        if (string.IsNullOrWhiteSpace(launcher)) launcher = "discretegrad";
        return string.Join(" ", new[] { launcher }.Concat(args.Select(Quote)));
    }

    /// <summary>Prints the paths of the written files.</summary>
    public static void PrintFiles(FigureFiles files)
    {
        foreach (var p in files.Data.Append(files.Png)) AnsiConsole.MarkupLine($"wrote {Markup.Escape(p)}");
        if (files.DocsPng is not null) AnsiConsole.MarkupLine($"wrote {Markup.Escape(files.DocsPng)}");
        if (files.Markdown is not null) AnsiConsole.MarkupLine($"wrote {Markup.Escape(files.Markdown)}");
    }

    /// <summary>Prints a table with right-aligned numeric columns (all but the first).</summary>
    public static void PrintTable(string title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var table = new Table().Title(Markup.Escape(title)).Border(TableBorder.Rounded);
        for (int i = 0; i < headers.Count; i++)
        {
            var c = new TableColumn(Markup.Escape(headers[i]));
            table.AddColumn(i == 0 ? c : c.RightAligned());
        }
        foreach (var r in rows) table.AddRow(r.Select(Markup.Escape).ToArray());
        AnsiConsole.Write(table);
    }

    /// <summary>Prints an argument error (from a configuration's Validate) the way the other commands do.</summary>
    public static int ArgumentError(ArgumentException ex)
    {
        var m = ex.Message;
        int i = m.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (i >= 0) m = m[..i];
        AnsiConsole.MarkupLine($"[red]error:[/] --{Markup.Escape(ex.ParamName ?? "?")}: {Markup.Escape(m)}");
        return 1;
    }

    private static Option<string> PathOption(string name, string description, string defaultValue)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<string>();
            if (string.IsNullOrWhiteSpace(v) || v.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
                r.AddError($"{name} must be a non-empty, valid path (got '{v}').");
        });
        return o;
    }

    private static string Quote(string a)
        => a.Length > 0 && a.All(ch => char.IsLetterOrDigit(ch) || "-_.,/:=+".Contains(ch)) ? a : "'" + a.Replace("'", "'\\''") + "'";
}
