namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// Parameters of the ListOps tree process of Nangia and Bowman ("ListOps: A Diagnostic Dataset for Latent Tree
/// Learning", 2018): a node at level l (the root is level 1) is an operator with probability 1 -
/// <see cref="LeafProbability"/> when l &lt; <see cref="ForcedLeafLevel"/>, else a digit; an operator takes a number
/// of arguments drawn uniformly from [<see cref="MinArguments"/>, <see cref="MaxArguments"/>], each a node of level
/// l + 1, and is drawn uniformly from <see cref="Operators"/>; a digit is uniform on 0-9. The defaults are the
/// reference generator's (VALUE_P = 0.25, MAX_ARGS = 5, MAX_DEPTH = 20): operators then nest at most
/// <see cref="ForcedLeafLevel"/> - 1 = 19 deep (<see cref="ListOpsExample.Depth"/> &lt;= 19).
/// </summary>
public sealed record ListOpsGeneratorOptions
{
    /// <summary>The operators drawn from, uniformly; all four by default.</summary>
    public IReadOnlyList<ListOpsOperator> Operators { get; init; } =
        new[] { ListOpsOperator.Min, ListOpsOperator.Max, ListOpsOperator.Med, ListOpsOperator.SumMod };

    /// <summary>Probability that a node above the forced-leaf level is a digit (0.75).</summary>
    public double LeafProbability { get; init; } = 0.75;

    /// <summary>Fewest arguments of an operator (2).</summary>
    public int MinArguments { get; init; } = 2;

    /// <summary>Most arguments of an operator (5).</summary>
    public int MaxArguments { get; init; } = 5;

    /// <summary>Level at which a node is always a digit (20, the reference's MAX_DEPTH); operators nest at most one less.</summary>
    public int ForcedLeafLevel { get; init; } = 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        if (Operators is null || Operators.Count == 0) throw new ArgumentException("at least one operator is needed.", nameof(Operators));
        foreach (var op in Operators)
            if (!Enum.IsDefined(op)) throw new ArgumentException($"unknown operator {op}.", nameof(Operators));
        if (!(LeafProbability >= 0 && LeafProbability <= 1))
            throw new ArgumentException($"LeafProbability must be in [0, 1]; got {LeafProbability}.", nameof(LeafProbability));
        if (MinArguments < 1) throw new ArgumentException($"MinArguments must be at least 1; got {MinArguments}.", nameof(MinArguments));
        if (MaxArguments < MinArguments)
            throw new ArgumentException($"MaxArguments ({MaxArguments}) must be at least MinArguments ({MinArguments}).", nameof(MaxArguments));
        if (ForcedLeafLevel < 1) throw new ArgumentException($"ForcedLeafLevel must be at least 1; got {ForcedLeafLevel}.", nameof(ForcedLeafLevel));
    }
}

/// <summary>
/// Draws ListOps trees from the process of <see cref="ListOpsGeneratorOptions"/> with a seeded
/// <see cref="ListOpsRandom"/>: the same options and seed give the same trees on any machine. Like the reference
/// generator, a node draws its leaf-or-operator coin, then its argument count, then its arguments (depth first), then
/// its operator. A draw can be cut short at a token budget or a depth bound: the tree is then discarded, which leaves
/// the kept trees distributed exactly as the process conditioned on length &lt;= budget and depth &lt;= bound (both only
/// grow while drawing). Conditioning on a depth bound is not the same as forcing leaves below it: forcing spares the
/// deepest nodes their leaf coin and so favours bushier bottom levels. With a required depth as well, a draw also stops
/// as soon as the budget can no longer hold it: reaching depth d from a node at level l takes at least
/// 3 (d - l + 1) + 1 more tokens (a chain of two-argument operators), plus one token per argument the open ancestors
/// have still to draw and one <c>]</c> per open ancestor. Every draw stopped that way would have been rejected, so the
/// kept trees keep the same distribution.
/// </summary>
public sealed class ListOpsGenerator
{
    private readonly ListOpsRandom _random;
    private readonly int[] _operatorIds;
    private readonly double _operatorProbability;
    private readonly int _minArgs, _argChoices, _forcedLeafLevel;
    private int[] _buffer = new int[64];
    private int _count, _budget, _depth, _maxDepth, _requiredDepth, _pending;

