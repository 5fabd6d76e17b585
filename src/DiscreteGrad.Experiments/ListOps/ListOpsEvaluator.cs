namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The semantics of ListOps (Nangia and Bowman, "ListOps: A Diagnostic Dataset for Latent Tree Learning", 2018):
/// MIN and MAX of the arguments, MED their median rounded down as the reference generator's <c>int(np.median(args))</c>
/// (for an odd count the middle value; for an even count the mean of the two middle values, truncated, which for
/// non-negative values is (a + b) div 2), and SM their sum modulo 10. These agree with every label of Nangia and
/// Bowman's published test file test_d20s.tsv (9,999 expressions) and every target of the DCCG dev and test files
/// (20,000).
/// </summary>
public static class ListOpsEvaluator
{
    /// <summary>Applies <paramref name="op"/> to one or more digits.</summary>
    /// <exception cref="ArgumentException">No arguments, or an argument outside 0-9.</exception>
    public static int Apply(ListOpsOperator op, ReadOnlySpan<int> arguments)
    {
        if (arguments.IsEmpty) throw new ArgumentException($"{Name(op)} needs at least one argument.", nameof(arguments));
        foreach (int a in arguments)
            if ((uint)a > 9) throw new ArgumentException($"ListOps arguments are digits 0-9; got {a}.", nameof(arguments));
        switch (op)
        {
            case ListOpsOperator.Min:
            {
                int m = 9;
                foreach (int a in arguments) m = Math.Min(m, a);
                return m;
            }
            case ListOpsOperator.Max:
            {
                int m = 0;
                foreach (int a in arguments) m = Math.Max(m, a);
                return m;
            }
            case ListOpsOperator.SumMod:
            {
                int s = 0;
                foreach (int a in arguments) s += a;
                return s % 10;
            }
            case ListOpsOperator.Med:
            {
                // Counting sort over the ten digit values: the k-th smallest without allocating.
                Span<int> counts = stackalloc int[10];
                foreach (int a in arguments) counts[a]++;
                int n = arguments.Length;
                int lower = KthSmallest(counts, (n - 1) / 2), upper = KthSmallest(counts, n / 2);
                return (lower + upper) / 2;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, "unknown ListOps operator.");
        }
    }

    /// <summary>The value of an expression such as <c>[MAX 2 9 [MIN 4 7 ] 0 ]</c> (see <see cref="ListOpsExample.Parse"/>).</summary>
    public static int Evaluate(string expression) => ListOpsExample.Parse(expression).Target;

    private static int KthSmallest(ReadOnlySpan<int> counts, int k)
    {
        for (int v = 0; v < 10; v++)
        {
            if (k < counts[v]) return v;
            k -= counts[v];
        }
        throw new InvalidOperationException("k exceeds the number of values.");
    }

    internal static string Name(ListOpsOperator op) => ListOpsVocabulary.Text(ListOpsVocabulary.OperatorId(op));
}
