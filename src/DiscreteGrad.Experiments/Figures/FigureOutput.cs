using System.Globalization;
using System.Text;

namespace DiscreteGrad.Experiments.Figures;

/// <summary>Paths written by one figure command.</summary>
/// <param name="Data">CSV files in the output folder.</param>
/// <param name="Png">The figure in the output folder.</param>
/// <param name="DocsPng">The copy of the figure next to the markdown section, or null when none was written.</param>
/// <param name="Markdown">The markdown section, or null.</param>
public sealed record FigureFiles(IReadOnlyList<string> Data, string Png, string? DocsPng, string? Markdown);

/// <summary>Shared file handling and number formatting of the figure commands.</summary>
public static class FigureOutput
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Copies <paramref name="png"/> next to <paramref name="markdownPath"/>, named after the markdown file
    /// (figure-simplex.md: figure-simplex.png), and writes the markdown built by <paramref name="markdown"/> from the PNG's
    /// path relative to the markdown's folder. Does nothing and returns nulls when <paramref name="markdownPath"/> is null.
    /// </summary>
    public static (string? DocsPng, string? Markdown) Publish(string png, string? markdownPath, Func<string, string> markdown)
    {
        ArgumentException.ThrowIfNullOrEmpty(png);
        ArgumentNullException.ThrowIfNull(markdown);
        if (markdownPath is null) return (null, null);
        var docsDir = Path.GetDirectoryName(Path.GetFullPath(markdownPath))!;
        Directory.CreateDirectory(docsDir);
        // Same folder as the markdown, spelled as the caller spelled it (relative stays relative).
        var target = Path.Combine(Path.GetDirectoryName(markdownPath) ?? "", Path.GetFileNameWithoutExtension(markdownPath) + ".png");
        if (Path.GetFullPath(target) != Path.GetFullPath(png)) File.Copy(png, target, overwrite: true);
        File.WriteAllText(markdownPath, markdown(Path.GetRelativePath(docsDir, target).Replace('\\', '/')), new UTF8Encoding(false));
        return (target, markdownPath);
    }

    /// <summary>Fixed-point number in the invariant culture.</summary>
    public static string F(double x, int digits = 3) => x.ToString("F" + digits.ToString(Inv), Inv);

    /// <summary>Three significant digits (scientific notation for small or large magnitudes), invariant culture.</summary>
    public static string G(double x) => x == 0 || (Math.Abs(x) >= 1e-3 && Math.Abs(x) < 1e4)
        ? x.ToString("G3", Inv)
        : x.ToString("0.00e+0", Inv);

    /// <summary>"mean ± std" with <paramref name="format"/>; a std below 1e-9 of |mean| (rounding noise of a deterministic
    /// quantity) is shown as 0.</summary>
    public static string Pm(double mean, double std, Func<double, string> format)
    {
        ArgumentNullException.ThrowIfNull(format);
        return $"{format(mean)} ± {format(std <= 1e-9 * Math.Abs(mean) ? 0 : std)}";
    }

    /// <summary>A value as the invariant-culture shortest round-trip text (for parameter lists).</summary>
    public static string R(double x) => x.ToString("R", Inv);
}
