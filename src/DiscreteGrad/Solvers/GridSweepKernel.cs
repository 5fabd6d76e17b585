using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DiscreteGrad.Solvers;

/// <summary>
/// Shortest paths on grids with vertex costs for several maps at once, one map per SIMD lane: Bellman-Ford relaxation in
/// alternating row sweeps (down, up, down, ...) until a sweep changes nothing, then a per-map backtrack.
/// <para>A sweep visits the rows in order; in each row it first relaxes every cell from the row it came from (the three
/// cells above for a down sweep, or one with the 4-neighbourhood), then closes the row along itself (the cheapest way to
/// each cell from the left and from the right): each step is d(v) = min(d(v), min_u d(u) + c(v)), and rows whose source row
/// has not changed since they were last processed are skipped. After an up sweep every cell satisfies the
/// equations of its row and of the row below; a following down sweep that changes nothing adds the row above, so the
/// distances are the fixed point of d(v) = min_{u ~ v} d(u) + c(v), d(start) = c(start): Dijkstra's distances bit for bit,
/// as rounded addition is monotone (min_u d(u) + c(v) = min_u (d(u) + c(v)) in floating point) and both are the least
/// fixed point reached from +infinity.</para>
/// <para>Dijkstra's predecessor of a cell v is its first settled neighbour. When every cell but the start has a neighbour
/// strictly closer than itself, Dijkstra settles the cells in (distance, flat index) order, so that neighbour is the one
/// with the smallest (distance, index); the backtrack from the target picks exactly it, and paths and tie-breaking equal
/// <see cref="GridShortestPathSolver"/>'s Dijkstra. Maps with a "flat" cell (a zero cost, or a cost lost in rounding),
/// where Dijkstra's order among equal distances depends on when cells were queued, are reported for Dijkstra, as are maps
/// not settled after the sweep limit (a shortest path that turns between going down and going up k times needs about
/// k + 2 sweeps; mazes need many).</para>
/// </summary>
internal static class GridSweepKernel
{
    /// <summary>Per-thread buffers of one lane width: distances and costs of the padded grid, one vector per cell, and
    /// three rows of scratch for the row scans.</summary>
    private static class Buffers<TVec> where TVec : struct
    {
        [ThreadStatic] public static TVec[]? Dist;
        [ThreadStatic] public static TVec[]? Cost;
        [ThreadStatic] public static TVec[]? Rows;
    }

