using System.Globalization;
using System.Text;

namespace DiscreteGrad.Experiments.Reporting;

/// <summary>
/// A small RFC 4180 CSV writer: a fixed header, one row per call, invariant culture, doubles written round-trip ("R"),
/// fields quoted only when they contain a comma, a quote or a line break.
/// </summary>
public sealed class CsvWriter : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly int _columns;

    /// <summary>Creates (or overwrites) <paramref name="path"/>, creating its directory, and writes the header.</summary>
    /// <param name="path">File to write.</param>
    /// <param name="header">Column names; every row must have this many fields.</param>
    public CsvWriter(string path, IReadOnlyList<string> header)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(header);
        if (header.Count == 0) throw new ArgumentException("header must have at least one column.", nameof(header));
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _writer = new StreamWriter(path, append: false, new UTF8Encoding(false)) { NewLine = "\n" };
        _columns = header.Count;
        _writer.WriteLine(FormatRow(header.Cast<object?>().ToArray()));
    }

    /// <summary>Writes one row; the number of fields must equal the number of header columns.</summary>
    public void WriteRow(params object?[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Length != _columns)
            throw new ArgumentException($"a row must have {_columns} fields (got {fields.Length}).", nameof(fields));
        _writer.WriteLine(FormatRow(fields));
    }

    /// <summary>Flushes the rows written so far to the file.</summary>
    public void Flush() => _writer.Flush();

    /// <summary>Formats one field: doubles and floats round-trip in the invariant culture, null as empty.</summary>
    public static string FormatField(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable x => Escape(x.ToString(null, CultureInfo.InvariantCulture)),
        _ => Escape(value.ToString() ?? ""),
    };

    private static string FormatRow(object?[] fields) => string.Join(",", fields.Select(FormatField));

    private static string Escape(string s)
        => s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose() => _writer.Dispose();
}
