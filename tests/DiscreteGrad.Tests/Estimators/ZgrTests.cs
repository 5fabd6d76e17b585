using DiscreteGrad.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// ZGR: its gradient on a pinned sample against the formula by hand, and the exactness of its expectation for f of degree
/// two in the one-hot vectors (Shekhovtsov 2023), by enumerating every joint sample; for a cubic f it is biased.
/// </summary>
public class ZgrTests
{
    private const ScalarType F64 = ScalarType.Float64;

    [Fact]
    public void Gradient_is_the_average_of_st_and_darn_on_a_pinned_sample()
    {
        double[] theta = { 0.5, -1.0, 2.0 }, v = { 1.0, -2.0, 0.5 };
        var leaf = tensor(theta, dtype: F64).requires_grad_(true);
        var y = discrete.functional.zgr(leaf, sample: tensor(Hand.OneHot(3, 0), dtype: F64));
        (y * tensor(v, dtype: F64)).sum().backward();
        TorchAssert.Close(Hand.OneHot(3, 0), y, 0, "forward");
        var p = Hand.Softmax(theta);
        double dv = v[0] - p.Zip(v, (a, b) => a * b).Sum();                       // (D - p)^T v
        var darn = Hand.OneHot(3, 0).Select((e, i) => dv * (e - p[i])).ToArray(); // (D - p)^T v * grad log p_x
        TorchAssert.Close(Hand.Add(Hand.Scale(Hand.Jtv(p, v), 0.5), Hand.Scale(darn, 0.5)), leaf.grad!, 1e-12, "grad");
    }

    /// <summary>E[grad] over every joint sample of logits [N, K]; f maps [M, N, K] to [M].</summary>
    private static Tensor ExpectedGradient(Func<Tensor, Tensor, Tensor> estimator, Tensor logits, Func<Tensor, Tensor> f)
    {
        long n = logits.shape[0], k = logits.shape[1];
        var states = Enumeration.JointStates(n, k, F64);
        long m = states.shape[0];
        var p = Enumeration.LogProbabilities(logits, states).exp();
        var leaf = logits.unsqueeze(0).expand(m, n, k).clone().requires_grad_(true);
        var grads = torch.autograd.grad(new[] { f(estimator(leaf, states)).sum() }, new[] { leaf })[0];
        return (p.view(m, 1, 1) * grads).sum(new long[] { 0 });
    }

    private static Tensor Zgr(Tensor leaf, Tensor states) => discrete.functional.zgr(leaf, sample: states);

    /// <summary>f(D) = c + sum_i a_i . D_i + sum_{i, j} D_i^T B_ij D_j, diagonal blocks B_ii included.</summary>
    private static Func<Tensor, Tensor> Quadratic(long n, long k, Generator g)
    {
        var a = torch.randn(new long[] { n, k }, dtype: F64, generator: g);
        var b = torch.randn(new long[] { n * k, n * k }, dtype: F64, generator: g);
        return d =>
        {
            var x = d.flatten(1);
            return 0.7 + (d * a).sum(new long[] { 1, 2 }) + (x.matmul(b) * x).sum(1);
        };
    }

    [Theory]
    [InlineData(1, 4, 1)]
    [InlineData(3, 3, 2)]
    [InlineData(2, 5, 3)]
    public void Expectation_is_the_exact_gradient_for_quadratic_f(int n, int k, int seed)
    {
        var g = new Generator((ulong)seed);
        var logits = torch.randn(new long[] { n, k }, dtype: F64, generator: g) * 1.5;
        var f = Quadratic(n, k, g);
        var exact = Enumeration.Exact(logits, f).Gradient;
        var zgr = ExpectedGradient(Zgr, logits, f);
        TorchAssert.Close(TorchAssert.ToArray(exact), zgr, 1e-12, "E[ZGR]");
        // ST alone (tau = 1) is not exact for the same f: the property is ZGR's, not the test's.
        var st = ExpectedGradient((l, s) => discrete.functional.straight_through(l, sample: s), logits, f);
        Assert.True((st - exact).abs().max().item<double>() > 1e-3, "ST should be biased for a quadratic f");
    }

    [Fact]
    public void Expectation_is_biased_for_a_cubic_f()
    {
        var g = new Generator(4);
        var logits = torch.randn(new long[] { 3, 3 }, dtype: F64, generator: g);
        var w = torch.randn(new long[] { 3, 3 }, dtype: F64, generator: g);
        Func<Tensor, Tensor> f = d => (d * w).sum(new long[] { 1, 2 }).pow(3);
        var exact = Enumeration.Exact(logits, f).Gradient;
        var zgr = ExpectedGradient(Zgr, logits, f);
        Assert.True((zgr - exact).abs().max().item<double>() > 1e-3);
    }

    [Fact]
    public void Bad_sample_is_refused_naming_it()
    {
        var logits = torch.zeros(new long[] { 2, 3 }, dtype: F64);
        var e = Assert.ThrowsAny<ArgumentException>(() => discrete.functional.zgr(logits, sample: torch.ones(new long[] { 2, 3 }, dtype: F64)));
        Assert.Equal("sample", e.ParamName);
    }
}
