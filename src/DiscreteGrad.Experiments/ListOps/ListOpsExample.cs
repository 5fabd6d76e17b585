using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using System.Text;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// One ListOps expression with everything a model or a metric needs, in the annotation of the DCCG ListOps files
/// (Friede and Niepert, "Efficient Learning of Discrete-Continuous Computation Graphs", NeurIPS 2021):
/// <list type="bullet">
/// <item><see cref="Tokens"/>: token ids (<see cref="ListOpsVocabulary"/>), e.g. <c>[MAX 9 3 0 [MED 7 9 5 ] ]</c>.</item>
/// <item><see cref="Target"/>: the value of the whole expression (here 9).</item>
/// <item><see cref="Parents"/> (the files' <c>adj</c>): for every token the index of the operator token whose list it
/// belongs to; a <c>]</c> points to the operator it closes, the root operator has -1. Here
/// [-1, 0, 0, 0, 0, 4, 4, 4, 4, 0].</item>
/// <item><see cref="Values"/> (the files' <c>inter</c>): the value of every sub-expression: the digit at a digit, the
/// value of the operator's list at an operator token, -1 at <c>]</c>. Here [9, 9, 3, 0, 7, 7, 9, 5, -1, -1].</item>
/// <item><see cref="IsOperatorToken"/> (the files' <c>inter_mask</c>): 1 exactly at operator tokens, root included.</item>
/// </list>
/// The meaning of the three arrays was checked against all 20,000 examples of the published DCCG dev and test files.
/// <see cref="Depth"/> is the nesting of operators (a single list of digits has depth 1). Instances are immutable; two
/// are equal when their token sequences are.
/// </summary>
public sealed class ListOpsExample : IEquatable<ListOpsExample>
{
    private readonly int[] _tokens, _parents, _values;

    private ListOpsExample(int[] tokens, int[] parents, int[] values, int depth)
    {
        _tokens = tokens;
        _parents = parents;
        _values = values;
        Tokens = Array.AsReadOnly(tokens);
        Parents = Array.AsReadOnly(parents);
        Values = Array.AsReadOnly(values);
        Depth = depth;
        Expression = Format(tokens);
    }

    /// <summary>Token ids, one per token.</summary>
    public ReadOnlyCollection<int> Tokens { get; }
    /// <summary>Index of the operator each token belongs to (a <c>]</c>: the operator it closes; the root: -1).</summary>
    public ReadOnlyCollection<int> Parents { get; }
    /// <summary>Value of each sub-expression: the digit at a digit, the list's value at an operator, -1 at <c>]</c>.</summary>
    public ReadOnlyCollection<int> Values { get; }
    /// <summary>Number of tokens.</summary>
    public int Length => _tokens.Length;
    /// <summary>Value of the whole expression, 0-9.</summary>
    public int Target => _values[0];
    /// <summary>Operator nesting: 0 for a bare digit, 1 for a list of digits, 1 + the deepest argument otherwise.</summary>
    public int Depth { get; }
    /// <summary>The expression, tokens separated by single spaces, e.g. <c>[MED 3 6 0 6 ]</c>.</summary>
    public string Expression { get; }

    /// <summary>True when token <paramref name="index"/> opens an operator.</summary>
    public bool IsOperatorToken(int index) => ListOpsVocabulary.IsOperator(_tokens[index]);

    /// <summary>Number of arguments of the operator at token <paramref name="index"/>.</summary>
    public int ArgumentCount(int index)
    {
        if (!IsOperatorToken(index)) throw new ArgumentException($"token {index} ({ListOpsVocabulary.Text(_tokens[index])}) is not an operator.", nameof(index));
        int count = 0;
        for (int i = index + 1; i < _tokens.Length; i++)
            if (_parents[i] == index && _tokens[i] != ListOpsVocabulary.Close) count++;
        return count;
    }

