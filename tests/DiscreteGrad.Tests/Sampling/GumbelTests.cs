using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Sampling;

public class GumbelTests
{
    private const double ChiSquare9DofP001 = 27.877;   // 0.999 quantile of chi-square with 9 degrees of freedom

    private static double ChiSquare(long[] counts, double[] probs)
    {
        double n = counts.Sum();
        return counts.Select((c, i) => (c - n * probs[i]) * (c - n * probs[i]) / (n * probs[i])).Sum();
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.5)]
    [InlineData(0.5)]
    public void Gumbel_max_with_scale_beta_samples_softmax_of_theta_over_beta(double beta)
    {
        const int draws = 200_000;
        double[] theta = { -1.5, -1.0, -0.4, 0.0, 0.2, 0.5, 0.9, 1.1, 1.6, 2.0 };
        var gen = new Generator(2024);
        var g = Gumbel.Sample(new long[] { draws, 10 }, beta, gen, ScalarType.Float64);
        var idx = (tensor(theta, dtype: ScalarType.Float64) + g).argmax(-1);
        var counts = TorchAssert.ToArray(bincount(idx, minlength: 10)).Select(x => (long)x).ToArray();
        double stat = ChiSquare(counts, Hand.Softmax(theta, beta));
        Assert.True(stat < ChiSquare9DofP001, $"chi-square {stat:F2} against softmax(theta / {beta}) exceeds {ChiSquare9DofP001}");
        if (beta != 1.0)
        {
            double wrong = ChiSquare(counts, Hand.Softmax(theta));
            Assert.True(wrong > 1000, $"the test cannot tell scales apart (chi-square {wrong:F1} against softmax(theta))");
        }
    }

    [Fact]
    public void Gumbel_mean_and_variance_match_the_distribution()
    {
        // Gumbel(0, beta): mean beta * gamma_E, variance beta^2 pi^2 / 6. 400k draws; tolerance 5 standard errors.
        const int n = 400_000;
        double beta = 1.7;
        var g = Gumbel.Sample(new long[] { n }, beta, new Generator(5), ScalarType.Float64);
        double mean = g.mean().item<double>(), variance = g.var().item<double>();
        double sd = beta * Math.PI / Math.Sqrt(6);
        Assert.True(Math.Abs(mean - beta * 0.5772156649) < 5 * sd / Math.Sqrt(n), $"mean {mean}");
        // Var of the sample variance ~ (mu4 - sigma^4) / n with excess kurtosis 12/5: mu4 = (3 + 2.4) sigma^4.
        double seVar = Math.Sqrt((5.4 - 1) * Math.Pow(sd, 4) / n);
        Assert.True(Math.Abs(variance - sd * sd) < 5 * seVar, $"variance {variance}");
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void Extreme_uniform_and_exponential_inputs_give_finite_noise(ScalarType dtype)
    {
        var u = tensor(new[] { 0.0, 1.0, 1e-45, 1 - 1e-17, 0.5 }, dtype: ScalarType.Float64).to(dtype);
        TorchAssert.AllFinite(Gumbel.FromUniform(u), "FromUniform");
        var e = tensor(new[] { 0.0, double.PositiveInfinity, 1e-300, 1e300, 1.0 }, dtype: ScalarType.Float64).to(dtype);
        TorchAssert.AllFinite(Gumbel.FromExponential(e, 3.0), "FromExponential");
        TorchAssert.AllFinite(Gumbel.Sample(new long[] { 1_000_000 }, 1e3, new Generator(1), dtype), "Sample");
    }

    [Fact]
    public void Same_generator_seed_gives_the_same_noise_and_beta_zero_gives_none()
    {
        var a = Gumbel.Sample(new long[] { 100 }, 1.0, new Generator(9));
        var b = Gumbel.Sample(new long[] { 100 }, 1.0, new Generator(9));
        var c = Gumbel.Sample(new long[] { 100 }, 1.0, new Generator(10));
        Assert.True((a == b).all().item<bool>());
        Assert.False((a == c).all().item<bool>());
        Assert.Equal(0.0, Gumbel.Sample(new long[] { 100 }, 0.0, new Generator(9)).abs().max().item<float>());
        var scaled = Gumbel.Sample(new long[] { 100 }, 2.0, new Generator(9));
        Assert.True(allclose(scaled, a * 2, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void Categorical_sampling_by_gumbel_max_matches_softmax()
    {
        double[] theta = { 0.3, -0.2, 1.4, 0.0 };
        var logits = tensor(theta, dtype: ScalarType.Float64).expand(100_000, 4);
        var d = OneHot.Sample(logits, new Generator(77));
        Assert.True((d.sum(-1) == 1).all().item<bool>());
        var counts = TorchAssert.ToArray(d.sum(dim: 0)).Select(x => (long)x).ToArray();
        Assert.True(ChiSquare(counts, Hand.Softmax(theta)) < 16.27);   // 0.999 quantile, 3 dof
    }
}
