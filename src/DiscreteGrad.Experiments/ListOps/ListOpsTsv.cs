using System.Globalization;
using System.Text;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The tab-separated ListOps format of Nangia and Bowman ("ListOps: A Diagnostic Dataset for Latent Tree Learning",
/// 2018): one example a line, <c>label&lt;TAB&gt;expression</c>, the expression left-binarised with parentheses as the
/// reference generator prints it, e.g. <c>0&lt;TAB&gt;( ( ( ( ( [MIN 1 ) 6 ) 5 ) 0 ) ] )</c> for
/// <c>[MIN 1 6 5 0 ]</c>. Their published files have no header; the Long Range Arena ListOps files (Tay et al., "Long
/// Range Arena: A Benchmark for Efficient Transformers", 2021) start with a <c>Source&lt;TAB&gt;Target</c> header and
/// put the expression first, so a first line naming the columns Source and Target sets the column order and is skipped.
/// Parentheses are dropped on reading (plain expressions are read too); bare-digit lines, which the reference
/// generator can emit and its loader skips, are skipped as well.
/// </summary>
public static class ListOpsTsv
{
    /// <summary>Reads a ListOps TSV file (see <see cref="Read(TextReader, string)"/>).</summary>
    public static IReadOnlyList<ListOpsExample> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return Read(reader, path);
    }

    /// <summary>
    /// Parses ListOps TSV; <paramref name="sourceName"/> names the input in errors. Blank lines are skipped.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// A line without exactly two tab-separated fields, a label that is not an integer 0-9, an expression with an
    /// unknown token or unbalanced brackets, or a label that disagrees with the evaluated expression. The message names
    /// the source, the line number and the problem.
    /// </exception>
    public static IReadOnlyList<ListOpsExample> Read(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        var examples = new List<ListOpsExample>();
        int labelColumn = 0, lineNumber = 0;
        bool first = true;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = line.Split('\t');
            if (first)
            {
                first = false;
                if (fields.Length == 2 && IsHeader(fields[0], fields[1], out labelColumn)) continue;
            }
            if (fields.Length != 2)
                throw Error(sourceName, lineNumber, $"expected 2 tab-separated fields (label and expression), found {fields.Length}.");
            string labelText = fields[labelColumn].Trim(), expression = fields[1 - labelColumn];
            if (!int.TryParse(labelText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int label))
                throw Error(sourceName, lineNumber, $"label '{labelText}' is not an integer 0-9.");
            if ((uint)label > 9) throw Error(sourceName, lineNumber, $"label {label} is out of range 0-9.");
            ListOpsExample example;
            try
            {
                example = ListOpsExample.Parse(expression);
            }
            catch (ArgumentException e)
            {
                throw Error(sourceName, lineNumber, $"not a ListOps expression: {ListOpsJson.Strip(e)}");
            }
            if (example.Depth == 0) continue;
            if (example.Target != label)
                throw Error(sourceName, lineNumber, $"label {label} disagrees with the value of the expression, which is {example.Target}.");
            examples.Add(example);
        }
        return examples;
    }

    /// <summary>Writes <paramref name="examples"/> to <paramref name="path"/> (UTF-8, no byte order mark, '\n' line ends).</summary>
    public static void Write(string path, IEnumerable<ListOpsExample> examples)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        Write(writer, examples);
    }

    /// <summary>Writes one <c>label&lt;TAB&gt;binarised expression</c> line per example, no header, '\n' line ends.</summary>
    public static void Write(TextWriter writer, IEnumerable<ListOpsExample> examples)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(examples);
        var sb = new StringBuilder();
        foreach (var e in examples)
        {
            sb.Append(e.Target.ToString(CultureInfo.InvariantCulture)).Append('\t');
            AppendBinarised(sb, e);
            sb.Append('\n');
            if (sb.Length > 1 << 16)
            {
                writer.Write(sb);
                sb.Clear();
            }
        }
        writer.Write(sb);
    }

    /// <summary>
    /// The left-binarised form of the reference generator: an operator with arguments a1 .. ak is the nested pair
    /// (((op a1) a2) ... ak) ]), each pair printed as <c>( x y )</c>; e.g. <c>[MIN 1 6 5 0 ]</c> becomes
    /// <c>( ( ( ( ( [MIN 1 ) 6 ) 5 ) 0 ) ] )</c>. A bare digit is printed as itself.
    /// </summary>
    public static string Binarised(ListOpsExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        var sb = new StringBuilder(example.Length * 5);
        AppendBinarised(sb, example);
        return sb.ToString();
    }

    private static void AppendBinarised(StringBuilder sb, ListOpsExample example)
    {
        var tokens = example.TokenSpan;
        int end = Append(sb, tokens, 0);
        if (end != tokens.Length) throw new InvalidOperationException("unreachable: an example is one expression.");
    }

    // Appends the node starting at token i and returns the index after it.
    private static int Append(StringBuilder sb, ReadOnlySpan<int> tokens, int i)
    {
        int id = tokens[i];
        if (!ListOpsVocabulary.IsOperator(id))
        {
            sb.Append(ListOpsVocabulary.Text(id));
            return i + 1;
        }
        // Count the arguments first: every argument adds one "( " before the operator.
        int arguments = 0;
        for (int j = i + 1, level = 0; ; j++)
        {
            int t = tokens[j];
            if (t == ListOpsVocabulary.Close)
            {
                if (level == 0) break;
                level--;
                if (level == 0) arguments++;
            }
            else if (ListOpsVocabulary.IsOperator(t)) level++;
            else if (level == 0) arguments++;
        }
        for (int k = 0; k <= arguments; k++) sb.Append("( ");
        sb.Append(ListOpsVocabulary.Text(id));
        int next = i + 1;
        for (int k = 0; k < arguments; k++)
        {
            sb.Append(' ');
            next = Append(sb, tokens, next);
            sb.Append(" )");
        }
        sb.Append(" ] )");
        return next + 1;
    }

    private static bool IsHeader(string a, string b, out int labelColumn)
    {
        labelColumn = 0;
        string x = a.Trim(), y = b.Trim();
        if (x.Equals("Source", StringComparison.OrdinalIgnoreCase) && y.Equals("Target", StringComparison.OrdinalIgnoreCase))
        {
            labelColumn = 1;
            return true;
        }
        return x.Equals("Target", StringComparison.OrdinalIgnoreCase) && y.Equals("Source", StringComparison.OrdinalIgnoreCase);
    }

    private static InvalidDataException Error(string source, int line, string message) => new($"{source}: line {line}: {message}");
}