    /// <summary>
    /// Parses an expression whose tokens are separated by white space: <c>[MIN</c>, <c>[MAX</c>, <c>[MED</c>,
    /// <c>[SM</c>, <c>]</c> and the digits 0-9. Parentheses <c>(</c> and <c>)</c>, which the binarised TSV form adds,
    /// are dropped. A bare digit is a valid (depth 0) expression.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The message names the problem: empty expression, unknown token, <c>]</c> closing nothing, an operator never
    /// closed, an operator without arguments, or tokens after the end of the expression.
    /// </exception>
    public static ListOpsExample Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var ids = new List<int>(expression.Length / 2 + 1);
        foreach (var range in expression.AsSpan().SplitAny(" \t\r\n"))
        {
            var text = expression.AsSpan()[range];
            if (text.IsEmpty || text is "(" or ")") continue;
            if (!ListOpsVocabulary.TryParse(text, out int id))
                throw new ArgumentException(
                    $"unknown token '{text}' at token index {ids.Count}; ListOps tokens are [MIN [MAX [MED [SM ] and the digits 0-9.",
                    nameof(expression));
            ids.Add(id);
        }
        return Build(ids.ToArray(), nameof(expression));
    }

    /// <summary>Builds the example of a token id sequence (see <see cref="ListOpsVocabulary"/>).</summary>
    /// <exception cref="ArgumentException">An id that is not a token, or a malformed sequence (as for <see cref="Parse"/>).</exception>
    public static ListOpsExample FromTokens(ReadOnlySpan<int> tokens)
    {
        for (int i = 0; i < tokens.Length; i++)
            if (!ListOpsVocabulary.IsOperator(tokens[i]) && !ListOpsVocabulary.IsDigit(tokens[i]) && tokens[i] != ListOpsVocabulary.Close)
                throw new ArgumentException($"token id {tokens[i]} at token index {i} is not a ListOps token.", nameof(tokens));
        return Build(tokens.ToArray(), nameof(tokens));
    }

    /// <summary>Annotates valid token ids; the array is owned by the new example.</summary>
    internal static ListOpsExample Build(int[] tokens, string paramName)
    {
        int n = tokens.Length;
        if (n == 0) throw new ArgumentException("the expression is empty.", paramName);
        var parents = new int[n];
        var values = new int[n];
        // Open operators (token indices) and, for each, where its arguments start on the argument stack.
        var open = new Stack<(int Index, int ArgStart)>();
        var args = new List<int>();
        int depth = 0;
        for (int i = 0; i < n; i++)
        {
            int id = tokens[i];
            if (i > 0 && open.Count == 0)
                throw new ArgumentException(
                    $"'{ListOpsVocabulary.Text(id)}' at token index {i} follows the end of the expression (tokens 0-{i - 1} are a complete expression).",
                    paramName);
            parents[i] = open.Count > 0 ? open.Peek().Index : -1;
            if (ListOpsVocabulary.IsOperator(id))
            {
                open.Push((i, args.Count));
                depth = Math.Max(depth, open.Count);
            }
            else if (id == ListOpsVocabulary.Close)
            {
                if (open.Count == 0) throw new ArgumentException($"']' at token index {i} closes no operator.", paramName);
                var (op, start) = open.Pop();
                int count = args.Count - start;
                if (count == 0)
                    throw new ArgumentException(
                        $"operator '{ListOpsVocabulary.Text(tokens[op])}' at token index {op} has no arguments.", paramName);
                int value = ListOpsEvaluator.Apply(ListOpsVocabulary.OperatorOf(tokens[op]), CollectionsMarshal.AsSpan(args).Slice(start, count));
                args.RemoveRange(start, count);
                values[op] = value;
                values[i] = -1;
                args.Add(value);
            }
            else
            {
                values[i] = id - ListOpsVocabulary.Digit0;
                args.Add(values[i]);
            }
        }
        if (open.Count > 0)
        {
            var (op, _) = open.Peek();
            throw new ArgumentException(
                $"operator '{ListOpsVocabulary.Text(tokens[op])}' at token index {op} is never closed ({open.Count} ']' missing at the end).",
                paramName);
        }
        return new ListOpsExample(tokens, parents, values, depth);
    }

    private static string Format(int[] tokens)
    {
        var sb = new StringBuilder(tokens.Length * 3);
        for (int i = 0; i < tokens.Length; i++)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(ListOpsVocabulary.Text(tokens[i]));
        }
        return sb.ToString();
    }

    internal ReadOnlySpan<int> TokenSpan => _tokens;

    /// <inheritdoc />
    public bool Equals(ListOpsExample? other) => other is not null && _tokens.AsSpan().SequenceEqual(other._tokens);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ListOpsExample);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Expression);

    /// <summary>The <see cref="Expression"/>.</summary>
    public override string ToString() => Expression;
}
