using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using MathNet.Numerics;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Imle;

/// <summary>
/// The managed noise samplers against exact distribution functions (one-sample Kolmogorov-Smirnov) and against libtorch's
/// samplers (two-sample KS), with critical values at alpha = 0.001: D &lt; c(alpha) sqrt((n + m) / (n m)),
/// c = sqrt(-ln(alpha / 2) / 2) = 1.949 (one-sample: sqrt(1/n) instead of sqrt((n + m) / (n m))).
/// </summary>
public class NoiseDistributionTests(ITestOutputHelper output)
{
    private const int Draws = 1_000_000;
    private static readonly double C001 = Math.Sqrt(-Math.Log(0.001 / 2) / 2);

    private static double[] Sorted(Tensor t)
    {
        var values = t.to(ScalarType.Float64).data<double>().ToArray();
        Array.Sort(values);
        return values;
    }

    /// <summary>sup_x |F_n(x) - F(x)| for sorted draws.</summary>
    private static double OneSampleKs(double[] sorted, Func<double, double> cdf)
    {
        double d = 0, n = sorted.Length;
        for (int i = 0; i < sorted.Length; i++)
        {
            double f = cdf(sorted[i]);
            d = Math.Max(d, Math.Max((i + 1) / n - f, f - i / n));
        }
        return d;
    }

    /// <summary>sup_x |F_n(x) - G_m(x)| for two sorted samples.</summary>
    private static double TwoSampleKs(double[] a, double[] b)
    {
        int i = 0, j = 0;
        double d = 0;
        while (i < a.Length && j < b.Length)
        {
            double x = Math.Min(a[i], b[j]);
            while (i < a.Length && a[i] <= x) i++;
            while (j < b.Length && b[j] <= x) j++;
            d = Math.Max(d, Math.Abs((double)i / a.Length - (double)j / b.Length));
        }
        return d;
    }

    /// <summary>
    /// P(a, x), the CDF of Gamma(a, 1): for x &lt; 1 the series x^a e^-x sum_n x^n / Gamma(a + n + 1) (MathNet's
    /// GammaLowerRegularized returns 0 below about 1e-15, where a shape of 1/30 still has a third of its mass), else MathNet.
    /// </summary>
    private static double GammaCdf(double a, double x)
    {
        if (x <= 0) return 0;
        if (x >= 1) return SpecialFunctions.GammaLowerRegularized(a, x);
        double term = 1, sum = 1;
        for (int n = 1; n < 60; n++) sum += term *= x / (a + n);
        return Math.Exp(a * Math.Log(x) - x - SpecialFunctions.GammaLn(a + 1)) * sum;
    }

    [Theory]
    [InlineData(10.0)]   // shape 0.1, p^10 by squarings
    [InlineData(30.0)]   // shape 1/30
    [InlineData(2.5)]    // shape 0.4, p^(1/a) by exp and log
    [InlineData(1.0)]    // shape 1 (exponential): a quarter of the candidates take the p > 1 branch
    [InlineData(0.5)]    // shape 2: Marsaglia-Tsang
    public void One_term_of_sum_of_gamma_is_exactly_gamma_of_shape_one_over_k(double k)
    {
        // s = 1: eps = g_1 - log(1) / k = g_1 ~ Gamma(1/k, 1); its CDF is the regularised lower incomplete gamma P(1/k, x).
        var eps = ImleNoise.SumOfGamma(k, s: 1).Sample(new long[] { Draws }, new Generator(101), ScalarType.Float64);
        var sorted = Sorted(eps);
        double d = OneSampleKs(sorted, x => GammaCdf(1 / k, x));
        double critical = C001 / Math.Sqrt(Draws);
        output.WriteLine($"k = {k}: one-sample KS D = {d:E3}, critical {critical:E3}");
        Assert.True(d < critical, $"KS D = {d:E3} against Gamma({1 / k}) exceeds {critical:E3}");
        // The test can tell a neighbouring shape apart.
        double wrong = OneSampleKs(sorted, x => GammaCdf(1.02 / k, x));
        Assert.True(wrong > 3 * critical, $"KS D = {wrong:E3} against Gamma({1.02 / k}) is too small to tell shapes apart");
    }

    [Theory]
    [InlineData(10.0, 10)]
    [InlineData(12.0, 10)]
    [InlineData(2.5, 10)]
    [InlineData(0.5, 4)]
    public void Sum_of_gamma_has_the_law_of_the_libtorch_sampler(double k, int s)
    {
        var noise = new SumOfGammaNoise(k, s);
        var managed = Sorted(noise.Sample(new long[] { Draws }, new Generator(7), ScalarType.Float64));
        var reference = Sorted(noise.ReferenceSample(new long[] { Draws }, new Generator(8), ScalarType.Float64));
        double d = TwoSampleKs(managed, reference);
        double critical = C001 * Math.Sqrt(2.0 / Draws);
        output.WriteLine($"k = {k}, s = {s}: two-sample KS D = {d:E3}, critical {critical:E3}");
        Assert.True(d < critical, $"two-sample KS D = {d:E3} exceeds {critical:E3} (k = {k}, s = {s})");
        // Sensitivity: the reference sampler with a k 5% larger is told apart.
        var other = Sorted(new SumOfGammaNoise(1.05 * k, s).ReferenceSample(new long[] { Draws }, new Generator(9), ScalarType.Float64));
        double wrong = TwoSampleKs(managed, other);
        Assert.True(wrong > 3 * critical, $"two-sample KS D = {wrong:E3} against k * 1.05: the test cannot tell them apart");
    }

