using DiscreteGrad.Experiments.Nri;
using DiscreteGrad.Tests.Solvers;

namespace DiscreteGrad.Tests.Experiments.Nri;

/// <summary>The spring-layout step against forces computed by hand, and the generated trajectories: trees, frames, seeds.</summary>
public sealed class GraphLayoutDataTests
{
    [Fact]
    public void One_spring_layout_step_on_three_vertices_matches_the_forces_computed_by_hand()
    {
        // p0 = (0, 0), p1 = (1, 0), p2 = (0, 2); edges {0, 1} and {1, 2} (a path); n = 3, k^2 = 1/3.
        var pos = new double[] { 0, 0, 1, 0, 0, 2 };
        var a = new double[] { 0, 1, 0, 1, 0, 1, 0, 1, 0 };
        double k = Math.Sqrt(1.0 / 3), k2 = 1.0 / 3;
        // Pair forces f_ij = k^2 / r^2 - A_ij r / k: r01 = 1 (edge), r02 = 2 (no edge), r12 = sqrt 5 (edge).
        double f01 = k2 - 1 / k, f02 = k2 / 4, f12 = k2 / 5 - Math.Sqrt(5) / k;
        // d_i = sum_j (p_i - p_j) f_ij.
        var d0 = (X: -1 * f01 + 0 * f02, Y: 0 * f01 - 2 * f02);
        var d1 = (X: 1 * f01 + 1 * f12, Y: 0 * f01 - 2 * f12);
        var d2 = (X: 0 * f02 - 1 * f12, Y: 2 * f02 + 2 * f12);
        // t = 0.1 max(x range 1, y range 2) = 0.2; every vertex moves by t along d_i.
        const double t = 0.2;
        (double X, double Y) Move((double X, double Y) p, (double X, double Y) d)
        {
            double len = Math.Sqrt(d.X * d.X + d.Y * d.Y);
            return (p.X + t * d.X / len, p.Y + t * d.Y / len);
        }
        var q = new[] { Move((0, 0), d0), Move((1, 0), d1), Move((0, 2), d2) };
        // Re-centre, then divide by the largest |coordinate|.
        double mx = q.Average(p => p.X), my = q.Average(p => p.Y);
        double lim = q.Max(p => Math.Max(Math.Abs(p.X - mx), Math.Abs(p.Y - my)));
        var expected = q.SelectMany(p => new[] { (p.X - mx) / lim, (p.Y - my) / lim }).ToArray();

        SpringLayout.Apply(pos, a, 3, iterations: 1);
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], pos[i], 12);
        // The numbers themselves, to see the step: vertex 1 (two springs) is pulled towards the other two.
        Assert.True(d1.X < 0 && d1.Y > 0);
    }

    [Fact]
    public void A_vertex_with_a_vanishing_force_moves_by_its_force_times_t_over_0_1()
    {
        // Two vertices at distance r with an edge: the force vanishes at k^2 / r^2 = r / k, i.e. r = k = sqrt(1/2).
        double k = Math.Sqrt(0.5);
        var pos = new double[] { 0, 0, k + 1e-4, 0 };
        var a = new double[] { 0, 1, 1, 0 };
        double r = k + 1e-4, f = k * k / (r * r) - r / k;            // |d| = r |f| < 0.01
        Assert.True(Math.Abs(r * f) < 0.01);
        double t = 0.1 * r;
        // |d| < 0.01 is read as 0.1: vertex 0 moves by d t / 0.1 = (-r f) t / 0.1 along x, vertex 1 by the opposite.
        double x0 = -r * f * t / 0.1, x1 = r + r * f * t / 0.1;
        SpringLayout.Apply(pos, a, 2, iterations: 1);
        double mean = (x0 + x1) / 2, lim = Math.Abs(x1 - mean);
        Assert.Equal((x0 - mean) / lim, pos[0], 12);
        Assert.Equal((x1 - mean) / lim, pos[2], 12);
        Assert.Equal(0, pos[1]);
    }

    [Fact]
    public void Bad_arguments_are_refused_naming_them()
    {
        Assert.Equal("positions", Assert.Throws<ArgumentException>(() => SpringLayout.Apply(new double[5], new double[9], 3)).ParamName);
        Assert.Equal("adjacency", Assert.Throws<ArgumentException>(() => SpringLayout.Apply(new double[6], new double[8], 3)).ParamName);
        Assert.Equal("iterations", Assert.Throws<ArgumentOutOfRangeException>(() => SpringLayout.Apply(new double[6], new double[9], 3, iterations: 0)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => GraphLayoutData.Generate(GraphLayoutSplit.Train, 0, 5, 3, 1)).ParamName);
    }

    [Fact]
    public void Every_trajectory_s_graph_is_a_spanning_tree_and_every_frame_is_centred_at_unit_scale()
    {
        const int n = 7, count = 300, frames = 4;
        using var data = GraphLayoutData.Generate(GraphLayoutSplit.Train, count, n, frames, 42);
        Assert.Equal(new long[] { count, n, frames, 2 }, data.Positions.shape);
        Assert.Equal(new long[] { count, n * (n - 1) / 2 }, data.Edges.shape);
        var z = TorchAssert.ToArray(data.Edges);
        int m = n * (n - 1) / 2;
        for (int g = 0; g < count; g++) Assert.True(SpanningTrees.IsSpanningTree(z.AsSpan(g * m, m), n), $"trajectory {g}");
        var p = TorchAssert.ToArray(data.Positions);        // [N, n, T, 2]
        for (int g = 0; g < count; g += 17)
            for (int t = 0; t < frames; t++)
            {
                double Coord(int i, int c) => p[((g * n + i) * frames + t) * 2 + c];
                for (int c = 0; c < 2; c++) Assert.Equal(0, Enumerable.Range(0, n).Average(i => Coord(i, c)), 5);
                Assert.Equal(1, Enumerable.Range(0, n).Max(i => Math.Max(Math.Abs(Coord(i, 0)), Math.Abs(Coord(i, 1)))), 5);
            }
        // Kruskal over i.i.d. weights: by symmetry every edge is in the tree with probability (n - 1) / m = 2 / n. Each edge's
        // frequency over 300 trees is within 4 binomial standard errors of it.
        double pe = 2.0 / n, se = Math.Sqrt(pe * (1 - pe) / count);
        for (int e = 0; e < m; e++)
        {
            double freq = Enumerable.Range(0, count).Average(g => z[g * m + e]);
            Assert.InRange(freq, pe - 4 * se, pe + 4 * se);
        }
    }

    [Fact]
    public void Data_are_a_function_of_the_seed_split_and_index()
    {
        using var a = GraphLayoutData.Generate(GraphLayoutSplit.Valid, 20, 6, 3, 7);
        using var b = GraphLayoutData.Generate(GraphLayoutSplit.Valid, 30, 6, 3, 7);
        using var c = GraphLayoutData.Generate(GraphLayoutSplit.Valid, 20, 6, 3, 8);
        using var d = GraphLayoutData.Generate(GraphLayoutSplit.Test, 20, 6, 3, 7);
        // The same seed gives the same trajectories (a longer set starts with the shorter one).
        Assert.Equal(TorchAssert.ToArray(a.Positions), TorchAssert.ToArray(b.Positions.narrow(0, 0, 20)));
        Assert.Equal(TorchAssert.ToArray(a.Edges), TorchAssert.ToArray(b.Edges.narrow(0, 0, 20)));
        // Another seed or another split gives other trees.
        Assert.NotEqual(TorchAssert.ToArray(a.Edges), TorchAssert.ToArray(c.Edges));
        Assert.NotEqual(TorchAssert.ToArray(a.Edges), TorchAssert.ToArray(d.Edges));
        Assert.NotEqual(GraphLayoutData.TrajectorySeed(7, GraphLayoutSplit.Train, 0), GraphLayoutData.TrajectorySeed(7, GraphLayoutSplit.Valid, 0));
    }

    [Fact]
    public void Normalising_maps_the_training_extent_to_minus_one_one()
    {
        using var data = GraphLayoutData.Generate(GraphLayoutSplit.Train, 50, 5, 3, 1);
        var (min, max) = data.Extent();
        data.Normalise(min, max);
        var (lo, hi) = data.Extent();
        Assert.Equal(-1, lo, 5);
        Assert.Equal(1, hi, 5);
        Assert.Equal("max", Assert.Throws<ArgumentOutOfRangeException>(() => data.Normalise(1, 1)).ParamName);
    }
}
