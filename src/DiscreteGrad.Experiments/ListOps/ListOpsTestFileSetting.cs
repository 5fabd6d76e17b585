namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The <c>--test-file PATH</c> setting of the ListOps experiments: a ListOps file in either published format (DCCG JSON or
/// Nangia and Bowman's TSV, told apart by content, <see cref="ListOpsFile"/>) on which the final model is scored once
/// more, after the last training step, its numbers logged as metrics of their own (<c>file_*</c>). <see cref="None"/>
/// (the default) means no such file.
/// </summary>
public static class ListOpsTestFileSetting
{
    /// <summary>The value that means no test file.</summary>
    public const string None = "none";

    /// <summary>Help text of the setting.</summary>
    public const string Help = "A ListOps file (DCCG JSON or Nangia-Bowman TSV, detected) on which the final model is scored once more, " +
                               "reported as file_* metrics ('none': no file).";

    /// <summary>Whether <paramref name="value"/> names a file.</summary>
    public static bool IsSet(string value) => !string.Equals(value, None, StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws <see cref="ArgumentException"/> (parameter <paramref name="parameter"/>) when a named file does not exist.</summary>
    public static void Check(string value, string parameter)
    {
        if (IsSet(value) && !File.Exists(value))
            throw new ArgumentException($"{value}: no such file (give a DCCG JSON or Nangia-Bowman TSV ListOps file, or 'none').", parameter);
    }

    /// <summary>
    /// Reads the file: its examples, or <see cref="InvalidDataException"/> with one line naming the file and the problem (a
    /// malformed line, no example, or with <paramref name="allowSumMod"/> false an expression with <c>[SM</c>, which the
    /// DCCG vocabulary lacks).
    /// </summary>
    public static IReadOnlyList<ListOpsExample> Read(string path, bool allowSumMod)
    {
        ArgumentNullException.ThrowIfNull(path);
        var examples = ListOpsFile.Read(path);
        if (examples.Count == 0) throw new InvalidDataException($"--test-file {path}: the file holds no expression.");
        if (!allowSumMod)
            for (int i = 0; i < examples.Count; i++)
                if (examples[i].Tokens.Contains(ListOpsVocabulary.SumMod))
                    throw new InvalidDataException($"--test-file {path}: expression {i + 1} uses [SM, which the DCCG vocabulary (] [MIN [MAX [MED and the digits) does not have.");
        return examples;
    }
}
