using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Solvers;

/// <summary>Which cells of a grid are adjacent to a cell.</summary>
public enum GridNeighbourhood
{
    /// <summary>Up, down, left, right.</summary>
    Four = 4,
    /// <summary>The four of <see cref="Four"/> plus the four diagonals (king moves), as in the Warcraft shortest-path task.</summary>
    Eight = 8,
}

/// <summary>How <see cref="GridShortestPathSolver"/> computes its paths; both give the same paths, ties included.</summary>
public enum GridShortestPathAlgorithm
{
    /// <summary>
    /// Bellman-Ford in alternating row sweeps with one map per SIMD lane (2 to 16 maps at a time, by the machine's vector
    /// width), falling back to Dijkstra for a map that has not settled after <see cref="GridShortestPathSolver.SweepLimit"/>
    /// sweeps (mazes) or that may have a zero cost or one lost in rounding (where Dijkstra's order among equal distances depends on queue history). The default: several times faster than Dijkstra on Warcraft-style and random maps.
    /// </summary>
    Sweep,
    /// <summary>Dijkstra with a radix heap, one map at a time.</summary>
    Dijkstra,
}

/// <summary>
/// Shortest path on a grid with vertex costs (Dijkstra), a cost-MINIMISING MAP solver: wrap it in I-MLE with
/// <c>Minimise = true</c>.
/// <para>Weights [B, H, W] (usually H = W = N) hold non-negative, finite cell costs c. A path runs from cell (0, 0) to cell
/// (H - 1, W - 1) through adjacent cells (<see cref="GridNeighbourhood"/>); it includes both end cells and its cost is the
/// sum of the costs of its cells, so z = argmin_{z a path} &lt;c, z&gt;. The result is the 0/1 mask [B, H, W] of the path,
/// with the input's dtype and device.</para>
/// <para>The path is Dijkstra's on vertex weights: dist(start) = c(start), relaxing u -&gt; v gives dist(u) + c(v) (in
/// float64), cells settled in the order of (distance, flat cell index) from a queue keyed by both, and a predecessor changing only on a strict
/// improvement. Deterministic, ties included.</para>
/// <para>Two algorithms give that same path (<see cref="GridShortestPathAlgorithm"/>). The default,
/// <see cref="GridShortestPathAlgorithm.Sweep"/>, relaxes 2 to 16 maps at once, one per SIMD lane, in alternating row
/// sweeps (Bellman-Ford) until nothing changes, then backtracks each map through its neighbour of smallest
/// (distance, index), which is Dijkstra's predecessor when no cell is "flat" (a zero cost, or one lost in rounding); maps with a flat cell or
/// still changing after <see cref="SweepLimit"/> sweeps go to Dijkstra. <see cref="GridShortestPathAlgorithm.Dijkstra"/>
/// uses a monotone radix heap keyed by (distance, cell) (no decrease-key is needed with vertex costs) on a padded grid
/// without bounds checks. Both run on CPU arrays (float32 and float64 inputs are read without a dtype conversion) with
/// per-thread buffers reused across maps; batch items run in parallel when the batch is large enough
/// (<see cref="SolverParallelism"/>).</para>
/// </summary>
public sealed class GridShortestPathSolver : IMapSolver
{
    private static readonly (int Dr, int Dc)[] Four = { (-1, 0), (0, -1), (0, 1), (1, 0) };
    private static readonly (int Dr, int Dc)[] Eight = { (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1) };

    /// <summary>Per-thread scratch of one map: distances, predecessors, heap and the grid's adjacency (CSR).</summary>
    [ThreadStatic] private static Workspace? _workspace;

    /// <summary>Creates the solver.</summary>
    /// <param name="neighbourhood">4- or 8-neighbourhood (default 8, as in the reference Warcraft experiments).</param>
    /// <param name="algorithm">Sweeps (default) or Dijkstra; the paths are the same.</param>
    public GridShortestPathSolver(GridNeighbourhood neighbourhood = GridNeighbourhood.Eight,
        GridShortestPathAlgorithm algorithm = GridShortestPathAlgorithm.Sweep)
    {
        if (neighbourhood is not (GridNeighbourhood.Four or GridNeighbourhood.Eight))
            throw new ArgumentOutOfRangeException(nameof(neighbourhood), neighbourhood, "neighbourhood must be Four or Eight.");
        if (algorithm is not (GridShortestPathAlgorithm.Sweep or GridShortestPathAlgorithm.Dijkstra))
            throw new ArgumentOutOfRangeException(nameof(algorithm), algorithm, "algorithm must be Sweep or Dijkstra.");
        Neighbourhood = neighbourhood;
        Algorithm = algorithm;
    }

