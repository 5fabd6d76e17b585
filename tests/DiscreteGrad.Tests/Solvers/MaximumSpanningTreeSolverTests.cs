using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Solvers;

[Collection(GlobalGenerator.Name)]
public class MaximumSpanningTreeSolverTests
{
    private static (int I, int J)[] Edges(int n) => SpanningTrees.Edges(n);

    /// <summary>Every spanning tree of K_n: count, best weight, second best, best edge mask.</summary>
    private static (int Trees, double Best, double Second, double[] Mask) BruteForce(double[] w, int n)
    {
        var trees = SpanningTrees.All(n);
        var scores = trees.Select(z => z.Select((x, e) => x * w[e]).Sum()).ToArray();
        var order = Enumerable.Range(0, trees.Count).OrderByDescending(t => scores[t]).ToArray();
        return (trees.Count, scores[order[0]], order.Length > 1 ? scores[order[1]] : double.NegativeInfinity, trees[order[0]]);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 3)]
    [InlineData(4, 16)]
    [InlineData(5, 125)]
    public void Edge_list_matches_brute_force_over_all_spanning_trees(int n, int cayley)
    {
        const int batch = 20;
        int m = n * (n - 1) / 2;
        var w = randn(new long[] { batch, m }, dtype: ScalarType.Float64, generator: new Generator((ulong)n));
        var z = new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList).Solve(w);
        var wa = TorchAssert.ToArray(w);
        var za = TorchAssert.ToArray(z);
        for (int b = 0; b < batch; b++)
        {
            var (trees, best, second, mask) = BruteForce(wa[(b * m)..((b + 1) * m)], n);
            Assert.Equal(cayley, trees);   // Cayley: n^(n-2) spanning trees of K_n
            if (n > 2) Assert.True(best - second > 1e-9, "random weights should give a unique optimum");
            Assert.Equal(mask, za[(b * m)..((b + 1) * m)]);
        }
    }

    [Fact]
    public void Matrix_layout_gives_the_symmetric_adjacency_of_the_same_tree()
    {
        const int n = 5, batch = 10;
        var gen = new Generator(21);
        var a = randn(new long[] { batch, n, n }, dtype: ScalarType.Float64, generator: gen);
        var sym = (a + a.transpose(1, 2)) / 2;
        var adjacency = new MaximumSpanningTreeSolver().Solve(sym);
        Assert.True((adjacency == adjacency.transpose(1, 2)).all().item<bool>());
        Assert.Equal(0.0, adjacency.diagonal(dim1: 1, dim2: 2).abs().sum().item<double>());
        TorchAssert.Close(Enumerable.Repeat(2.0 * (n - 1), batch).ToArray(), adjacency.sum(new long[] { 1, 2 }), 0, "2(n-1) ones");
        // Same tree as the edge list of the upper triangle.
        var iu = Edges(n);
        var list = stack(iu.Select(e => sym[.., e.I, e.J]).ToList(), 1);
        var z = new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList).Solve(list);
        var fromMatrix = stack(iu.Select(e => adjacency[.., e.I, e.J]).ToList(), 1);
        Assert.True((z == fromMatrix).all().item<bool>());
        // With acceptAsymmetric a non-symmetric matrix is read as its symmetric part (W + W^T) / 2: the same tree as sym.
        Assert.True((new MaximumSpanningTreeSolver(acceptAsymmetric: true).Solve(a) == adjacency).all().item<bool>());
    }

    [Fact]
    public void Hand_example_and_ties_prefer_the_lowest_edge_index()
    {
        // n = 4, edges (0,1) (0,2) (0,3) (1,2) (1,3) (2,3). Weights 5, 1, 1, 4, 1, 3: take 5 (0-1), 4 (1-2), 3 (2-3).
        var z = new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList).Solve(tensor(new double[] { 5, 1, 1, 4, 1, 3 }).unsqueeze(0));
        TorchAssert.Close(new double[] { 1, 0, 0, 1, 0, 1 }, z, 0, "hand");
        // All equal: Kruskal takes edges in index order, skipping cycles: (0,1), (0,2), (0,3) - the star at node 0.
        var t = new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList).Solve(zeros(1, 6));
        TorchAssert.Close(new double[] { 1, 1, 1, 0, 0, 0 }, t, 0, "ties");
    }

    [Fact]
    public void Large_parallel_batch_equals_instance_by_instance()
    {
        var w = randn(new long[] { 64, 12, 12 }, generator: new Generator(4));
        var solver = new MaximumSpanningTreeSolver(acceptAsymmetric: true);
        var all = solver.Solve(w);
        var one = cat(Enumerable.Range(0, 64).Select(b => solver.Solve(w[b].unsqueeze(0))).ToList(), 0);
        Assert.True((all == one).all().item<bool>());
    }

    [Fact]
    public void Invalid_shapes_and_nan_are_rejected_naming_weights()
    {
        var m = new MaximumSpanningTreeSolver();
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => m.Solve(zeros(2, 3, 4))).ParamName);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => m.Solve(zeros(3, 3))).ParamName);
        var list = new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList);
        var bad = Assert.Throws<ArgumentException>(() => list.Solve(zeros(2, 5)));
        Assert.Equal("weights", bad.ParamName);
        Assert.Contains("m = n (n - 1) / 2", bad.Message);
        var nan = Assert.Throws<NonFiniteValueException>(() => list.Solve(tensor(new[] { 1.0, double.NaN, 0 }).unsqueeze(0)));
        Assert.Equal("weights", nan.ParamName);
        Assert.Contains("NaN", nan.Message);
    }
}
