using DiscreteGrad.Relaxations;
using DiscreteGrad.Solvers;
using DiscreteGrad.Tests.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Relaxations;

/// <summary>
/// The matrix-tree relaxation against brute force over every spanning tree of K_4 (16 trees) and K_5 (125): log Z, the
/// marginals, their Jacobian (the covariance of the edge indicators), and the SST sampler built on them.
/// </summary>
public sealed class SpanningTreeRelaxationTests
{
    /// <summary>Exact log Z, marginals and covariance of the Gibbs distribution p(T) ∝ exp(sum_{e in T} w_e) by enumeration.</summary>
    private static (double LogZ, double[] Mu, double[,] Cov) Enumerate(double[] w, int n)
    {
        var trees = SpanningTrees.All(n);
        int m = w.Length;
        var scores = trees.Select(z => z.Select((x, e) => x * w[e]).Sum()).ToArray();
        double top = scores.Max();
        var p = scores.Select(s => Math.Exp(s - top)).ToArray();
        double z = p.Sum();
        for (int t = 0; t < p.Length; t++) p[t] /= z;
        var mu = new double[m];
        var second = new double[m, m];
        for (int t = 0; t < trees.Count; t++)
            for (int e = 0; e < m; e++)
            {
                mu[e] += p[t] * trees[t][e];
                for (int f = 0; f < m; f++) second[e, f] += p[t] * trees[t][e] * trees[t][f];
            }
        var cov = new double[m, m];
        for (int e = 0; e < m; e++)
            for (int f = 0; f < m; f++) cov[e, f] = second[e, f] - mu[e] * mu[f];
        return (top + Math.Log(z), mu, cov);
    }

    private static Tensor Weights(int n, int batch, ulong seed, double scale = 1.5) =>
        randn(new long[] { batch, n * (n - 1) / 2 }, dtype: ScalarType.Float64, generator: new Generator(seed)) * scale;

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Log_partition_and_marginals_equal_brute_force_enumeration(int n)
    {
        const int batch = 6;
        int m = n * (n - 1) / 2;
        var w = Weights(n, batch, (ulong)(10 + n));
        var logZ = TorchAssert.ToArray(SpanningTreeRelaxation.LogPartition(w));
        var mu = TorchAssert.ToArray(SpanningTreeRelaxation.Marginals(w));
        var wa = TorchAssert.ToArray(w);
        for (int b = 0; b < batch; b++)
        {
            var exact = Enumerate(wa[(b * m)..((b + 1) * m)], n);
            Assert.Equal(exact.LogZ, logZ[b], 10);
            for (int e = 0; e < m; e++) Assert.Equal(exact.Mu[e], mu[b * m + e], 10);
            Assert.Equal(n - 1, mu[(b * m)..((b + 1) * m)].Sum(), 10);   // every tree has n - 1 edges
        }
    }

    [Fact]
    public void Marginals_are_the_gradient_of_log_z_and_their_jacobian_is_the_covariance()
    {
        const int n = 5;
        int m = n * (n - 1) / 2;
        var w = Weights(n, 1, 3).requires_grad_(true);
        var exact = Enumerate(TorchAssert.ToArray(w), n);
        // d log Z / d w = mu.
        var grad = torch.autograd.grad(new[] { SpanningTreeRelaxation.LogPartition(w).sum() }, new[] { w })[0];
        for (int e = 0; e < m; e++) Assert.Equal(exact.Mu[e], TorchAssert.ToArray(grad)[e], 10);
        // d mu_e / d w_f = Cov(1[e in T], 1[f in T]) (exponential family): backward of <c, mu> is Cov c.
        var c = randn(new long[] { 1, m }, dtype: ScalarType.Float64, generator: new Generator(4));
        var vjp = TorchAssert.ToArray(torch.autograd.grad(new[] { (SpanningTreeRelaxation.Marginals(w) * c).sum() }, new[] { w })[0]);
        var ca = TorchAssert.ToArray(c);
        for (int f = 0; f < m; f++)
        {
            double expected = 0;
            for (int e = 0; e < m; e++) expected += exact.Cov[e, f] * ca[e];
            Assert.Equal(expected, vjp[f], 9);
        }
    }