    /// <summary>Largest (H + 2) x (W + 2) accepted, so that 16 lanes of float64 per cell stay addressable by int.</summary>
    public const int MaxPaddedCells = 1 << 27;

    /// <summary>The adjacency of the grid.</summary>
    public GridNeighbourhood Neighbourhood { get; }

    /// <summary>How the paths are computed.</summary>
    public GridShortestPathAlgorithm Algorithm { get; }

    /// <summary>
    /// Most sweeps of <see cref="GridShortestPathAlgorithm.Sweep"/> before a map still changing is handed to Dijkstra
    /// (at least 2); null (default) = <see cref="DefaultSweepLimit"/>. A shortest path that turns between going down and
    /// going up k times needs about k + 2 sweeps, and one sweep costs about 1/60 of a Dijkstra on random maps.
    /// </summary>
    public int? SweepLimit
    {
        get => _sweepLimit;
        init
        {
            if (value is < 2)
                throw new ArgumentOutOfRangeException(nameof(SweepLimit), value, "SweepLimit must be >= 2 (or null for the default).");
            _sweepLimit = value;
        }
    }

    private readonly int? _sweepLimit;

    /// <summary>The default sweep limit for an H x W grid: 8 + (H + W) / 2.</summary>
    public static int DefaultSweepLimit(int h, int w) => 8 + (h + w) / 2;

    /// <summary>
    /// Vector width in bits of <see cref="GridShortestPathAlgorithm.Sweep"/>: 128 (2 maps per group), 256 (4), 512 (8) or
    /// 1024 (16: two 512-bit vectors side by side); null (default) = <see cref="DefaultSweepVectorBits"/>. Every width gives
    /// the same paths; a width the CPU lacks runs in .NET's software fallback (slowly), which lets tests cover all widths.
    /// </summary>
    public int? SweepVectorBits
    {
        get => _sweepBits;
        init
        {
            if (value is not (null or 128 or 256 or 512 or 1024))
                throw new ArgumentOutOfRangeException(nameof(SweepVectorBits), value, "SweepVectorBits must be 128, 256, 512 or 1024 (or null for the default).");
            _sweepBits = value;
        }
    }

    private readonly int? _sweepBits;

    /// <summary>The fastest sweep width on this machine: 1024 with AVX-512, 256 with AVX2, else 128.</summary>
    public static int DefaultSweepVectorBits => Vector512.IsHardwareAccelerated ? 1024 : Vector256.IsHardwareAccelerated ? 256 : 128;

    /// <summary>
    /// The width used when <see cref="SweepVectorBits"/> is null: <see cref="DefaultSweepVectorBits"/>, halved (down to
    /// 128) while half the width still holds the whole batch (a single map does not pay for 16 lanes) or while the two
    /// per-thread buffers (distances and costs, 16 bytes per padded cell and lane) would exceed 64 MiB (huge grids).
    /// </summary>
    public static int SweepVectorBitsFor(int batch, int h, int w)
    {
        long padded = (long)(h + 2) * (w + 2);
        int bits = DefaultSweepVectorBits;
        while (bits > 128 && (bits / 128 >= batch || padded * (bits / 64) * 16 > 64L << 20)) bits /= 2;
        return bits;
    }

    /// <summary>Maps per SIMD group of <see cref="GridShortestPathAlgorithm.Sweep"/> at the default width on this machine.</summary>
    public static int SweepLanes => DefaultSweepVectorBits / 64;

