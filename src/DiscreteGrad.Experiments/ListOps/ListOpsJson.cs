using System.Globalization;
using System.Text;
using System.Text.Json;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The JSON format of the DCCG ListOps files (Friede and Niepert, "Efficient Learning of Discrete-Continuous
/// Computation Graphs", NeurIPS 2021):
/// <c>{"&lt;length&gt;": {"&lt;id&gt;": {"ex": "[MED 3 6 0 6 ]", "target": 4, "adj": [-1, 0, 0, 0, 0, 0],
/// "inter": [4, 3, 6, 0, 6, -1], "inter_mask": [1, 0, 0, 0, 0, 0]}, ...}, ...}</c>: examples grouped by token
/// count, ids 0, 1, ... within a group; <c>ex</c> has its tokens separated by single spaces; <c>adj</c> is
/// <see cref="ListOpsExample.Parents"/>, <c>inter</c> <see cref="ListOpsExample.Values"/> and <c>inter_mask</c> 1 at
/// operator tokens (the authors' loader turns <c>adj</c> into an adjacency matrix with a 1 at (i, adj[i]) for every
/// token but the first, <c>inter</c> into token ids (value + 4, -1 to id 0) and uses <c>inter_mask</c> without its
/// root entry to score intermediate values).
/// </summary>
public static class ListOpsJson
{
    /// <summary>Reads a DCCG JSON file (see <see cref="Read(ReadOnlySpan{byte}, string)"/>).</summary>
    public static IReadOnlyList<ListOpsExample> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Read(File.ReadAllBytes(path), path);
    }

    /// <summary>
    /// Parses DCCG JSON in UTF-8; <paramref name="sourceName"/> names it in errors. Examples come in file order (group
    /// by group, then id by id). <c>ex</c> and <c>target</c> are required; <c>adj</c>, <c>inter</c> and
    /// <c>inter_mask</c> are optional but must agree with the expression when present; other fields are ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// Malformed JSON, or an example that is invalid: unknown token or unbalanced brackets in <c>ex</c>, a token count
    /// other than its group's length, a target outside 0-9 or different from the evaluated expression, an annotation
    /// that disagrees with it, a repeated group or id. The message names the source, the line and column of the example
    /// (or of the JSON error) and the problem.
    /// </exception>
    public static IReadOnlyList<ListOpsExample> Read(ReadOnlySpan<byte> utf8, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) utf8 = utf8[3..];
        var examples = new List<ListOpsExample>();
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var input = utf8;
        try
        {
            Expect(ref reader, JsonTokenType.StartObject, input, sourceName, "the file must be a JSON object of length groups");
            var groups = new HashSet<string>(StringComparer.Ordinal);
            while (Next(ref reader) != JsonTokenType.EndObject)
            {
                string groupKey = reader.GetString()!;
                long groupAt = reader.TokenStartIndex;
                if (!groups.Add(groupKey)) throw Error(input, groupAt, sourceName, $"length group \"{groupKey}\" occurs twice.");
                if (!int.TryParse(groupKey, NumberStyles.None, CultureInfo.InvariantCulture, out int groupLength))
                    throw Error(input, groupAt, sourceName, $"length group key \"{groupKey}\" is not a token count.");
                Expect(ref reader, JsonTokenType.StartObject, input, sourceName, $"length group \"{groupKey}\" must be an object of examples");
                var ids = new HashSet<string>(StringComparer.Ordinal);
                while (Next(ref reader) != JsonTokenType.EndObject)
                {
                    string id = reader.GetString()!;
                    long at = reader.TokenStartIndex;
                    string where = $"example \"{id}\" of length group \"{groupKey}\"";
                    if (!ids.Add(id)) throw Error(input, at, sourceName, $"{where} occurs twice.");
                    Expect(ref reader, JsonTokenType.StartObject, input, sourceName, $"{where} must be an object");
                    examples.Add(ReadExample(ref reader, input, at, sourceName, where, groupLength));
                }
            }
            if (reader.Read()) throw Error(input, reader.TokenStartIndex, sourceName, "unexpected content after the top-level object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(
                $"{sourceName}: line {(e.LineNumber ?? 0) + 1}, column {(e.BytePositionInLine ?? 0) + 1}: malformed JSON: {e.Message}", e);
        }
        return examples;
    }

    private static ListOpsExample ReadExample(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, long at, string source, string where, int groupLength)
    {
        string? ex = null;
        int? target = null;
        List<int>? adj = null, inter = null, mask = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case "ex":
                    if (reader.TokenType != JsonTokenType.String) throw Error(input, at, source, $"{where}: \"ex\" must be a string.");
                    ex = reader.GetString();
                    break;
                case "target":
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int t))
                        throw Error(input, at, source, $"{where}: \"target\" must be an integer.");
                    target = t;
                    break;
                case "adj": adj = ReadInts(ref reader, input, at, source, where, name); break;
                case "inter": inter = ReadInts(ref reader, input, at, source, where, name); break;
                case "inter_mask": mask = ReadInts(ref reader, input, at, source, where, name); break;
                default: reader.Skip(); break;
            }
        }
        if (ex is null) throw Error(input, at, source, $"{where} has no \"ex\".");
        if (target is null) throw Error(input, at, source, $"{where} has no \"target\".");
        ListOpsExample example;
        try
        {
            example = ListOpsExample.Parse(ex);
        }
        catch (ArgumentException e)
        {
            throw Error(input, at, source, $"{where}: \"ex\" is not a ListOps expression: {Strip(e)}");
        }
        if (example.Length != groupLength)
            throw Error(input, at, source, $"{where} has {example.Length} tokens but is in length group {groupLength}.");
        if ((uint)target.Value > 9) throw Error(input, at, source, $"{where}: target {target} is out of range 0-9.");
        if (target.Value != example.Target)
            throw Error(input, at, source, $"{where}: target {target} disagrees with the value of \"{ex}\", which is {example.Target}.");
        string? problem = Mismatch(adj, example.Parents, "adj (parent indices)")
            ?? Mismatch(inter, example.Values, "inter (sub-expression values)");
        if (problem is null && mask is not null)
        {
            var expected = new int[example.Length];
            for (int i = 0; i < expected.Length; i++) expected[i] = example.IsOperatorToken(i) ? 1 : 0;
            problem = Mismatch(mask, expected, "inter_mask (operator positions)");
        }
        if (problem is not null) throw Error(input, at, source, $"{where}: {problem}");
        return example;
    }

    private static string? Mismatch(List<int>? found, IReadOnlyList<int> expected, string what)
    {
        if (found is null) return null;
        if (found.Count != expected.Count) return $"{what} has {found.Count} entries for {expected.Count} tokens.";
        for (int i = 0; i < found.Count; i++)
            if (found[i] != expected[i]) return $"{what} is {found[i]} at token {i} but the expression gives {expected[i]}.";
        return null;
    }

    private static List<int> ReadInts(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, long at, string source, string where, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw Error(input, at, source, $"{where}: \"{name}\" must be an array of integers.");
        var list = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int v))
                throw Error(input, at, source, $"{where}: \"{name}\" must be an array of integers.");
            list.Add(v);
        }
        return list;
    }

    /// <summary>Writes <paramref name="examples"/> as DCCG JSON to <paramref name="path"/> (UTF-8, no byte order mark).</summary>
    public static void Write(string path, IEnumerable<ListOpsExample> examples)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        Write(writer, examples);
    }

    /// <summary>
    /// Writes <paramref name="examples"/> as DCCG JSON, spaced as Python's <c>json.dump</c> spaces it (the published
    /// files' style): groups in ascending length, ids 0, 1, ... in the order given within a group. Reading it back
    /// gives the examples stably sorted by length.
    /// </summary>
    public static void Write(TextWriter writer, IEnumerable<ListOpsExample> examples)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(examples);
        var groups = examples.GroupBy(e => e.Length).OrderBy(g => g.Key);
        var sb = new StringBuilder();
        sb.Append('{');
        bool firstGroup = true;
        foreach (var group in groups)
        {
            if (!firstGroup) sb.Append(", ");
            firstGroup = false;
            sb.Append('"').Append(group.Key.ToString(CultureInfo.InvariantCulture)).Append("\": {");
            int id = 0;
            foreach (var e in group)
            {
                if (id > 0) sb.Append(", ");
                sb.Append('"').Append(id.ToString(CultureInfo.InvariantCulture)).Append("\": {\"ex\": \"").Append(e.Expression)
                  .Append("\", \"target\": ").Append(e.Target.ToString(CultureInfo.InvariantCulture)).Append(", \"adj\": ");
                AppendInts(sb, e.Parents);
                sb.Append(", \"inter\": ");
                AppendInts(sb, e.Values);
                sb.Append(", \"inter_mask\": [");
                for (int i = 0; i < e.Length; i++) sb.Append(i > 0 ? ", " : "").Append(e.IsOperatorToken(i) ? '1' : '0');
                sb.Append("]}");
                id++;
            }
            sb.Append('}');
            if (sb.Length > 1 << 16)
            {
                writer.Write(sb);
                sb.Clear();
            }
        }
        sb.Append('}');
        writer.Write(sb);
    }

    private static void AppendInts(StringBuilder sb, IReadOnlyList<int> values)
    {
        sb.Append('[');
        for (int i = 0; i < values.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(values[i].ToString(CultureInfo.InvariantCulture));
        }
        sb.Append(']');
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        // With the whole input as the final block, the reader throws on truncated JSON rather than returning false.
        if (!reader.Read()) throw new JsonException("unexpected end of the file.", null, 0, reader.BytesConsumed);
        return reader.TokenType;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, ReadOnlySpan<byte> input, string source, string what)
    {
        if (!reader.Read()) throw new InvalidDataException($"{source}: the file ends early: {what}.");
        if (reader.TokenType != type) throw Error(input, reader.TokenStartIndex, source, $"{what}.");
    }

    private static InvalidDataException Error(ReadOnlySpan<byte> input, long offset, string source, string message)
    {
        var before = input[..(int)Math.Min(offset, input.Length)];
        int line = before.Count((byte)'\n') + 1;
        int lastNewline = before.LastIndexOf((byte)'\n');
        long column = offset - lastNewline;
        return new InvalidDataException($"{source}: line {line}, column {column}: {message}");
    }

    internal static string Strip(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
}
