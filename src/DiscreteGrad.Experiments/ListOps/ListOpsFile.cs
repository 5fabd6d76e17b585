namespace DiscreteGrad.Experiments.ListOps;

/// <summary>The two ListOps file formats.</summary>
public enum ListOpsFileFormat
{
    /// <summary>The DCCG JSON files (<see cref="ListOpsJson"/>).</summary>
    DccgJson = 0,
    /// <summary>Nangia and Bowman's tab-separated files (<see cref="ListOpsTsv"/>).</summary>
    Tsv = 1,
}

/// <summary>
/// Reads a ListOps file of either format, telling them apart by content: a file whose first character other than
/// white space (and a UTF-8 byte order mark) is <c>{</c> is DCCG JSON, anything else TSV. The ListOps commands' common
/// <c>--test-file PATH</c> goes through <see cref="Read"/>.
/// </summary>
public static class ListOpsFile
{
    /// <summary>The format of the file at <paramref name="path"/>, from its first non-blank character.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is empty or blank.</exception>
    public static ListOpsFileFormat DetectFormat(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such ListOps file.", path);
        using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        int c;
        while ((c = reader.Read()) >= 0)
            if (!char.IsWhiteSpace((char)c)) return c == '{' ? ListOpsFileFormat.DccgJson : ListOpsFileFormat.Tsv;
        throw new InvalidDataException($"{path}: the file is empty; expected DCCG JSON or ListOps TSV.");
    }

    /// <summary>Reads the examples of the file at <paramref name="path"/>, whichever its format.</summary>
    /// <exception cref="InvalidDataException">A malformed file; the message names the file, the line and the problem.</exception>
    public static IReadOnlyList<ListOpsExample> Read(string path) => DetectFormat(path) switch
    {
        ListOpsFileFormat.DccgJson => ListOpsJson.Read(path),
        _ => ListOpsTsv.Read(path),
    };

    /// <summary>The format a file name implies: <c>.json</c> is DCCG JSON, anything else TSV.</summary>
    public static ListOpsFileFormat FormatFromExtension(string path) =>
        Path.GetExtension(path).Equals(".json", StringComparison.OrdinalIgnoreCase) ? ListOpsFileFormat.DccgJson : ListOpsFileFormat.Tsv;

    /// <summary>Writes <paramref name="examples"/> to <paramref name="path"/> in <paramref name="format"/>.</summary>
    public static void Write(string path, IEnumerable<ListOpsExample> examples, ListOpsFileFormat format)
    {
        switch (format)
        {
            case ListOpsFileFormat.DccgJson: ListOpsJson.Write(path, examples); break;
            case ListOpsFileFormat.Tsv: ListOpsTsv.Write(path, examples); break;
            default: throw new ArgumentOutOfRangeException(nameof(format), format, "unknown ListOps file format.");
        }
    }
}