    /// <summary>
    /// Solves maps <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> - 1 of
    /// <paramref name="c"/> (row-major H x W each, costs already checked finite and &gt;= 0) into the zeroed masks
    /// <paramref name="z"/>; <paramref name="count"/> &lt;= TOps.Count. Returns a bit per lane (bit i = map first + i) for
    /// the maps left unsolved: not settled within <paramref name="maxPasses"/> sweeps, with a flat cell, or whose target
    /// distance overflowed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Solve<TVec, TOps, T>(ReadOnlySpan<T> c, Span<T> z, int first, int count, int h, int w,
        bool eight, int maxPasses, T one)
        where TVec : struct
        where TOps : struct, IDoubleLanes<TVec>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = TOps.Count, pw = w + 2, padded = (h + 2) * pw, cells = h * w;
        var dist = Buffers<TVec>.Dist;
        var cost = Buffers<TVec>.Cost;
        var rows = Buffers<TVec>.Rows;
        if (dist is null || cost is null || rows is null || dist.Length < padded || rows.Length < 3 * pw)
        {
            Buffers<TVec>.Dist = dist = new TVec[padded];
            Buffers<TVec>.Cost = cost = new TVec[padded];
            Buffers<TVec>.Rows = rows = new TVec[3 * pw];
        }
        // The border keeps distance +infinity; its costs are never read.
        dist.AsSpan(0, padded).Fill(TOps.Broadcast(double.PositiveInfinity));
        bool mayBeFlat = Interleave<TVec, TOps, T>(c, cost, first, count, h, w);
        int start = pw + 1, target = h * pw + w;
        dist[start] = cost[start];

        // Row r of the padded grid last changed / was last processed at these ticks; every row is processed in pass 0.
        Span<int> changedAt = h <= 1024 ? stackalloc int[h + 2] : new int[h + 2];
        Span<int> processedAt = h <= 1024 ? stackalloc int[h + 2] : new int[h + 2];
        changedAt.Clear();
        processedAt.Fill(-1);
        TVec unsettled = default;
        for (int pass = 0, clock = 0; pass < maxPasses; pass++)
        {
            unsettled = Sweep<TVec, TOps>(dist, cost, rows, h, w, down: pass % 2 == 0, eight, changedAt, processedAt, ref clock);
            if (pass >= 1 && !TOps.Any(unsettled)) break;
        }
        // Maps with a "flat" cell (no neighbour strictly closer: a zero cost, or one lost in rounding) go to Dijkstra, whose
        // order among equal distances then depends on when cells were queued.
        if (mayBeFlat) unsettled = TOps.Or(unsettled, Flat<TVec, TOps>(dist, h, w, eight));

        int failed = 0;
        var distLanes = MemoryMarshal.Cast<TVec, double>(dist.AsSpan(0, padded));
        var unsettledLanes = MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TVec, double>(ref unsettled), lanes);
        ReadOnlySpan<int> offsets = eight
            ? [-pw - 1, -pw, -pw + 1, -1, 1, pw - 1, pw, pw + 1]
            : [-pw, -1, 1, pw];
        for (int lane = 0; lane < count; lane++)
        {
            if (BitConverter.DoubleToInt64Bits(unsettledLanes[lane]) != 0
                || distLanes[target * lanes + lane] == double.PositiveInfinity)
            {
                failed |= 1 << lane;
                continue;
            }
            var mask = z.Slice((first + lane) * cells, cells);
            // Without flat cells every cell is queued before the first pop at its distance, so Dijkstra settles cells in
            // (distance, index) order and a cell's predecessor, its first settled neighbour, is the neighbour of smallest
            // (distance, index), which is strictly closer: the backtrack below ends at the start.
            // (Defensive: a walk longer than the grid would mean a cycle; the map then goes to Dijkstra.)
            for (int v = target, steps = 0; ; steps++)
            {
                if (steps == cells)
                {
                    mask.Clear();
                    failed |= 1 << lane;
                    break;
                }
                mask[(v / pw - 1) * w + v % pw - 1] = one;
                if (v == start) break;
                int best = -1;
                double bestDist = double.PositiveInfinity;
                foreach (int off in offsets)
                {
                    double du = distLanes[(v + off) * lanes + lane];
                    if (du < bestDist) { bestDist = du; best = v + off; }
                }
                v = best;
            }
        }
        return failed;
    }

    /// <summary>
    /// Writes the costs of the group's maps into the interior of the padded lane-interleaved grid (lane i = map first + i;
    /// spare lanes repeat the first map) and tells whether some map may have a flat cell: a zero cost, or a smallest cost
    /// other than the start's at most 2^-45 times the map's total cost, the largest relative rounding step any distance can
    /// take (ulp(d) &lt;= 2^-52 d and d &lt;= about the total). Otherwise every cell is strictly farther than the neighbour
    /// it is reached from.
    /// </summary>
    private static bool Interleave<TVec, TOps, T>(ReadOnlySpan<T> c, TVec[] cost, int first, int count, int h, int w)
        where TVec : struct
        where TOps : struct, IDoubleLanes<TVec>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int lanes = TOps.Count, pw = w + 2, cells = h * w;
        Span<int> map = stackalloc int[lanes];
        for (int lane = 0; lane < lanes; lane++) map[lane] = (first + (lane < count ? lane : 0)) * cells;
        ref T c0 = ref MemoryMarshal.GetReference(c);
        ref TVec v0 = ref MemoryMarshal.GetArrayDataReference(cost);
        TVec total = default, smallest = TOps.Broadcast(double.PositiveInfinity);
        for (int r = 0, i = 0; r < h; r++)
        {
            for (int col = 0; col < w; col++, i++)
            {
                ref TVec cell = ref Unsafe.Add(ref v0, (r + 1) * pw + col + 1);
                ref double x = ref Unsafe.As<TVec, double>(ref cell);
                // + 0.0 turns a -0.0 cost into +0.0, as in the Dijkstra.
                for (int lane = 0; lane < lanes; lane++)
                    Unsafe.Add(ref x, lane) = double.CreateTruncating(Unsafe.Add(ref c0, map[lane] + i)) + 0.0;
                total = TOps.Add(total, cell);
                if (i > 0) smallest = TOps.Min(smallest, cell);
            }
        }
        if (cells == 1) return false;
        // Zero costs and an infinite total (overflow) fail this test too.
        return TOps.Any(TOps.LessOrEqual(smallest, TOps.Scale(total, 1.0 / (1L << 45))));
    }

    /// <summary>Lanes with a cell other than the start whose neighbours are all at least as far as the cell itself.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static TVec Flat<TVec, TOps>(TVec[] dist, int h, int w, bool eight)
        where TVec : struct
        where TOps : struct, IDoubleLanes<TVec>
    {
        int pw = w + 2;
        TVec flat = default;
        ref TVec d0 = ref MemoryMarshal.GetArrayDataReference(dist);
        for (int r = 1; r <= h; r++)
        {
            ref TVec up = ref Unsafe.Add(ref d0, (r - 1) * pw);
            ref TVec d = ref Unsafe.Add(ref d0, r * pw);
            ref TVec down = ref Unsafe.Add(ref d0, (r + 1) * pw);
            for (int col = r == 1 ? 2 : 1; col <= w; col++)
            {
                TVec m = TOps.Min(TOps.Min(Unsafe.Add(ref up, col), Unsafe.Add(ref down, col)),
                    TOps.Min(Unsafe.Add(ref d, col - 1), Unsafe.Add(ref d, col + 1)));
                if (eight)
                    m = TOps.Min(m, TOps.Min(
                        TOps.Min(Unsafe.Add(ref up, col - 1), Unsafe.Add(ref up, col + 1)),
                        TOps.Min(Unsafe.Add(ref down, col - 1), Unsafe.Add(ref down, col + 1))));
                flat = TOps.Or(flat, TOps.LessOrEqual(Unsafe.Add(ref d, col), m));
            }
        }
        return flat;
    }

    /// <summary>
    /// One sweep over the rows (down or up); returns the lanes in which some distance decreased. Each row is relaxed from
    /// the row it is reached from (a = min(d, min over that row's neighbours + c)), then closed within the row: the
    /// cheapest way along the row from the left, L(j) = min(a(j), L(j - 1) + c(j)), and from the right, R, are two
    /// independent scans run in one loop, and d = min(L, R). A row is skipped when the row it is relaxed from has not
    /// changed since the row was last processed (<paramref name="changedAt"/>, <paramref name="processedAt"/>: ticks of
    /// <paramref name="clock"/> per padded row): it would not change either.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static TVec Sweep<TVec, TOps>(TVec[] dist, TVec[] cost, TVec[] rows, int h, int w, bool down, bool eight,
        Span<int> changedAt, Span<int> processedAt, ref int clock)
        where TVec : struct
        where TOps : struct, IDoubleLanes<TVec>
    {
        int pw = w + 2;
        var inf = TOps.Broadcast(double.PositiveInfinity);
        TVec changed = default;
        ref TVec d0 = ref MemoryMarshal.GetArrayDataReference(dist);
        ref TVec c0 = ref MemoryMarshal.GetArrayDataReference(cost);
        ref TVec a = ref MemoryMarshal.GetArrayDataReference(rows);
        ref TVec fromLeft = ref Unsafe.Add(ref a, pw);
        ref TVec fromRight = ref Unsafe.Add(ref a, 2 * pw);
        for (int k = 0; k < h; k++)
        {
            int r = down ? k + 1 : h - k, fromRow = down ? r - 1 : r + 1;
            if (changedAt[fromRow] <= processedAt[r]) continue;
            processedAt[r] = ++clock;
            ref TVec d = ref Unsafe.Add(ref d0, r * pw);
            ref TVec cr = ref Unsafe.Add(ref c0, r * pw);
            ref TVec from = ref Unsafe.Add(ref d0, fromRow * pw);
            for (int col = 1; col <= w; col++)
            {
                TVec m = Unsafe.Add(ref from, col);
                if (eight) m = TOps.Min(TOps.Min(Unsafe.Add(ref from, col - 1), m), Unsafe.Add(ref from, col + 1));
                Unsafe.Add(ref a, col) = TOps.Min(Unsafe.Add(ref d, col), TOps.Add(m, Unsafe.Add(ref cr, col)));
            }
            TVec left = inf, right = inf;
            for (int col = 1, mirror = w; col <= w; col++, mirror--)
            {
                left = TOps.Min(Unsafe.Add(ref a, col), TOps.Add(left, Unsafe.Add(ref cr, col)));
                Unsafe.Add(ref fromLeft, col) = left;
                right = TOps.Min(Unsafe.Add(ref a, mirror), TOps.Add(right, Unsafe.Add(ref cr, mirror)));
                Unsafe.Add(ref fromRight, mirror) = right;
            }
            TVec rowChanged = default;
            for (int col = 1; col <= w; col++)
            {
                ref TVec cell = ref Unsafe.Add(ref d, col);
                TVec v = TOps.Min(Unsafe.Add(ref fromLeft, col), Unsafe.Add(ref fromRight, col));
                rowChanged = TOps.Or(rowChanged, TOps.Less(v, cell));
                cell = v;
            }
            if (TOps.Any(rowChanged))
            {
                changedAt[r] = clock;
                changed = TOps.Or(changed, rowChanged);
            }
        }
        return changed;
    }
}