    /// <summary>Creates a generator.</summary>
    public ListOpsGenerator(ListOpsGeneratorOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _random = new ListOpsRandom(ListOpsRandom.StreamSeed(seed, 0));
        _operatorIds = options.Operators.Select(ListOpsVocabulary.OperatorId).ToArray();
        _operatorProbability = 1.0 - options.LeafProbability;
        _minArgs = options.MinArguments;
        _argChoices = options.MaxArguments - options.MinArguments + 1;
        _forcedLeafLevel = options.ForcedLeafLevel;
    }

    /// <summary>The process parameters.</summary>
    public ListOpsGeneratorOptions Options { get; }

    /// <summary>Draws one tree (possibly a bare digit).</summary>
    public ListOpsExample Next() => TryNext(int.MaxValue) ?? throw new InvalidOperationException("unreachable: no bound.");

    /// <summary>
    /// Draws one tree, or returns null when it grows past <paramref name="maxLength"/> tokens or its operators nest
    /// deeper than <paramref name="maxDepth"/>.
    /// </summary>
    public ListOpsExample? TryNext(int maxLength, int maxDepth = int.MaxValue) =>
        TryDraw(maxLength, maxDepth, 0, out _, out _) ? Current() : null;

    /// <summary>
    /// Draws one tree into the internal buffer; false when it grew past <paramref name="maxLength"/> tokens, drew an
    /// operator below depth <paramref name="maxDepth"/>, or (when <paramref name="requiredDepth"/> &gt; 0) can no
    /// longer reach that depth within the budget; the draw stops there. The last test relies on
    /// <see cref="ListOpsGeneratorOptions.MinArguments"/> &gt;= 2 and is skipped otherwise. On success
    /// <paramref name="length"/> and <paramref name="depth"/> describe the tree and <see cref="Current"/> builds it.
    /// </summary>
    internal bool TryDraw(int maxLength, int maxDepth, int requiredDepth, out int length, out int depth)
    {
        _count = 0;
        _depth = 0;
        _budget = maxLength;
        _maxDepth = maxDepth;
        _requiredDepth = _minArgs >= 2 ? requiredDepth : 0;
        _pending = 0;
        bool ok = Node(1);
        length = _count;
        depth = _depth;
        return ok;
    }

    /// <summary>The tree of the last successful <see cref="TryDraw"/>.</summary>
    internal ListOpsExample Current() => ListOpsExample.Build(_buffer.AsSpan(0, _count).ToArray(), "tokens");

    private bool Node(int level)
    {
        // _pending: arguments of open ancestors not yet started (this node excluded); each takes at least one token.
        if (_depth < _requiredDepth && _count + 3 * (_requiredDepth - level + 1) + 1 + _pending + (level - 1) > _budget) return false;
        bool isOperator = level < _forcedLeafLevel && _random.NextDouble() < _operatorProbability;
        if (!isOperator) return Emit(ListOpsVocabulary.Digit0 + _random.NextInt(10));
        if (level > _maxDepth) return false;
        if (level > _depth) _depth = level;
        int at = _count;
        if (!Emit(ListOpsVocabulary.Close)) return false; // placeholder, replaced by the operator drawn below
        int k = _minArgs + _random.NextInt(_argChoices);
        _pending += k;
        for (int i = 0; i < k; i++)
        {
            _pending--;
            if (!Node(level + 1)) return false;
        }
        _buffer[at] = _operatorIds[_random.NextInt(_operatorIds.Length)];
        return Emit(ListOpsVocabulary.Close);
    }

    private bool Emit(int id)
    {
        if (_count >= _budget) return false;
        if (_count == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        _buffer[_count++] = id;
        return true;
    }
}