    [Fact]
    public void Marginals_are_shift_invariant_and_with_the_clip_range_exact_for_widely_spread_float32_weights()
    {
        const int n = 5;
        int m = n * (n - 1) / 2;
        var w = Weights(n, 3, 5);
        var shifted = SpanningTreeRelaxation.Marginals(w + 100.0);
        TorchAssert.Close(TorchAssert.ToArray(SpanningTreeRelaxation.Marginals(w)), shifted, 1e-9, "shift");
        // Weights spread over hundreds (a sharp temperature), clipped to 15 below their maximum as the SST reference does:
        // the float32 marginals are those of the clipped weights by enumeration, each row summing to n - 1.
        var wide = SpanningTreeRelaxation.ClipRange(Weights(n, 3, 6, scale: 60).to(ScalarType.Float32), 15);
        var mu = SpanningTreeRelaxation.Marginals(wide);
        Assert.Equal(ScalarType.Float32, mu.dtype);
        var wa = TorchAssert.ToArray(wide);
        var ma = TorchAssert.ToArray(mu);
        for (int b = 0; b < 3; b++)
        {
            var exact = Enumerate(wa[(b * m)..((b + 1) * m)], n);
            for (int e = 0; e < m; e++) Assert.Equal(exact.Mu[e], ma[b * m + e], 5);
        }
    }

    [Fact]
    public void Clip_range_lifts_every_weight_to_at_most_the_range_below_the_maximum()
    {
        var w = tensor(new double[] { 0, -3, 5, -20, 4, 1, 2, -9, 3, 0 }).reshape(2, 5);
        // Row maxima 5 and 3: nothing below -5 and -7.
        TorchAssert.Close(new double[] { 0, -3, 5, -5, 4, 1, 2, -7, 3, 0 }, SpanningTreeRelaxation.ClipRange(w, 10).reshape(-1), 0, "clip");
        TorchAssert.Close(TorchAssert.ToArray(w), SpanningTreeRelaxation.ClipRange(w, double.PositiveInfinity), 0, "no clip");
        Assert.Equal("maxRange", Assert.Throws<ArgumentOutOfRangeException>(() => SpanningTreeRelaxation.ClipRange(w, 0)).ParamName);
    }

    [Fact]
    public void A_weight_vector_that_is_not_of_a_complete_graph_is_refused_naming_weights()
    {
        var bad = Assert.Throws<ArgumentException>(() => SpanningTreeRelaxation.Marginals(zeros(2, 5)));
        Assert.Equal("weights", bad.ParamName);
        Assert.Contains("m = n (n - 1) / 2", bad.Message);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => SpanningTreeRelaxation.LogPartition(zeros(6))).ParamName);
    }

    [Fact]
    public void Sst_forward_is_the_kruskal_tree_of_the_perturbed_logits_and_backward_the_relaxation_s_gradient()
    {
        const int n = 5;
        int m = n * (n - 1) / 2;
        const double tau = 0.7;
        var logits = Weights(n, 4, 7).requires_grad_(true);
        var noise = DiscreteGrad.Sampling.Gumbel.Sample(new long[] { 4, m }, 1.0, new Generator(8), ScalarType.Float64);
        var sst = new SpanningTreeSst(tau, maxRange: 15, straightThrough: true);
        var s = sst.Sample(logits, noise: noise);
        var kruskal = new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList).Solve((logits + noise).detach());
        TorchAssert.Close(TorchAssert.ToArray(kruskal), s.Output, 0, "forward = Kruskal(theta + G)");
        var hard = TorchAssert.ToArray(s.Hard);
        for (int b = 0; b < 4; b++) Assert.True(SpanningTrees.IsSpanningTree(hard.AsSpan(b * m, m), n));
        var c = randn(new long[] { 4, m }, dtype: ScalarType.Float64, generator: new Generator(9));
        var g = TorchAssert.ToArray(torch.autograd.grad(new[] { (s.Output * c).sum() }, new[] { logits })[0]);
        var u = (logits + noise) / tau;
        var expected = TorchAssert.ToArray(torch.autograd.grad(new[] { (SpanningTreeRelaxation.Marginals(SpanningTreeRelaxation.ClipRange(u, 15)) * c).sum() }, new[] { logits })[0]);
        for (int i = 0; i < g.Length; i++) Assert.Equal(expected[i], g[i], 12);
        TorchAssert.Close(TorchAssert.ToArray(SpanningTreeRelaxation.Marginals(SpanningTreeRelaxation.ClipRange(u, 15))), s.Relaxed, 1e-12, "relaxed");
        // Without straight-through the output is the relaxation itself.
        var soft = new SpanningTreeSst(tau, maxRange: 15, straightThrough: false).Sample(logits, noise: noise);
        TorchAssert.Close(TorchAssert.ToArray(s.Relaxed), soft.Output, 1e-12, "soft");
    }

    [Fact]
    public void Sst_refuses_a_bad_temperature_and_range_naming_them()
    {
        Assert.Equal("temperature", Assert.Throws<ArgumentOutOfRangeException>(() => new SpanningTreeSst(0)).ParamName);
        Assert.Equal("maxRange", Assert.Throws<ArgumentOutOfRangeException>(() => new SpanningTreeSst(1, -1)).ParamName);
        var sst = new SpanningTreeSst(1);
        Assert.Equal("noise", Assert.Throws<ArgumentException>(() => sst.Sample(zeros(2, 6), noise: zeros(2, 3))).ParamName);
    }
}
