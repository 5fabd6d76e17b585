namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The splits of a generated ListOps data set. No expression occurs twice, within or across splits.
/// <see cref="Extrapolation"/> maps a depth to its extrapolation test set (empty when the recipe has none).
/// </summary>
public sealed record ListOpsSplits(
    IReadOnlyList<ListOpsExample> Train,
    IReadOnlyList<ListOpsExample> Dev,
    IReadOnlyList<ListOpsExample> Test,
    IReadOnlyDictionary<int, IReadOnlyList<ListOpsExample>> Extrapolation)
{
    /// <summary>Every example of every split, train first.</summary>
    public IEnumerable<ListOpsExample> All => Train.Concat(Dev).Concat(Test).Concat(Extrapolation.OrderBy(kv => kv.Key).SelectMany(kv => kv.Value));
}

/// <summary>Rejection sampling of distinct trees shared by the recipes.</summary>
internal static class ListOpsSampling
{
    /// <summary>
    /// Draws from <paramref name="generator"/> until <paramref name="count"/> trees pass
    /// <paramref name="acceptShape"/> (length, depth) and <paramref name="acceptExample"/> and are not yet in <paramref name="seen"/> (expression strings, shared across splits).
    /// Trees longer than <paramref name="maxLength"/> or deeper than <paramref name="maxDepth"/>, or that can no longer
    /// reach <paramref name="requiredDepth"/> within the budget, are cut short and discarded. Throws when
    /// <paramref name="maxDraws"/> draws do not suffice, or when 100,000 accepted trees in a row were all repeats
    /// (the window holds too few distinct trees).
    /// </summary>
    public static List<ListOpsExample> DrawDistinct(
        ListOpsGenerator generator, int count, int maxLength, int maxDepth, int requiredDepth, Func<int, int, bool> acceptShape,
        Func<ListOpsExample, bool>? acceptExample, HashSet<string> seen, long maxDraws, string what)
    {
        var result = new List<ListOpsExample>(count);
        long draws = 0, repeats = 0;
        while (result.Count < count)
        {
            if (++draws > maxDraws || repeats >= 100_000)
                throw new InvalidOperationException(
                    $"only {result.Count} of {count} distinct {what} were found in {draws - 1:N0} draws " +
                    $"({repeats:N0} repeats in a row at the end); ask for fewer or widen the length window.");
            if (!generator.TryDraw(maxLength, maxDepth, requiredDepth, out int length, out int depth) || !acceptShape(length, depth)) continue;
            var example = generator.Current();
            if (acceptExample is not null && !acceptExample(example)) continue;
            if (seen.Add(example.Expression))
            {
                result.Add(example);
                repeats = 0;
            }
            else repeats++;
        }
        return result;
    }

    /// <summary>The draw budget for <paramref name="count"/> trees: generous enough for acceptance rates down to 1e-5.</summary>
    public static long DrawBudget(int count) => 100_000L * (count + 100);

    /// <summary>Shuffles a copy of <paramref name="items"/> with a stream of <paramref name="seed"/>.</summary>
    public static IReadOnlyList<ListOpsExample> Shuffled(IEnumerable<ListOpsExample> items, long seed, long stream)
    {
        var list = items.ToList();
        new ListOpsRandom(ListOpsRandom.StreamSeed(seed, stream)).Shuffle(list);
        return list;
    }
}
