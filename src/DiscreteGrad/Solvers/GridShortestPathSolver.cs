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

/// <summary>
/// Shortest path on a grid with vertex costs (Dijkstra), a cost-MINIMISING MAP solver: wrap it in I-MLE with
/// <c>Minimise = true</c>.
/// <para>Weights [B, H, W] (usually H = W = N) hold non-negative, finite cell costs c. A path runs from cell (0, 0) to cell
/// (H - 1, W - 1) through adjacent cells (<see cref="GridNeighbourhood"/>); it includes both end cells and its cost is the
/// sum of the costs of its cells, so z = argmin_{z a path} &lt;c, z&gt;. The result is the 0/1 mask [B, H, W] of the path.</para>
/// <para>Dijkstra on vertex weights: dist(start) = c(start), relaxing u -&gt; v gives dist(u) + c(v). Deterministic: the
/// priority queue orders by (distance, flat cell index) and a predecessor changes only on a strict improvement, with
/// neighbours visited in a fixed order. Runs on CPU arrays, batch items in parallel when the batch is large enough
/// (<see cref="SolverParallelism"/>).</para>
/// </summary>
public sealed class GridShortestPathSolver : IMapSolver
{
    private static readonly (int Dr, int Dc)[] Four = { (-1, 0), (0, -1), (0, 1), (1, 0) };
    private static readonly (int Dr, int Dc)[] Eight = { (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1) };

    /// <summary>Creates the solver.</summary>
    /// <param name="neighbourhood">4- or 8-neighbourhood (default 8, as in the reference Warcraft experiments).</param>
    public GridShortestPathSolver(GridNeighbourhood neighbourhood = GridNeighbourhood.Eight)
    {
        if (neighbourhood is not (GridNeighbourhood.Four or GridNeighbourhood.Eight))
            throw new ArgumentOutOfRangeException(nameof(neighbourhood), neighbourhood, "neighbourhood must be Four or Eight.");
        Neighbourhood = neighbourhood;
    }

    /// <summary>The adjacency of the grid.</summary>
    public GridNeighbourhood Neighbourhood { get; }

    /// <inheritdoc />
    public Tensor Solve(Tensor weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.dim() != 3 || weights.shape[1] < 1 || weights.shape[2] < 1)
            throw new ArgumentException($"weights must have shape [B, H, W] with H, W >= 1 (got {BatchArrays.Shape(weights)}).", nameof(weights));
        int batch = checked((int)weights.shape[0]);
        int h = checked((int)weights.shape[1]), wd = checked((int)weights.shape[2]);
        var c = BatchArrays.Read(weights, nameof(weights));
        for (int i = 0; i < c.Length; i++)
        {
            if (double.IsNaN(c[i]) || double.IsInfinity(c[i]))
                throw new ArgumentException($"weights (vertex costs) must be finite; flat index {i} holds {c[i]}.", nameof(weights));
            if (c[i] < 0)
                throw new ArgumentOutOfRangeException(nameof(weights), c[i],
                    $"weights (vertex costs) must be >= 0 for Dijkstra; instance {i / (h * wd)}, cell ({i % (h * wd) / wd}, {i % wd}) holds {c[i]}.");
        }
        var z = new double[c.Length];
        var moves = Neighbourhood == GridNeighbourhood.Four ? Four : Eight;
        int cells = h * wd;
        long work = (long)cells * moves.Length * Math.Max(1, (long)Math.Log2(cells + 1));
        SolverParallelism.For(batch, work, b => PathInto(c, z, b * cells, h, wd, moves));
        return BatchArrays.Write(z, weights);
    }

    private static void PathInto(double[] c, double[] z, int offset, int h, int w, (int Dr, int Dc)[] moves)
    {
        int cells = h * w, target = cells - 1;
        var dist = new double[cells];
        var prev = new int[cells];
        var done = new bool[cells];
        Array.Fill(dist, double.PositiveInfinity);
        Array.Fill(prev, -1);
        var queue = new PriorityQueue<int, (double, int)>();
        dist[0] = c[offset];
        queue.Enqueue(0, (dist[0], 0));
        while (queue.TryDequeue(out int u, out var key))
        {
            if (done[u] || key.Item1 > dist[u]) continue;
            done[u] = true;
            if (u == target) break;
            int r = u / w, col = u % w;
            foreach (var (dr, dc) in moves)
            {
                int nr = r + dr, nc = col + dc;
                if ((uint)nr >= (uint)h || (uint)nc >= (uint)w) continue;
                int v = nr * w + nc;
                if (done[v]) continue;
                double nd = dist[u] + c[offset + v];
                if (nd < dist[v])
                {
                    dist[v] = nd;
                    prev[v] = u;
                    queue.Enqueue(v, (nd, v));
                }
            }
        }
        for (int v = target; v >= 0; v = prev[v])
        {
            z[offset + v] = 1.0;
            if (v == 0) break;
        }
    }
}
