namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// ListOps as Nangia and Bowman generate it ("ListOps: A Diagnostic Dataset for Latent Tree Learning", 2018), in the
/// filtered form Liu et al. train on for Table 1 of "Bridging Discrete and Backpropagation: Straight-Through and
/// Beyond" (2023, ReinMax): all four operators (MIN, MAX, MED, SM), 2-5 arguments, leaf probability 0.75, leaves forced
/// at level 20 (operators nest at most 19 deep), distinct trees, and only sequences under 100 tokens kept.
/// <para>
/// ReinMax's loader (taken over from Fan et al.'s gapped straight-through code) drops the parentheses, puts a space
/// after every <c>[</c> and keeps a line when its white-space token count is below 100, so an operator counts twice
/// (<c>[</c> and <c>MIN</c>): with <see cref="CountOperatorsTwice"/> (the default) an expression is kept when
/// <see cref="ListOpsExample.Length"/> + its operator count &lt;= <see cref="MaxLength"/> = 99. Bare digits, which
/// the reference generator can emit and its loader skips, are never produced. Split sizes default to 90,000 training
/// and 10,000 test examples and no dev set: the published test file has 10,000 lines; the training size is a choice.
/// </para>
/// </summary>
public sealed record NangiaBowmanListOpsRecipe
{
    /// <summary>The process: the reference generator's defaults (<see cref="ListOpsGeneratorOptions"/>).</summary>
    public ListOpsGeneratorOptions Generator { get; init; } = new();
    /// <summary>Most tokens kept (99: "under 100").</summary>
    public int MaxLength { get; init; } = 99;
    /// <summary>Count each operator as two tokens toward <see cref="MaxLength"/>, as ReinMax's loader does (true).</summary>
    public bool CountOperatorsTwice { get; init; } = true;
    /// <summary>Training examples (90,000).</summary>
    public int TrainCount { get; init; } = 90_000;
    /// <summary>Dev examples (0).</summary>
    public int DevCount { get; init; }
    /// <summary>Test examples (10,000).</summary>
    public int TestCount { get; init; } = 10_000;

    /// <summary>The length of <paramref name="example"/> as <see cref="MaxLength"/> counts it.</summary>
    public int CountedLength(ListOpsExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        if (!CountOperatorsTwice) return example.Length;
        int operators = 0;
        foreach (int id in example.TokenSpan)
            if (ListOpsVocabulary.IsOperator(id)) operators++;
        return example.Length + operators;
    }

    /// <summary>
    /// Draws one pool of distinct trees, shuffles it and splits it into train, dev and test. The same recipe and seed
    /// give the same data on any machine.
    /// </summary>
    public ListOpsSplits Generate(long seed)
    {
        Generator.Validate();
        if (MaxLength < 1) throw new ArgumentException($"MaxLength must be at least 1; got {MaxLength}.", nameof(MaxLength));
        if (TrainCount < 0 || DevCount < 0 || TestCount < 0) throw new ArgumentException("example counts must be non-negative.");
        var generator = new ListOpsGenerator(Generator, (long)ListOpsRandom.StreamSeed(seed, 1));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int total = TrainCount + DevCount + TestCount;
        var pool = ListOpsSampling.DrawDistinct(
            generator, total, MaxLength, int.MaxValue, 0, (length, depth) => depth >= 1, e => CountedLength(e) <= MaxLength, seen,
            ListOpsSampling.DrawBudget(total), $"trees of at most {MaxLength} tokens");
        new ListOpsRandom(ListOpsRandom.StreamSeed(seed, 2)).Shuffle(pool);
        return new ListOpsSplits(
            pool.Skip(DevCount + TestCount).ToList(),
            pool.Take(DevCount).ToList(),
            pool.Skip(DevCount).Take(TestCount).ToList(),
            new SortedDictionary<int, IReadOnlyList<ListOpsExample>>());
    }
}