    /// <inheritdoc />
    public Tensor Solve(Tensor weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.dim() != 3 || weights.shape[1] < 1 || weights.shape[2] < 1)
            throw new ArgumentException($"weights must have shape [B, H, W] with H, W >= 1 (got {BatchArrays.Shape(weights)}).", nameof(weights));
        int batch = checked((int)weights.shape[0]);
        int h = checked((int)weights.shape[1]), wd = checked((int)weights.shape[2]);
        if ((long)(h + 2) * (wd + 2) > MaxPaddedCells)
            throw new ArgumentException($"weights: a grid of at most {MaxPaddedCells} cells with its border is supported (got {h} x {wd}).", nameof(weights));
        int cells = h * wd;
        var moves = Neighbourhood == GridNeighbourhood.Four ? Four : Eight;
        long work = (long)cells * moves.Length * Math.Max(1, (long)Math.Log2(cells + 1));
        int length = checked(batch * cells);
        using var source = ContiguousCpu(weights);
        if (source.dtype == ScalarType.Float32)
            return Run<float>(source, weights, length, batch, cells, h, wd, moves, work, ScalarType.Float32, Algorithm, SweepLimit ?? DefaultSweepLimit(h, wd), SweepVectorBits ?? SweepVectorBitsFor(batch, h, wd));
        return Run<double>(source, weights, length, batch, cells, h, wd, moves, work, ScalarType.Float64, Algorithm, SweepLimit ?? DefaultSweepLimit(h, wd), SweepVectorBits ?? SweepVectorBitsFor(batch, h, wd));
    }

    /// <summary>The weights as a contiguous CPU tensor, float32 or float64 (other floating types become float64).</summary>
    private static Tensor ContiguousCpu(Tensor weights)
    {
        if (!weights.is_floating_point())
            throw new ArgumentException($"weights must be a floating-point tensor (got {weights.dtype}).", nameof(weights));
        using var _ = torch.no_grad();
        using var detached = weights.detach();
        using var cpu = detached.cpu();
        return weights.dtype is ScalarType.Float32 or ScalarType.Float64
            ? cpu.contiguous()
            : cpu.to(ScalarType.Float64).contiguous();
    }

    /// <summary>Checks the costs, solves every map (in parallel when it pays) and writes the masks, with pooled arrays.</summary>
    private static Tensor Run<T>(Tensor source, Tensor like, int length, int batch, int cells, int h, int wd,
        (int Dr, int Dc)[] moves, long work, ScalarType dtype, GridShortestPathAlgorithm algorithm, int sweepLimit, int sweepBits)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>, System.Numerics.IMinMaxValue<T>
    {
        var c = ArrayPool<T>.Shared.Rent(length);
        var z = ArrayPool<T>.Shared.Rent(length);
        try
        {
            BatchArrays.CopyTo<T>(source, c.AsSpan(0, length));
            if (!FiniteNonNegative<T>(c.AsSpan(0, length)))
                for (int i = 0; i < length; i++) Check(double.CreateTruncating(c[i]), i, h, wd);
            Array.Clear(z, 0, length);
            if (algorithm == GridShortestPathAlgorithm.Dijkstra)
                SolverParallelism.For(batch, work, b => PathInto<T>(c.AsSpan(b * cells, cells), z.AsSpan(b * cells, cells), h, wd, moves, T.One));
            else
            {
                int bits = sweepBits, lanes = bits / 64, groups = (batch + lanes - 1) / lanes, limit = sweepLimit;
                SolverParallelism.For(groups, work * lanes, g =>
                {
                    int first = g * lanes, count = Math.Min(lanes, batch - first);
                    int failed = SweepGroup<T>(c.AsSpan(0, length), z.AsSpan(0, length), first, count, h, wd, moves.Length == 8, limit, bits);
                    for (int i = 0; i < count; i++)
                        if ((failed & (1 << i)) != 0)
                            PathInto<T>(c.AsSpan((first + i) * cells, cells), z.AsSpan((first + i) * cells, cells), h, wd, moves, T.One);
                });
            }
            return BatchArrays.Write<T>(z.AsSpan(0, length), dtype, like);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(c);
            ArrayPool<T>.Shared.Return(z);
        }
    }

    /// <summary>One group of up to <paramref name="bits"/> / 64 maps through <see cref="GridSweepKernel"/>.</summary>
    private static int SweepGroup<T>(ReadOnlySpan<T> c, Span<T> z, int first, int count, int h, int w, bool eight, int max, int bits)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => bits switch
    {
        1024 => GridSweepKernel.Solve<Pair<Vector512<double>>, PairLanes<Vector512<double>, Lanes512>, T>(c, z, first, count, h, w, eight, max, T.One),
        512 => GridSweepKernel.Solve<Vector512<double>, Lanes512, T>(c, z, first, count, h, w, eight, max, T.One),
        256 => GridSweepKernel.Solve<Vector256<double>, Lanes256, T>(c, z, first, count, h, w, eight, max, T.One),
        _ => GridSweepKernel.Solve<Vector128<double>, Lanes128, T>(c, z, first, count, h, w, eight, max, T.One),
    };

    /// <summary>Whether every value is in [0, MaxValue] (NaN, infinities and negatives are not), vectorised.</summary>
    private static bool FiniteNonNegative<T>(ReadOnlySpan<T> values)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>, System.Numerics.IMinMaxValue<T>
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && System.Numerics.Vector<T>.IsSupported)
        {
            var max = new System.Numerics.Vector<T>(T.MaxValue);
            for (; i + System.Numerics.Vector<T>.Count <= values.Length; i += System.Numerics.Vector<T>.Count)
            {
                var v = new System.Numerics.Vector<T>(values.Slice(i));
                if (!System.Numerics.Vector.GreaterThanOrEqualAll(v, System.Numerics.Vector<T>.Zero)
                    || !System.Numerics.Vector.LessThanOrEqualAll(v, max))
                    return false;
            }
        }
        for (; i < values.Length; i++)
            if (!(values[i] >= T.Zero && values[i] <= T.MaxValue)) return false;
        return true;
    }

    private static void Check(double v, int i, int h, int wd)
    {
        const string weights = "weights";
        if (double.IsNaN(v) || double.IsInfinity(v))
            throw new NonFiniteValueException($"weights (vertex costs) must be finite; flat index {i} holds {v}.", weights);
        if (v < 0)
            throw new ArgumentOutOfRangeException(weights, v,
                $"weights (vertex costs) must be >= 0 for Dijkstra; instance {i / (h * wd)}, cell ({i % (h * wd) / wd}, {i % wd}) holds {v}.");
    }

    /// <summary>
    /// Dijkstra on one map: costs <paramref name="c"/> (H x W, row-major) to the 0/1 path mask <paramref name="z"/>.
    /// <para>Works on a padded (H + 2) x (W + 2) copy whose border cells have distance -infinity, so a move never needs a
    /// bounds check and neighbours are fixed index offsets. Padded indices keep the row-major order of the cells, so
    /// ties still go by flat cell index.</para>
    /// <para>With VERTEX costs a cell's first tentative distance is final: it is reached first from the neighbour u
    /// settled first, i.e. with the smallest dist(u), and every later candidate dist(u') + c(v) with dist(u') &gt;= dist(u)
    /// is no smaller (rounded addition is monotone). The textbook algorithm therefore never improves a distance after the
    /// first relaxation (its strict-improvement rule keeps the first predecessor on ties), so it needs no decrease-key:
    /// a cell is pushed once, when first reached (distance still +infinity), and popped once, in (distance, index) order
    /// (<see cref="RadixQueue"/>).
    /// Paths, ties included, are those of the lazy-deletion Dijkstra keyed by (distance, index).</para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loop: fully optimised from the first call, no tiering
    private static void PathInto<T>(ReadOnlySpan<T> c, Span<T> z, int h, int w, (int Dr, int Dc)[] moves, T one)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var ws = _workspace ??= new Workspace();
        int pw = w + 2;
        ws.Prepare(h, w, moves);
        var dist = ws.Dist;
        var prev = ws.Prev;
        var cost = ws.Cost;
        var offsets = ws.Offsets;
        for (int r = 0; r < h; r++)
        {
            int row = (r + 1) * pw + 1;
            var src = c.Slice(r * w, w);
            // + 0.0 turns a -0.0 cost into +0.0 (equal under every comparison, so the result is unchanged).
            for (int col = 0; col < w; col++) cost[row + col] = double.CreateTruncating(src[col]) + 0.0;
            Array.Fill(dist, double.PositiveInfinity, row, w);
        }
        int startCell = pw + 1, target = h * pw + w;
        Array.Fill(ws.Heads, -1);
        var queue = new RadixQueue(ws.Next, ws.Heads);
        dist[startCell] = cost[startCell];
        prev[startCell] = -1;
        prev[target] = -1; // stays so only if the target is never reached (distances overflowing to infinity)
        ref double d0 = ref MemoryMarshal.GetArrayDataReference(dist);
        ref double c0 = ref MemoryMarshal.GetArrayDataReference(cost);
        ref int p0 = ref MemoryMarshal.GetArrayDataReference(prev);
        queue.Push(startCell, dist[startCell]);
        while (queue.Count > 0)
        {
            int u = queue.Pop(ref d0);
            if (u == target) break;
            double du = Unsafe.Add(ref d0, u);
            foreach (int off in offsets)
            {
                int v = u + off;
                ref double dv = ref Unsafe.Add(ref d0, v);
                // Unreached cells hold +infinity; settled and queued cells are final; the border holds -infinity.
                if (dv != double.PositiveInfinity) continue;
                double nd = du + Unsafe.Add(ref c0, v);
                if (nd == double.PositiveInfinity) continue; // overflow: the textbook strict test nd < dist(v) fails too
                dv = nd;
                Unsafe.Add(ref p0, v) = u;
                queue.Push(v, nd);
            }
        }
        for (int v = target; v >= 0; v = prev[v])
        {
            z[(v / pw - 1) * w + v % pw - 1] = one;
            if (v == startCell) break;
        }
    }

    /// <summary>
    /// Monotone priority queue of cells keyed by (distance, cell index): a radix heap (Ahuja, Mehlhorn, Orlin, Tarjan 1990)
    /// on the IEEE-754 bits of the distances, which order non-negative doubles like the values. Bucket i &gt; 0 holds the
    /// cells whose key first differs from the last popped key at bit i - 1; bucket 0 the cells whose key equals it. A
    /// pop takes the smallest cell index of bucket 0; when bucket 0 is empty, the lowest non-empty bucket's minimum becomes
    /// the last key and its cells move to lower buckets. Valid because every pushed key is &gt;= the last popped one
    /// (Dijkstra with non-negative costs). Buckets are singly linked lists through <c>next</c>, as a cell is queued once.
    /// </summary>
    private ref struct RadixQueue(int[] next, int[] heads)
    {
        private readonly ref int _next = ref MemoryMarshal.GetArrayDataReference(next);
        private readonly Span<int> _heads = heads.AsSpan(0, 65);
        private ulong _last;
        private ulong _mask; // bit i - 1 set when bucket i (1..64) is non-empty
        public int Count;

        private readonly int Bucket(ulong bits) => 64 - BitOperations.LeadingZeroCount(bits ^ _last);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Push(int cell, double key)
        {
            int b = Bucket(BitConverter.DoubleToUInt64Bits(key));
            Unsafe.Add(ref _next, cell) = _heads[b];
            _heads[b] = cell;
            if (b > 0) _mask |= 1UL << (b - 1);
            Count++;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Pop(ref double dist)
        {
            if (_heads[0] < 0)
            {
                int b = BitOperations.TrailingZeroCount(_mask) + 1;
                int head = _heads[b];
                _heads[b] = -1;
                _mask &= ~(1UL << (b - 1));
                ulong min = ulong.MaxValue;
                for (int c = head; c >= 0; c = Unsafe.Add(ref _next, c))
                    min = Math.Min(min, BitConverter.DoubleToUInt64Bits(Unsafe.Add(ref dist, c)));
                _last = min;
                for (int c = head; c >= 0;)
                {
                    int following = Unsafe.Add(ref _next, c);
                    int nb = Bucket(BitConverter.DoubleToUInt64Bits(Unsafe.Add(ref dist, c)));
                    Unsafe.Add(ref _next, c) = _heads[nb];
                    _heads[nb] = c;
                    if (nb > 0) _mask |= 1UL << (nb - 1);
                    c = following;
                }
            }
            // Bucket 0: equal keys; the smallest cell index goes first (usually the only entry).
            int best = _heads[0], bestPrev = -1;
            for (int p = best, c = Unsafe.Add(ref _next, best); c >= 0; p = c, c = Unsafe.Add(ref _next, c))
                if (c < best) { best = c; bestPrev = p; }
            if (bestPrev < 0) _heads[0] = Unsafe.Add(ref _next, best);
            else Unsafe.Add(ref _next, bestPrev) = Unsafe.Add(ref _next, best);
            Count--;
            return best;
        }
    }

    /// <summary>
    /// Buffers of one thread for the padded grid, grown on demand and reused across maps; the border cells' distance
    /// (-infinity) and the neighbour offsets are set only when the grid shape changes.
    /// </summary>
    private sealed class Workspace
    {
        public double[] Dist = [], Cost = [];
        public int[] Prev = [], Offsets = [], Next = [];
        public int[] Heads = new int[65];
        private int _h = -1, _w = -1;
        private (int Dr, int Dc)[]? _moves;

        public void Prepare(int h, int w, (int Dr, int Dc)[] moves)
        {
            if (h == _h && w == _w && ReferenceEquals(moves, _moves)) return;
            int pw = w + 2, padded = (h + 2) * pw;
            if (Dist.Length < padded)
            {
                Dist = new double[padded];
                Cost = new double[padded];
                Prev = new int[padded];
                Next = new int[padded];
            }
            Array.Fill(Dist, double.NegativeInfinity);
            Array.Clear(Cost);
            Offsets = moves.Select(m => m.Dr * pw + m.Dc).ToArray();
            (_h, _w, _moves) = (h, w, moves);
        }
    }
}
