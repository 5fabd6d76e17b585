using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Solvers;

[Collection(GlobalGenerator.Name)]
public class GridShortestPathSolverTests
{
    private static (int, int)[] Moves(GridNeighbourhood nb) => nb == GridNeighbourhood.Four
        ? new[] { (-1, 0), (0, -1), (0, 1), (1, 0) }
        : new[] { (-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1) };

    /// <summary>All simple paths (0,0) -&gt; (n-1,n-1) by depth-first search: count, best cost, second-best cost, best mask.</summary>
    private static (long Count, double Best, double Second, double[] Mask) BruteForce(double[] c, int n, GridNeighbourhood nb)
    {
        var moves = Moves(nb);
        var on = new bool[n * n];
        long count = 0;
        double best = double.PositiveInfinity, second = double.PositiveInfinity;
        double[] bestMask = Array.Empty<double>();
        void Dfs(int u, double cost)
        {
            if (u == n * n - 1)
            {
                count++;
                if (cost < best) { second = best; best = cost; bestMask = on.Select(b => b ? 1.0 : 0.0).ToArray(); }
                else if (cost < second) second = cost;
                return;
            }
            int r = u / n, col = u % n;
            foreach (var (dr, dc) in moves)
            {
                int a = r + dr, b = col + dc;
                if (a < 0 || a >= n || b < 0 || b >= n || on[a * n + b]) continue;
                on[a * n + b] = true;
                Dfs(a * n + b, cost + c[a * n + b]);
                on[a * n + b] = false;
            }
        }
        on[0] = true;
        Dfs(0, c[0]);
        return (count, best, second, bestMask);
    }

    [Theory]
    [InlineData(3, GridNeighbourhood.Four, 12)]
    [InlineData(3, GridNeighbourhood.Eight, 235)]
    [InlineData(4, GridNeighbourhood.Four, 184)]
    [InlineData(4, GridNeighbourhood.Eight, 96371)]
    public void Matches_brute_force_over_all_simple_paths(int n, GridNeighbourhood nb, long paths)
    {
        const int batch = 6;
        var costs = rand(new long[] { batch, n, n }, dtype: ScalarType.Float64, generator: new Generator((ulong)(100 + n * 10 + (int)nb))) * 5;
        var z = new GridShortestPathSolver(nb).Solve(costs);
        var c = TorchAssert.ToArray(costs);
        var za = TorchAssert.ToArray(z);
        for (int b = 0; b < batch; b++)
        {
            var cb = c[(b * n * n)..((b + 1) * n * n)];
            var (count, best, second, mask) = BruteForce(cb, n, nb);
            Assert.Equal(paths, count);
            var zb = za[(b * n * n)..((b + 1) * n * n)];
            double cost = zb.Zip(cb, (x, y) => x * y).Sum();
            Assert.True(Math.Abs(cost - best) < 1e-12, $"instance {b}: solver path cost {cost}, brute force {best}");
            Assert.True(second - best > 1e-9, "random costs should give a unique optimum");
            Assert.Equal(mask, zb);
        }
    }

    [Fact]
    public void Path_includes_both_corners_and_prefers_cheap_cells()
    {
        // 3x3, 4-neighbourhood; expensive middle column except the bottom row: the path must go around through the bottom.
        var c = tensor(new double[] { 1, 9, 1, 1, 9, 1, 1, 1, 1 }, new long[] { 1, 3, 3 });
        var z = new GridShortestPathSolver(GridNeighbourhood.Four).Solve(c);
        TorchAssert.Close(new double[] { 1, 0, 0, 1, 0, 0, 1, 1, 1 }, z, 0, "path");
        // 8-neighbourhood: the diagonal through the centre costs 1 + 0 + 1.
        var d = tensor(new double[] { 1, 5, 5, 5, 0, 5, 5, 5, 1 }, new long[] { 1, 3, 3 });
        TorchAssert.Close(new double[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 }, new GridShortestPathSolver(GridNeighbourhood.Eight).Solve(d), 0, "diagonal");
    }

    [Fact]
    public void Zero_costs_give_a_valid_deterministic_path_and_a_1x1_grid_is_its_cell()
    {
        var solver = new GridShortestPathSolver(GridNeighbourhood.Four);
        var a = solver.Solve(zeros(2, 5, 5));
        var b = solver.Solve(zeros(2, 5, 5));
        Assert.True((a == b).all().item<bool>());
        Assert.True((a[0] == a[1]).all().item<bool>());
        Assert.Equal(1.0, a[0, 0, 0].item<float>());
        Assert.Equal(1.0, a[0, 4, 4].item<float>());
        TorchAssert.Close(new double[] { 1 }, solver.Solve(full(new long[] { 1, 1, 1 }, 3.0)), 0, "1x1");
    }

