using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Solvers;

[Collection(GlobalGenerator.Name)]
public class TopKSolverTests
{
    /// <summary>Brute force: the k-subset with the largest weight sum; among equal sums the smallest index sum (lowest indices win).</summary>
    private static double[] BruteForce(double[] w, int k)
    {
        int n = w.Length;
        int best = -1;
        double bestSum = double.NegativeInfinity;
        int bestIndexSum = int.MaxValue;
        for (int mask = 0; mask < 1 << n; mask++)
        {
            if (System.Numerics.BitOperations.PopCount((uint)mask) != k) continue;
            double s = 0;
            int idx = 0;
            for (int i = 0; i < n; i++) if ((mask >> i & 1) == 1) { s += w[i]; idx += i; }
            if (s > bestSum || (s == bestSum && idx < bestIndexSum)) { best = mask; bestSum = s; bestIndexSum = idx; }
        }
        return Enumerable.Range(0, n).Select(i => (double)(best >> i & 1)).ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(8)]
    public void Matches_brute_force_on_small_integer_weights_with_ties(int k)
    {
        // Integer weights in {-2..2}: many ties, and every subset sum is exact in floating point.
        const int n = 8, batch = 40;
        var gen = new Generator(11);
        var w = randint(-2, 3, new long[] { batch, n }, dtype: ScalarType.Float64, generator: gen);
        var z = new TopKSolver(k).Solve(w);
        var wa = TorchAssert.ToArray(w);
        var expected = Enumerable.Range(0, batch).SelectMany(b => BruteForce(wa[(b * n)..((b + 1) * n)], k)).ToArray();
        TorchAssert.Close(expected, z, 0, $"top-{k}");
    }

    [Fact]
    public void Matches_brute_force_on_random_float32_weights_and_keeps_dtype()
    {
        const int n = 7, k = 3, batch = 30;
        var w = randn(new long[] { batch, n }, generator: new Generator(3));
        var z = new TopKSolver(k).Solve(w);
        Assert.Equal(ScalarType.Float32, z.dtype);
        var wa = TorchAssert.ToArray(w);
        var expected = Enumerable.Range(0, batch).SelectMany(b => BruteForce(wa[(b * n)..((b + 1) * n)], k)).ToArray();
        TorchAssert.Close(expected, z, 0, "top-3");
    }

    [Fact]
    public void All_equal_weights_select_the_first_k_indices()
    {
        var z = new TopKSolver(2).Solve(zeros(1, 5));
        TorchAssert.Close(new double[] { 1, 1, 0, 0, 0 }, z, 0, "ties");
    }

    [Fact]
    public void Instances_of_higher_rank_use_all_their_entries()
    {
        // [B, 2, 3]: top-2 over the 6 entries of each instance.
        var w = tensor(new double[] { 1, 5, 2, 7, 0, 3, /* b = 1 */ 9, 8, 0, 0, 0, 0 }, new long[] { 2, 2, 3 });
        var z = new TopKSolver(2).Solve(w);
        Assert.Equal(new long[] { 2, 2, 3 }, z.shape);
        TorchAssert.Close(new double[] { 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0 }, z, 0, "rank 3");
    }

    [Fact]
    public void Large_parallel_batch_equals_instance_by_instance()
    {
        const int batch = 512, n = 64, k = 10;   // 512 x 64 log 64 > the parallel threshold
        var w = randn(new long[] { batch, n }, dtype: ScalarType.Float64, generator: new Generator(5));
        var solver = new TopKSolver(k);
        var all = solver.Solve(w);
        var one = cat(Enumerable.Range(0, batch).Select(b => solver.Solve(w[b].unsqueeze(0))).ToList(), 0);
        Assert.True((all == one).all().item<bool>());
        TorchAssert.Close(Enumerable.Repeat((double)k, batch).ToArray(), all.sum(dim: 1), 0, "row sums");
    }

    [Fact]
    public void Invalid_arguments_name_the_parameter_and_range()
    {
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => new TopKSolver(0));
        Assert.Equal("k", e1.ParamName);
        Assert.Contains(">= 1", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => new TopKSolver(4).Solve(zeros(2, 3)));
        Assert.Equal("k", e2.ParamName);
        Assert.Contains("<= n = 3", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => new TopKSolver(1).Solve(zeros(3)));
        Assert.Equal("weights", e3.ParamName);
        var e4 = Assert.Throws<NonFiniteValueException>(() => new TopKSolver(1).Solve(tensor(new[] { 0.0, double.NaN }).unsqueeze(0)));
        Assert.Equal("weights", e4.ParamName);
        Assert.Contains("NaN", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => new TopKSolver(1).Solve(zeros(new long[] { 2, 3 }, dtype: ScalarType.Int64)));
        Assert.Equal("weights", e5.ParamName);
    }
}
