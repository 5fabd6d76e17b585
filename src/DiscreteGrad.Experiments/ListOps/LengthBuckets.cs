namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The training order of a ListOps run as a function of the step alone, with batches of similar length. Example i of
/// length l_i belongs to bucket floor((l_i - 1) / w) for the bucket width w (w = 1: every bucket one length, as the DCCG
/// reference batches equal-length expressions without padding). Epoch e shuffles the members of each bucket, cuts every
/// bucket into batches of at most B examples (the last one of a bucket smaller), and shuffles the order of all those
/// batches, every draw from a SplitMix64 stream seeded by (seed, e) (<see cref="ListOpsRandom"/>). Each example is thus
/// visited exactly once per epoch, the number of steps per epoch sum_b ceil(n_b / B) is the same in every epoch, and a
/// resumed run sees the same batches without checkpointed state. A model whose cost grows with L^2 (the DCCG messages,
/// the Tree-LSTM's merges) pays mean(l^2) per example instead of max(l)^2 as with random batches padded to the longest.
/// </summary>
public sealed class LengthBucketBatches
{
    private readonly int[][] _buckets;
    private readonly long _seed;
    private long _epoch = -1;
    private int[][] _order = Array.Empty<int[]>();

    /// <summary>Creates the order of examples with the given lengths.</summary>
    /// <param name="lengths">Token count of every example (at least one example, every length &gt;= 1).</param>
    /// <param name="batchSize">Most examples per batch B (&gt;= 1).</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="bucketWidth">Lengths per bucket w (&gt;= 1; 1: equal lengths).</param>
    public LengthBucketBatches(IReadOnlyList<int> lengths, int batchSize, long seed, int bucketWidth = 1)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Count == 0) throw new ArgumentException("there must be at least one example.", nameof(lengths));
        Guard.AtLeast(batchSize, 1, nameof(batchSize));
        Guard.AtLeast(bucketWidth, 1, nameof(bucketWidth));
        for (int i = 0; i < lengths.Count; i++)
            if (lengths[i] < 1) throw new ArgumentException($"example {i} has length {lengths[i]}; lengths must be >= 1.", nameof(lengths));
        BatchSize = batchSize;
        BucketWidth = bucketWidth;
        _seed = seed;
        _buckets = Enumerable.Range(0, lengths.Count).GroupBy(i => BucketOf(lengths[i], bucketWidth)).OrderBy(g => g.Key)
            .Select(g => g.ToArray()).ToArray();
        StepsPerEpoch = _buckets.Sum(b => (b.Length + (long)batchSize - 1) / batchSize);
        Count = lengths.Count;
    }

    /// <summary>Most examples per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Lengths per bucket.</summary>
    public int BucketWidth { get; }
    /// <summary>Number of examples.</summary>
    public int Count { get; }
    /// <summary>Number of non-empty buckets.</summary>
    public int Buckets => _buckets.Length;
    /// <summary>Steps per epoch, sum over buckets of ceil(n_b / B).</summary>
    public long StepsPerEpoch { get; }

    /// <summary>The bucket of a length: floor((length - 1) / width).</summary>
    public static int BucketOf(int length, int width) => (length - 1) / width;

    /// <summary>The example indices of <paramref name="step"/> (steps count on across epochs).</summary>
    public IReadOnlyList<int> Indices(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be >= 0.");
        long epoch = step / StepsPerEpoch;
        if (epoch != _epoch)
        {
            _order = Order(epoch);
            _epoch = epoch;
        }
        return _order[step % StepsPerEpoch];
    }

    /// <summary>Every batch of epoch <paramref name="epoch"/> in training order (a function of the seed and the epoch only).</summary>
    public int[][] Order(long epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must be >= 0.");
        var rng = new ListOpsRandom(ListOpsRandom.StreamSeed(_seed, 7_000_000_000L + epoch));
        var batches = new List<int[]>((int)StepsPerEpoch);
        foreach (var bucket in _buckets)
        {
            var members = (int[])bucket.Clone();
            rng.Shuffle(members);
            for (int s = 0; s < members.Length; s += BatchSize)
                batches.Add(members.AsSpan(s, Math.Min(BatchSize, members.Length - s)).ToArray());
        }
        rng.Shuffle(batches);
        return batches.ToArray();
    }

    /// <summary>
    /// Evaluation batches: the examples grouped by exact length (shortest first), each length cut in order into batches of
    /// at most <paramref name="batchSize"/>(l) examples, so that no batch needs padding.
    /// </summary>
    /// <param name="lengths">Token count of every example.</param>
    /// <param name="batchSize">Most examples per batch as a function of the length (&gt;= 1).</param>
    public static IReadOnlyList<int[]> ByLength(IReadOnlyList<int> lengths, Func<int, int> batchSize)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(batchSize);
        var result = new List<int[]>();
        foreach (var g in Enumerable.Range(0, lengths.Count).GroupBy(i => lengths[i]).OrderBy(g => g.Key))
        {
            var members = g.ToArray();
            int b = Math.Max(1, batchSize(g.Key));
            for (int s = 0; s < members.Length; s += b)
                result.Add(members.AsSpan(s, Math.Min(b, members.Length - s)).ToArray());
        }
        return result;
    }
}
