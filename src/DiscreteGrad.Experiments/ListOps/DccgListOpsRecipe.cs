namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The ListOps data of Friede and Niepert ("Efficient Learning of Discrete-Continuous Computation Graphs", NeurIPS
/// 2021): operators MIN, MAX and MED only, 2-5 arguments, digits 0-9, train / dev / test balanced over depths 1-5
/// (equal counts per depth) and extrapolation test sets of depth 8 and 10.
/// <para>
/// The authors published data files but no generator, so the recipe is reconstructed from their dev and test files
/// (10,000 examples each, all checked): exactly 2,000 per depth 1-5; operators MIN/MAX/MED; 2-5 arguments; no
/// expression repeated within or across the two files; lengths 4-7 at depth 1 and 10-50 at depths 2-5 (none of the
/// 16,000 deeper examples is shorter than 10 tokens, though 7-9 token trees are the commonest of depth 2; hence
/// <see cref="MinNestedLength"/>). What fits them is Nangia and Bowman's process (<see cref="ListOpsGeneratorOptions"/>,
/// leaf probability 0.75, uniform arity) with the three operators and leaves forced at level 6, i.e. run with a
/// maximum depth of 5, every tree longer than 50 tokens discarded, and the trees sorted into depths: the mean lengths
/// of the published depth 2-5 examples are 11.8, 17.0, 24.8 and 34.8 (dev and test together), this recipe gives 11.8,
/// 17.0, 24.7 and 34.7 (seed 1), while forcing leaves right below every depth (a separate maximum depth d per depth
/// d) gives 13.4, 20.7, 28.8 and 34.9, and never forcing them (maximum depth 19) 11.8, 17.0, 24.7 and 32.0. Only the
/// deepest depth of a run meets the forced leaves, which is why depth 5 alone tells the variants apart. By analogy
/// the depth-8 and depth-10 sets are drawn from runs with maximum depths 8 and 10.
/// </para>
/// <para>
/// Each depth's train, dev and test examples are one pool of distinct trees, shuffled and then split. That matches a
/// detail of the published files: at depth 1 only 1.0-1.5% of the examples have 2 arguments (only 300 such trees
/// exist) against 46-47% with 4, which is what a pool of about 22,000 distinct depth-1 trees (18,000 train + 2,000 dev
/// + 2,000 test) drawn from this process gives (1.4% and 45% expected; 1.3% and 43% in this recipe's dev and test,
/// seed 1). The training and extrapolation files (4 MiB or more each) could not be read for this reconstruction, so
/// <see cref="TrainPerDepth"/> (90,000 in all) and the extrapolation sets' size and length window are choices, not
/// checked facts. Their size at least fits: 10,000 examples of at most 50 tokens take 4 MiB or more in this format
/// (about 6.2 MB at depth 8), 2,000 would not (about 1.2 MB).
/// </para>
/// </summary>
public sealed record DccgListOpsRecipe
{
    /// <summary>MIN, MAX, MED: the DCCG operator set (no SM).</summary>
    public static IReadOnlyList<ListOpsOperator> DccgOperators { get; } =
        new[] { ListOpsOperator.Min, ListOpsOperator.Max, ListOpsOperator.Med };

    /// <summary>Probability that a node is a digit (0.75, Nangia and Bowman).</summary>
    public double LeafProbability { get; init; } = 0.75;
    /// <summary>Fewest arguments of an operator (2).</summary>
    public int MinArguments { get; init; } = 2;
    /// <summary>Most arguments of an operator (5).</summary>
    public int MaxArguments { get; init; } = 5;
    /// <summary>Smallest depth of the balanced splits (1).</summary>
    public int MinDepth { get; init; } = 1;
    /// <summary>Largest depth of the balanced splits (5).</summary>
    public int MaxDepth { get; init; } = 5;
    /// <summary>Training examples per depth (18,000: 90,000 over depths 1-5).</summary>
    public int TrainPerDepth { get; init; } = 18_000;
    /// <summary>Dev examples per depth (2,000: 10,000 over depths 1-5, as published).</summary>
    public int DevPerDepth { get; init; } = 2_000;
    /// <summary>Test examples per depth (2,000: 10,000 over depths 1-5, as published).</summary>
    public int TestPerDepth { get; init; } = 2_000;
    /// <summary>Fewest tokens of a depth-1 expression (4: an operator with two digits).</summary>
    public int MinLength { get; init; } = 4;
    /// <summary>Fewest tokens of an expression of depth 2 or more (10, as in the published files).</summary>
    public int MinNestedLength { get; init; } = 10;
    /// <summary>Most tokens of an expression of the balanced splits (50).</summary>
    public int MaxLength { get; init; } = 50;
    /// <summary>Depths of the extrapolation test sets (8 and 10).</summary>
    public IReadOnlyList<int> ExtrapolationDepths { get; init; } = new[] { 8, 10 };
    /// <summary>Examples per extrapolation test set (10,000, as many as the test set).</summary>
    public int ExtrapolationCount { get; init; } = 10_000;
    /// <summary>Most tokens of an extrapolation example (50, the window of the other splits).</summary>
    public int ExtrapolationMaxLength { get; init; } = 50;

    /// <summary>
    /// The process of a generation run whose deepest depth is <paramref name="maxDepth"/>: Nangia and Bowman's with
    /// the DCCG operators and leaves forced at level <paramref name="maxDepth"/> + 1.
    /// </summary>
    public ListOpsGeneratorOptions GeneratorOptions(int maxDepth) => new()
    {
        Operators = DccgOperators,
        LeafProbability = LeafProbability,
        MinArguments = MinArguments,
        MaxArguments = MaxArguments,
        ForcedLeafLevel = maxDepth + 1,
    };

    /// <summary>Fewest tokens allowed at <paramref name="depth"/>: <see cref="MinLength"/> at depth 1, else the larger of it and <see cref="MinNestedLength"/>.</summary>
    public int MinLengthAt(int depth) => depth <= 1 ? MinLength : Math.Max(MinLength, MinNestedLength);

    /// <summary>
    /// Generates train, dev and test (each balanced over <see cref="MinDepth"/>-<see cref="MaxDepth"/>, in shuffled
    /// order) and one extrapolation set per <see cref="ExtrapolationDepths"/>. The same recipe and seed give the same
    /// data on any machine; the pool of depth d is drawn from its own stream, so it does not depend on the other depths.
    /// </summary>
    /// <exception cref="InvalidOperationException">A window holds too few distinct trees for the counts asked.</exception>
    public ListOpsSplits Generate(long seed)
    {
        Validate();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var train = new List<ListOpsExample>();
        var dev = new List<ListOpsExample>();
        var test = new List<ListOpsExample>();
        for (int depth = MinDepth; depth <= MaxDepth; depth++)
        {
            int total = TrainPerDepth + DevPerDepth + TestPerDepth;
            var pool = DrawDepth(depth, MaxDepth, total, MinLengthAt(depth), MaxLength, seed, depth, seen);
            new ListOpsRandom(ListOpsRandom.StreamSeed(seed, 1_000 + depth)).Shuffle(pool);
            dev.AddRange(pool.Take(DevPerDepth));
            test.AddRange(pool.Skip(DevPerDepth).Take(TestPerDepth));
            train.AddRange(pool.Skip(DevPerDepth + TestPerDepth));
        }
        var extrapolation = new SortedDictionary<int, IReadOnlyList<ListOpsExample>>();
        foreach (int depth in ExtrapolationDepths)
            extrapolation[depth] = DrawDepth(depth, depth, ExtrapolationCount, MinLengthAt(depth), ExtrapolationMaxLength, seed, 10_000 + depth, seen);
        return new ListOpsSplits(
            ListOpsSampling.Shuffled(train, seed, 20_001),
            ListOpsSampling.Shuffled(dev, seed, 20_002),
            ListOpsSampling.Shuffled(test, seed, 20_003),
            extrapolation);
    }

    /// <summary>
    /// <paramref name="count"/> distinct trees of exactly <paramref name="depth"/> with
    /// <paramref name="minLength"/>-<paramref name="maxLength"/> tokens from the process of a run with maximum depth
    /// <paramref name="maxDepth"/> (at least <paramref name="depth"/>; see <see cref="GeneratorOptions"/>), from stream
    /// <paramref name="stream"/> of <paramref name="seed"/>, in the order drawn.
    /// </summary>
    public IReadOnlyList<ListOpsExample> GenerateDepth(int depth, int maxDepth, int count, int minLength, int maxLength, long seed, long stream = 0)
    {
        Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, depth);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return DrawDepth(depth, maxDepth, count, minLength, maxLength, seed, stream, new HashSet<string>(StringComparer.Ordinal));
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        GeneratorOptions(Math.Max(1, MaxDepth)).Validate();
        if (MinDepth < 1) throw new ArgumentException($"MinDepth must be at least 1; got {MinDepth}.", nameof(MinDepth));
        if (MaxDepth < MinDepth) throw new ArgumentException($"MaxDepth ({MaxDepth}) must be at least MinDepth ({MinDepth}).", nameof(MaxDepth));
        if (TrainPerDepth < 0 || DevPerDepth < 0 || TestPerDepth < 0 || ExtrapolationCount < 0)
            throw new ArgumentException("example counts must be non-negative.");
        if (MinLength < 1 || MaxLength < MinLength || ExtrapolationMaxLength < 1)
            throw new ArgumentException($"the length window {MinLength}-{MaxLength} (extrapolation up to {ExtrapolationMaxLength}) is empty.");
        if (ExtrapolationDepths is null || ExtrapolationDepths.Any(d => d < 1) || ExtrapolationDepths.Distinct().Count() != ExtrapolationDepths.Count)
            throw new ArgumentException("ExtrapolationDepths must be distinct depths of at least 1.", nameof(ExtrapolationDepths));
    }

    // Trees of the run with maximum depth maxDepth that have exactly `depth`: operators below `depth` end the draw.
    private List<ListOpsExample> DrawDepth(int depth, int maxDepth, int count, int minLength, int maxLength, long seed, long stream, HashSet<string> seen)
    {
        var generator = new ListOpsGenerator(GeneratorOptions(maxDepth), (long)ListOpsRandom.StreamSeed(seed, stream));
        return ListOpsSampling.DrawDistinct(
            generator, count, maxLength, depth, depth, (length, d) => d == depth && length >= minLength, null, seen,
            ListOpsSampling.DrawBudget(count), $"depth-{depth} trees of {minLength}-{maxLength} tokens");
    }
}
