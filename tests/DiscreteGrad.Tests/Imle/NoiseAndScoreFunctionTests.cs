using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Imle;

[Collection(GlobalGenerator.Name)]
public class NoiseAndScoreFunctionTests
{
    [Theory]
    [InlineData(1.0, 10)]
    [InlineData(3.0, 10)]
    [InlineData(5.0, 4)]
    [InlineData(10.0, 10)]
    [InlineData(12.5, 10)]
    [InlineData(0.5, 10)]
    public void Sum_of_gamma_moments_match_the_formula(double k, int s)
    {
        // eps = (sum_i Gamma(1/k, rate i/k) - log s) / k: mean (H_s - log s) / k, variance sum_i 1/(k i^2).
        // Cumulants of sum_i g_i / i, g_i ~ Gamma(1/k, 1): kappa_n = (1/k) (n-1)! sum_i i^-n; Var(sample variance) ~ (kappa4 + 2 kappa2^2) / N;
        // Var(sample third central moment) ~ (mu6 - mu3^2 - 6 mu4 mu2 + 9 mu2^3) / N, mu3 = kappa3, mu4 = kappa4 + 3 kappa2^2,
        // mu6 = kappa6 + 15 kappa4 kappa2 + 10 kappa3^2 + 15 kappa2^3.
        const int n = 400_000;
        var eps = ImleNoise.SumOfGamma(k, s).Sample(new long[] { n }, new Generator(12), ScalarType.Float64);
        double Kappa(int order, double factorial) => factorial * Enumerable.Range(1, s).Sum(i => Math.Pow(i, -order)) / k;
        double harmonic = Enumerable.Range(1, s).Sum(i => 1.0 / i);
        double kappa2 = Kappa(2, 1), kappa3 = Kappa(3, 2), kappa4 = Kappa(4, 6), kappa6 = Kappa(6, 120);
        double mean = eps.mean().item<double>(), variance = eps.var().item<double>();
        Assert.True(Math.Abs(mean - (harmonic - Math.Log(s)) / k) < 5 * Math.Sqrt(kappa2 / n), $"mean {mean}");
        Assert.True(Math.Abs(variance - kappa2) < 5 * Math.Sqrt((kappa4 + 2 * kappa2 * kappa2) / n), $"variance {variance} vs {kappa2}");
        double third = (eps - mean).pow(3).mean().item<double>();
        double mu4 = kappa4 + 3 * kappa2 * kappa2, mu6 = kappa6 + 15 * kappa4 * kappa2 + 10 * kappa3 * kappa3 + 15 * Math.Pow(kappa2, 3);
        double seThird = Math.Sqrt((mu6 - kappa3 * kappa3 - 6 * mu4 * kappa2 + 9 * Math.Pow(kappa2, 3)) / n);
        Assert.True(Math.Abs(third - kappa3) < 5 * seThird, $"third central moment {third} vs {kappa3}");
    }

    [Fact]
    public void Noise_kinds_have_the_requested_shape_dtype_and_seeded_draws()
    {
        foreach (var noise in new[] { ImleNoise.None, ImleNoise.Gumbel, ImleNoise.SumOfGamma(2) })
        {
            var a = noise.Sample(new long[] { 3, 5 }, new Generator(1), ScalarType.Float64);
            var b = noise.Sample(new long[] { 3, 5 }, new Generator(1), ScalarType.Float64);
            Assert.Equal(new long[] { 3, 5 }, a.shape);
            Assert.Equal(ScalarType.Float64, a.dtype);
            Assert.True((a == b).all().item<bool>(), $"{noise}: same seed, same draw");
            Assert.Equal(noise.IsZero, a.abs().sum().item<double>() == 0);
        }
    }

    [Fact]
    public void Score_function_estimate_is_unbiased_for_gumbel_top_1()
    {
        // Gumbel noise + top-1 is exact perturb-and-MAP: z ~ Cat(softmax(theta)). For losses f_i = f(e_i) the exact gradient
        // of E[f] is J(p)^T f = p (f - p.f). 20000 samples; tolerance about 5 standard errors.
        double[] theta = { 0.5, -1.0, 2.0, 0.0 };
        double[] f = { 1.0, -2.0, 0.5, 3.0 };
        const int samples = 20_000;
        var sfe = new ScoreFunctionMap(new TopKSolver(1), ImleNoise.Gumbel, samples: samples, generator: new Generator(77));
        var leaf = tensor(theta, new long[] { 1, 4 }, ScalarType.Float64).requires_grad_(true);
        var z = sfe.Sample(leaf);
        Assert.False(z.requires_grad);
        var losses = (z * tensor(f, dtype: ScalarType.Float64)).sum(dim: 1);
        var surrogate = sfe.Surrogate(leaf, z, losses);
        Assert.Equal(0.0, surrogate.item<double>());
        surrogate.backward();
        var exact = Hand.Jtv(Hand.Softmax(theta), f);
        TorchAssert.Close(exact, leaf.grad!, 0.08, "SFE vs exact");

        // A minimising solver on costs -theta gives the negated estimate for the same samples.
        var sfeMin = new ScoreFunctionMap(MapSolver.FromDelegate(c => new TopKSolver(1).Solve(-c)), ImleNoise.Gumbel, samples: samples, minimise: true);
        var costs = (-tensor(theta, new long[] { 1, 4 }, ScalarType.Float64)).requires_grad_(true);
        sfeMin.Surrogate(costs, z, losses).backward();
        Assert.True(allclose(costs.grad!, -leaf.grad!, rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void Score_function_with_leave_one_out_baseline_by_hand()
    {
        // S = 2: coefficients (f1 - f2)/2 and (f2 - f1)/2; g = ((f1 - f2) z1 + (f2 - f1) z2) / 2.
        var sfe = new ScoreFunctionMap(new TopKSolver(1), ImleNoise.Gumbel, samples: 2);
        var leaf = zeros(new long[] { 1, 3 }, dtype: ScalarType.Float64).requires_grad_(true);
        var z = tensor(new double[] { 1, 0, 0, 0, 0, 1 }, new long[] { 2, 3 }, ScalarType.Float64);
        sfe.Surrogate(leaf, z, tensor(new double[] { 5, 1 }, dtype: ScalarType.Float64)).backward();
        TorchAssert.Close(new double[] { 2, 0, -2 }, leaf.grad!, 1e-15, "grad");
        Assert.Equal("samples", Assert.Throws<ArgumentOutOfRangeException>(() => new ScoreFunctionMap(new TopKSolver(1), ImleNoise.Gumbel, samples: 1)).ParamName);
        Assert.Equal("noise", Assert.Throws<ArgumentException>(() => new ScoreFunctionMap(new TopKSolver(1), ImleNoise.None)).ParamName);
        Assert.Equal("losses", Assert.Throws<ArgumentException>(() => sfe.Surrogate(leaf, z, zeros(3, dtype: ScalarType.Float64))).ParamName);
    }
}
