using System.Numerics;
using DiscreteGrad.Imle;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Imle;

/// <summary>
/// The exact k-subset distribution and SIMPLE against the enumeration of all k-subsets: log-partition, marginals, the
/// Hessian-vector product of the backward pass (against autograd through the enumerated marginals), the sampling
/// frequencies (within their standard errors) and the layer's value and gradient.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class SimpleKSubsetTests
{
    /// <summary>All k-subsets of n items as rows of a float64 [C(n, k), n] 0/1 matrix, in increasing bitmask order.</summary>
    private static Tensor States(int n, int k)
    {
        var rows = Enumerable.Range(0, 1 << n).Where(m => BitOperations.PopCount((uint)m) == k)
            .SelectMany(m => Enumerable.Range(0, n).Select(i => (double)((m >> i) & 1))).ToArray();
        return tensor(rows, new long[] { rows.Length / n, n }, ScalarType.Float64);
    }

    /// <summary>p(z) for every state of each row of theta [R, n] (softmax of the scores over the enumerated states).</summary>
    private static Tensor Pmf(Tensor theta, Tensor states) => softmax(theta.matmul(states.t()), 1);

    private static Tensor Theta(long rows, int n, double scale, ulong seed)
        => randn(new[] { rows, (long)n }, dtype: ScalarType.Float64, generator: new Generator(seed)) * scale;

    public static IEnumerable<object[]> Cases() => new[]
    {
        new object[] { 1, 1 }, new object[] { 5, 1 }, new object[] { 5, 2 }, new object[] { 7, 3 }, new object[] { 8, 7 },
        new object[] { 10, 5 }, new object[] { 12, 4 }, new object[] { 12, 6 }, new object[] { 12, 11 }, new object[] { 12, 12 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Log_partition_and_marginals_equal_the_enumeration(int n, int k)
    {
        var states = States(n, k);
        foreach (double scale in new[] { 0.5, 3.0, 40.0 })
        {
            var theta = Theta(6, n, scale, (ulong)(n * 100 + k));
            var logZ = logsumexp(theta.matmul(states.t()), 1);
            TorchAssert.Close(TorchAssert.ToArray(logZ), KSubsetDistribution.LogPartition(theta, k), 1e-10 * Math.Max(1, scale), $"log Z, scale {scale}");
            var mu = Pmf(theta, states).matmul(states);
            var dp = KSubsetDistribution.Marginals(theta, k);
            TorchAssert.Close(TorchAssert.ToArray(mu), dp, 1e-10, $"mu, scale {scale}");
            TorchAssert.Close(Enumerable.Repeat((double)k, 6).ToArray(), dp.sum(1), 1e-10, "sum of mu");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_of_the_marginals_is_autograd_through_the_enumerated_marginals(int n, int k)
    {
        // (d mu / d theta)^T g: the DP's autograd against autograd of the enumerated mu, and against Cov_p(z) g by hand.
        var states = States(n, k);
        var theta = Theta(4, n, 2.0, (ulong)(7 * n + k));
        var g = Theta(4, n, 1.0, (ulong)(11 * n + k));
        var a = theta.detach().clone().requires_grad_(true);
        (KSubsetDistribution.Marginals(a, k) * g).sum().backward();
        var b = theta.detach().clone().requires_grad_(true);
        (Pmf(b, states).matmul(states) * g).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(b.grad!), a.grad!, 1e-10, "d mu^T g");
        var p = Pmf(theta, states);                                        // [R, C]
        var mu = p.matmul(states);
        var centred = states.unsqueeze(0) - mu.unsqueeze(1);              // [R, C, n]
        var cov = einsum("rc,rci,rcj->rij", p, centred, centred);          // Cov_p(z) per row
        TorchAssert.Close(TorchAssert.ToArray(cov.matmul(g.unsqueeze(2)).squeeze(2)), a.grad!, 1e-10, "Cov(z) g");
    }

    [Fact]
    public void Extreme_logits_give_finite_exact_marginals_and_gradients_in_float32()
    {
        // Differences of thousands: the log-space tables neither overflow nor produce NaN; the marginals are the
        // deterministic top-k (with the tie at 0 split evenly) and the gradient is finite.
        var theta = tensor(new float[] { 3000, -2500, 0, 0, 1e4f, -1e4f, 70, 70 }, new long[] { 1, 8 }).requires_grad_(true);
        var mu = KSubsetDistribution.Marginals(theta, 4);
        TorchAssert.Close(new double[] { 1, 0, 0, 0, 1, 0, 1, 1 }, mu, 1e-6, "mu");
        (mu * arange(8, dtype: ScalarType.Float32)).sum().backward();
        TorchAssert.AllFinite(theta.grad!, "grad");
        var k5 = KSubsetDistribution.Marginals(theta.detach(), 5);
        TorchAssert.Close(new double[] { 1, 0, 0.5, 0.5, 1, 0, 1, 1 }, k5, 1e-6, "mu, k = 5 (tie)");
        TorchAssert.AllFinite(KSubsetDistribution.LogPartition(theta.detach(), 8), "log Z, k = n");
    }

    [Fact]
    public void Sampling_frequencies_match_the_enumerated_probabilities_within_their_standard_errors()
    {
        const int n = 6, k = 3, draws = 40_000;
        var states = States(n, k);                                           // 20 states
        var theta = tensor(new[] { 0.8, -0.4, 1.5, 0.0, -1.2, 0.3, /* row 2 */ 2.0, 2.0, -3.0, 0.5, 0.1, -0.7 },
            new long[] { 2, n }, ScalarType.Float64);
        var z = KSubsetDistribution.Sample(theta, k, draws, new Generator(2024));    // [2 * draws, n]
        Assert.Equal(new long[] { 2 * draws, n }, z.shape);
        Assert.True(z.sum(1).eq(k).all().item<bool>(), "every sample has exactly k ones");
        var codes = states.matmul(tensor(Enumerable.Range(0, n).Select(i => (double)(1 << i)).ToArray(), dtype: ScalarType.Float64));
        var p = Pmf(theta, states);
        for (int row = 0; row < 2; row++)
        {
            var rowCodes = z.narrow(0, row * draws, draws).matmul(tensor(Enumerable.Range(0, n).Select(i => (double)(1 << i)).ToArray(), dtype: ScalarType.Float64));
            double chi2 = 0;
            for (int s = 0; s < states.shape[0]; s++)
            {
                double ps = p[row, s].item<double>();
                double freq = rowCodes.eq(codes[s]).sum().item<long>() / (double)draws;
                double se = Math.Sqrt(ps * (1 - ps) / draws);
                Assert.True(Math.Abs(freq - ps) < 4.5 * se, $"row {row}, state {s}: frequency {freq}, p {ps}, se {se}");
                chi2 += draws * (freq - ps) * (freq - ps) / ps;
            }
            // 19 degrees of freedom: the 0.999 quantile is 43.8.
            Assert.True(chi2 < 43.8, $"row {row}: chi-square {chi2}");
        }
    }

    [Fact]
    public void Sampling_is_reproducible_from_the_generator_and_deterministic_at_the_extremes()
    {
        var theta = Theta(3, 9, 1.0, 5);
        Assert.True(KSubsetDistribution.Sample(theta, 4, 5, new Generator(9)).eq(KSubsetDistribution.Sample(theta, 4, 5, new Generator(9))).all().item<bool>());
        var sure = tensor(new[] { 50.0, -50, 50, -50, 50 }, new long[] { 1, 5 }, ScalarType.Float64);
        var z = KSubsetDistribution.Sample(sure, 3, 100, new Generator(1));
        Assert.True(z.eq(tensor(new[] { 1.0, 0, 1, 0, 1 }, dtype: ScalarType.Float64)).all().item<bool>());
        var all = KSubsetDistribution.Sample(sure, 5, 3, new Generator(1));
        Assert.True(all.eq(1).all().item<bool>());
        // Theta [n] gives [S, n].
        Assert.Equal(new long[] { 4, 5 }, KSubsetDistribution.Sample(sure.reshape(5), 2, 4, new Generator(3)).shape);
    }

    [Fact]
    public void Layer_value_is_the_sample_and_its_gradient_the_mean_over_samples_of_the_Hessian_times_the_upstream_gradient()
    {
        const int n = 7, k = 3, s = 4;
        var states = States(n, k);
        var theta0 = Theta(2, n, 1.5, 77);
        var layer = new SimpleKSubsetLayer(k, s, generator: new Generator(4));
        var theta = theta0.detach().clone().requires_grad_(true);
        var z = layer.forward(theta);
        Assert.Equal(new long[] { 2 * s, n }, z.shape);
        // The value is exactly the sample the same generator draws.
        Assert.True(z.detach().eq(KSubsetDistribution.Sample(theta0, k, s, new Generator(4))).all().item<bool>());
        var up = Theta(2 * s, n, 1.0, 78);
        (z * up).sum().backward();
        var p = Pmf(theta0, states);
        var mu = p.matmul(states);
        var centred = states.unsqueeze(0) - mu.unsqueeze(1);
        var cov = einsum("rc,rci,rcj->rij", p, centred, centred);          // [2, n, n]
        var meanUp = up.reshape(2, s, n).mean(new long[] { 1 });
        TorchAssert.Close(TorchAssert.ToArray(cov.matmul(meanUp.unsqueeze(2)).squeeze(2)), theta.grad!, 1e-10, "stacked gradient");

        // Mean layout: the output is the mean of the samples, the gradient Cov(z) g.
        var mean = new SimpleKSubsetLayer(k, s, SampleLayout.Mean, new Generator(4));
        var t2 = theta0.detach().clone().requires_grad_(true);
        var m = mean.forward(t2);
        TorchAssert.Close(TorchAssert.ToArray(z.detach().reshape(2, s, n).mean(new long[] { 1 })), m, 0, "mean value");
        (m * meanUp).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(theta.grad!), t2.grad!, 1e-12, "mean-layout gradient");
    }

    [Fact]
    public void Pinned_samples_the_functional_form_and_the_factory_agree()
    {
        var theta0 = Theta(3, 6, 1.0, 31);
        var sample = KSubsetDistribution.Sample(theta0, 2, 1, new Generator(8));
        var up = Theta(3, 6, 1.0, 32);
        var a = theta0.detach().clone().requires_grad_(true);
        var za = discrete.SimpleKSubsetLayer(2).forward(a, sample);
        Assert.True(za.detach().eq(sample).all().item<bool>());
        (za * up).sum().backward();
        var b = theta0.detach().clone().requires_grad_(true);
        var zb = discrete.functional.simple_k_subset(b, 2, sample: sample);
        (zb * up).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(a.grad!), b.grad!, 0, "functional = layer");
        var c = theta0.detach().clone().requires_grad_(true);
        (KSubsetDistribution.Marginals(c, 2) * up).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(c.grad!), a.grad!, 0, "gradient of <mu, g>");
        // A vector [n] gives a vector; the same generator gives the same draw as the layer.
        var v = discrete.functional.simple_k_subset(theta0[0], 2, new Generator(8));
        Assert.Equal(new long[] { 6 }, v.shape);
        Assert.True(v.eq(sample[0]).all().item<bool>());
        // Without autograd the output is the sample itself, detached, and never an alias of the pinned tensor.
        using (no_grad())
        {
            var e = discrete.SimpleKSubsetLayer(2).forward(theta0, sample);
            Assert.False(e.requires_grad);
            e.add_(1);
            Assert.True(sample.sum(1).eq(2).all().item<bool>());
        }
    }

    [Fact]
    public void Bad_arguments_name_the_parameter_and_the_allowed_range()
    {
        var theta = Theta(2, 5, 1.0, 1);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => KSubsetDistribution.Marginals(theta, 6)).ParamName);
        Assert.Contains("[1, n = 5]", Assert.Throws<ArgumentOutOfRangeException>(() => KSubsetDistribution.Marginals(theta, 0)).Message);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => new SimpleKSubsetLayer(0)).ParamName);
        Assert.Equal("samples", Assert.Throws<ArgumentOutOfRangeException>(() => new SimpleKSubsetLayer(2, 0)).ParamName);
        Assert.Equal("theta", Assert.ThrowsAny<ArgumentException>(() => KSubsetDistribution.LogPartition(ones(3, 4, dtype: ScalarType.Int64), 2)).ParamName);
        Assert.Equal("theta", Assert.ThrowsAny<ArgumentException>(() => KSubsetDistribution.Sample(tensor(new[] { 1.0, double.NaN }), 1)).ParamName);
        Assert.Equal("theta", Assert.Throws<ArgumentException>(() => new SimpleKSubsetLayer(2).forward(theta[0])).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => new SimpleKSubsetLayer(6).forward(theta)).ParamName);
        var layer = new SimpleKSubsetLayer(2, 2);
        Assert.Contains("[4, 5]", Assert.Throws<ArgumentException>(() => layer.forward(theta, zeros(2, 5, dtype: ScalarType.Float64))).Message);
        var three = zeros(4, 5, dtype: ScalarType.Float64);
        three.narrow(1, 0, 3).fill_(1);
        Assert.Equal("sample", Assert.Throws<ArgumentException>(() => layer.forward(theta, three)).ParamName);
        var half = full(4, 5, 0.4, dtype: ScalarType.Float64);
        Assert.Equal("sample", Assert.Throws<ArgumentException>(() => layer.forward(theta, half)).ParamName);
    }
}
