using System.Globalization;
using System.Text.Json;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>Shared file handling and number formatting of the figure experiments.</summary>
public static class FigureOutput
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Name of the JSON file in which a figure's cell keeps the numbers its report section shows.</summary>
    public const string ResultFile = "result.json";

    /// <summary>Writes <paramref name="value"/> as <see cref="ResultFile"/> into <paramref name="directory"/> (NaN allowed).</summary>
    public static void WriteResult<T>(string directory, T value) =>
        GridFolder.WriteAtomically(Path.Combine(directory, ResultFile), JsonSerializer.Serialize(value, Json));

    /// <summary>Reads what <see cref="WriteResult{T}"/> wrote.</summary>
    public static T ReadResult<T>(string directory) =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(Path.Combine(directory, ResultFile)), Json)
        ?? throw new InvalidDataException($"{Path.Combine(directory, ResultFile)} is empty.");

    /// <summary>
    /// Copies a cell's figure <paramref name="png"/> (and the SVG beside it, when there is one) into the report's folder:
    /// as <paramref name="name"/>.png beside the grid's report.md, and named after the markdown file (figure-simplex.md:
    /// figure-simplex.png) for <c>--docs</c>. Returns the file name to link.
    /// </summary>
    public static string CopyFigure(string png, GridReportContext report, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(png);
        ArgumentNullException.ThrowIfNull(report);
        string file = (report.AssetPrefix.Length > 0 ? report.AssetPrefix.TrimEnd('-') : name) + ".png";
        Directory.CreateDirectory(report.AssetsDirectory);
        File.Copy(png, Path.Combine(report.AssetsDirectory, file), overwrite: true);
        string svg = Reporting.ReportPlotStyle.SvgBeside(png);
        if (File.Exists(svg)) File.Copy(svg, Reporting.ReportPlotStyle.SvgBeside(Path.Combine(report.AssetsDirectory, file)), overwrite: true);
        return file;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="property"/> when the list is empty or repeats a value.</summary>
    public static void CheckList(IReadOnlyList<double> values, string property)
    {
        if (values is null || values.Count == 0) throw new ArgumentException("must list at least one value.", property);
        var dup = values.GroupBy(v => v).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"{R(dup.Key)} is listed twice.", property);
    }

    /// <summary>Fixed-point number in the invariant culture.</summary>
    public static string F(double x, int digits = 3) => x.ToString("F" + digits.ToString(Inv), Inv);

    /// <summary>Three significant digits (scientific notation for small or large magnitudes), invariant culture.</summary>
    public static string G(double x) => x == 0 || (Math.Abs(x) >= 1e-3 && Math.Abs(x) < 1e4)
        ? x.ToString("G3", Inv)
        : x.ToString("0.00e+0", Inv);

    /// <summary>"mean ± std" over <paramref name="count"/> runs with <paramref name="format"/>; a std below 1e-9 of |mean|
    /// (rounding noise of a deterministic quantity) is shown as 0; the mean alone for a single run.</summary>
    public static string Pm(double mean, double std, int count, Func<double, string> format)
    {
        ArgumentNullException.ThrowIfNull(format);
        return Reporting.Statistics.FormatMeanSpread(mean, std <= 1e-9 * Math.Abs(mean) ? 0 : std, count, format, " ± ");
    }

    /// <summary>A value as the invariant-culture shortest round-trip text (for parameter lists).</summary>
    public static string R(double x) => x.ToString("R", Inv);
}