    [Fact]
    public void Gumbel_noise_is_exactly_standard_gumbel()
    {
        var g = ImleNoise.Gumbel.Sample(new long[] { Draws }, new Generator(5), ScalarType.Float64);
        var sorted = Sorted(g);
        double d = OneSampleKs(sorted, x => Math.Exp(-Math.Exp(-x)));
        double critical = C001 / Math.Sqrt(Draws);
        output.WriteLine($"Gumbel: one-sample KS D = {d:E3}, critical {critical:E3}");
        Assert.True(d < critical, $"KS D = {d:E3} against Gumbel(0, 1) exceeds {critical:E3}");
        Assert.True(OneSampleKs(sorted, x => Math.Exp(-Math.Exp(-(x - 0.03)))) > 3 * critical, "the test cannot tell a shift of 0.03 apart");
        // Against libtorch's sampler, -log E with E from exponential_ (what Sampling.Gumbel drew before it used this stream).
        var reference = Sorted(empty(new long[] { Draws }, dtype: ScalarType.Float64).exponential_(1.0, new Generator(6)).log_().neg_());
        Assert.True(TwoSampleKs(sorted, reference) < C001 * Math.Sqrt(2.0 / Draws), "against libtorch's exponential_");
        var sampling = Sorted(DiscreteGrad.Sampling.Gumbel.Sample(new long[] { Draws }, 1.0, new Generator(7), ScalarType.Float64));
        Assert.True(OneSampleKs(sampling, x => Math.Exp(-Math.Exp(-x))) < critical, "Sampling.Gumbel against Gumbel(0, 1)");
    }

    [Fact]
    public void Log_uniform_fill_is_minus_an_exponential_draw()
    {
        var l = empty(new long[] { Draws }, dtype: ScalarType.Float64);
        NoiseKernels.LogUniform(l, CounterStream.KeyFrom(new Generator(8), null), 0);
        Assert.True((l < 0).all().item<bool>() && isfinite(l).all().item<bool>(), "log U < 0 and finite");
        var sorted = Sorted(l.neg());
        double d = OneSampleKs(sorted, x => 1 - Math.Exp(-x));
        double critical = C001 / Math.Sqrt(Draws);
        Assert.True(d < critical, $"KS D = {d:E3} against Exponential(1) exceeds {critical:E3}");
        // Consecutive words: a fill from word 0 of [2n] equals fills of [n] from words 0 and n.
        var whole = empty(new long[] { 2000 }, dtype: ScalarType.Float32);
        var a = empty(new long[] { 1000 }, dtype: ScalarType.Float32);
        var b = empty(new long[] { 1000 }, dtype: ScalarType.Float32);
        NoiseKernels.LogUniform(whole, 99, 0);
        NoiseKernels.LogUniform(a, 99, 0);
        NoiseKernels.LogUniform(b, 99, 1000);
        Assert.Equal(TorchAssert.ToArray(whole), TorchAssert.ToArray(cat(new[] { a, b })));
    }

    [Fact]
    public void Draws_are_reproducible_and_independent_of_threads_and_dtype()
    {
        var shape = new long[] { 300, 41 };   // 12300 entries: 25 chunks, the last one partial
        foreach (var noise in new[] { ImleNoise.SumOfGamma(10), ImleNoise.SumOfGamma(2.5), ImleNoise.SumOfGamma(0.5), ImleNoise.Gumbel })
        {
            Tensor one, two;
            using (SolverParallelism.Limit(1)) one = noise.Sample(shape, new Generator(3), ScalarType.Float64);
            using (SolverParallelism.Limit(2, minParallelWork: 0)) two = noise.Sample(shape, new Generator(3), ScalarType.Float64);
            Assert.True((one == two).all().item<bool>(), $"{noise}: one thread and two threads differ");
            var single = noise.Sample(shape, new Generator(3), ScalarType.Float32);
            Assert.Equal(ScalarType.Float32, single.dtype);
            Assert.True((single == one.to(ScalarType.Float32)).all().item<bool>(), $"{noise}: float32 is not the float64 draw rounded");
            var half = noise.Sample(shape, new Generator(3), ScalarType.BFloat16);
            Assert.True((half == single.to(ScalarType.BFloat16)).all().item<bool>(), $"{noise}: bfloat16 is not the float32 draw rounded");
            var other = noise.Sample(shape, new Generator(4), ScalarType.Float64);
            Assert.True((other != one).to(ScalarType.Float64).mean().item<double>() > 0.999, $"{noise}: another seed repeats values");
            // One draw advances the generator: two draws in a row differ.
            var gen = new Generator(3);
            noise.Sample(shape, gen, ScalarType.Float64);
            Assert.False((noise.Sample(shape, gen, ScalarType.Float64) == one).all().item<bool>(), $"{noise}: the generator did not advance");
        }
    }

    [Fact]
    public void Bad_requests_name_the_parameter()
    {
        foreach (var noise in new[] { ImleNoise.SumOfGamma(3), ImleNoise.Gumbel })
        {
            Assert.Equal("shape", Assert.Throws<ArgumentOutOfRangeException>(() => noise.Sample(new long[] { 2, -1 })).ParamName);
            Assert.Equal("dtype", Assert.Throws<ArgumentOutOfRangeException>(() => noise.Sample(new long[] { 2 }, dtype: ScalarType.Int64)).ParamName);
            Assert.Equal(new long[] { 0, 3 }, noise.Sample(new long[] { 0, 3 }, new Generator(1)).shape);
        }
    }
}