    [Fact]
    public void Large_parallel_batch_equals_instance_by_instance()
    {
        var costs = rand(new long[] { 48, 12, 12 }, generator: new Generator(9));
        var solver = new GridShortestPathSolver();
        var all = solver.Solve(costs);
        var one = cat(Enumerable.Range(0, 48).Select(b => solver.Solve(costs[b].unsqueeze(0))).ToList(), 0);
        Assert.True((all == one).all().item<bool>());
    }

    [Fact]
    public void Invalid_costs_and_shapes_are_rejected_naming_weights()
    {
        var solver = new GridShortestPathSolver();
        var neg = Assert.Throws<ArgumentOutOfRangeException>(() => solver.Solve(tensor(new double[] { 0, 1, -0.5, 2 }, new long[] { 1, 2, 2 })));
        Assert.Equal("weights", neg.ParamName);
        Assert.Contains(">= 0", neg.Message);
        Assert.Contains("cell (1, 0)", neg.Message);
        var nan = Assert.Throws<NonFiniteValueException>(() => solver.Solve(tensor(new double[] { 0, double.NaN, 1, 2 }, new long[] { 1, 2, 2 })));
        Assert.Equal("weights", nan.ParamName);
        var shape = Assert.Throws<ArgumentException>(() => solver.Solve(zeros(3, 3)));
        Assert.Equal("weights", shape.ParamName);
        Assert.Contains("[B, H, W]", shape.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GridShortestPathSolver((GridNeighbourhood)6));
    }
    /// <summary>The textbook lazy-deletion Dijkstra (PriorityQueue keyed by (distance, index)) the solver must agree with.</summary>
    private static double[] LazyDijkstra(double[] c, int h, int w, GridNeighbourhood nb)
    {
        var moves = Moves(nb);
        int cells = h * w, target = cells - 1;
        var dist = Enumerable.Repeat(double.PositiveInfinity, cells).ToArray();
        var prev = Enumerable.Repeat(-1, cells).ToArray();
        var done = new bool[cells];
        var queue = new PriorityQueue<int, (double, int)>();
        dist[0] = c[0];
        queue.Enqueue(0, (dist[0], 0));
        while (queue.TryDequeue(out int u, out var key))
        {
            if (done[u] || key.Item1 > dist[u]) continue;
            done[u] = true;
            if (u == target) break;
            foreach (var (dr, dc) in moves)
            {
                int nr = u / w + dr, nc = u % w + dc;
                if (nr < 0 || nr >= h || nc < 0 || nc >= w || done[nr * w + nc]) continue;
                int v = nr * w + nc;
                if (dist[u] + c[v] < dist[v]) { dist[v] = dist[u] + c[v]; prev[v] = u; queue.Enqueue(v, (dist[v], v)); }
            }
        }
        var z = new double[cells];
        for (int v = target; v >= 0; v = prev[v]) { z[v] = 1; if (v == 0) break; }
        return z;
    }

    [Theory]
    [InlineData(GridNeighbourhood.Four, ScalarType.Float64)]
    [InlineData(GridNeighbourhood.Eight, ScalarType.Float64)]
    [InlineData(GridNeighbourhood.Eight, ScalarType.Float32)]
    [InlineData(GridNeighbourhood.Four, ScalarType.Float16)]
    public void Ties_are_broken_as_by_the_textbook_lazy_deletion_dijkstra(GridNeighbourhood nb, ScalarType dtype)
    {
        // Integer costs in {0, 1, 2}: many equal-cost paths, so the result depends on the tie-breaking order.
        // Grid shapes change between calls, so the per-thread buffers are reused at other sizes too.
        var solver = new GridShortestPathSolver(nb);
        foreach (var (h, w) in new[] { (7, 7), (5, 9), (12, 12), (1, 6), (6, 1), (3, 3) })
        {
            var costs = randint(0, 3, new long[] { 40, h, w }, generator: new Generator((ulong)(h * 31 + w))).to(dtype);
            var z = solver.Solve(costs);
            Assert.Equal(dtype, z.dtype);
            var c = TorchAssert.ToArray(costs);
            var za = TorchAssert.ToArray(z);
            for (int b = 0; b < 40; b++)
            {
                var expected = LazyDijkstra(c[(b * h * w)..((b + 1) * h * w)], h, w, nb);
                Assert.Equal(expected, za[(b * h * w)..((b + 1) * h * w)]);
            }
        }
    }
}
