using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// Seed 003's second-order claim as a sharp, noise-free test: for a quadratic f and tau = 1, the expectation over the
/// sample D of the ReinMax gradient (enumerated exactly) equals the exact gradient of E[f]; ST's does not.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class ReinMaxExactnessTests
{
    /// <summary>f(z) = c . x + x^T A x with x = z flattened [S, N*K]; a generic quadratic with cross terms between nodes.</summary>
    private static Func<Tensor, Tensor> Quadratic(long n, long k, int seed)
    {
        var gen = new Generator((ulong)seed);
        var c = randn(new long[] { n * k }, dtype: ScalarType.Float64, generator: gen);
        var a = randn(new long[] { n * k, n * k }, dtype: ScalarType.Float64, generator: gen);
        return z =>
        {
            var x = z.reshape(z.shape[0], n * k);
            return x.matmul(c) + (x.matmul(a) * x).sum(1);
        };
    }

    [Theory]
    [InlineData(1, 4, 1)]
    [InlineData(2, 3, 2)]
    [InlineData(3, 3, 3)]
    [InlineData(4, 2, 4)]
    public void ReinMax_expected_gradient_is_exact_for_quadratic_f_at_tau_1(int n, int k, int seed)
    {
        var f = Quadratic(n, k, seed);
        var logits = randn(new long[] { n, k }, dtype: ScalarType.Float64, generator: new Generator((ulong)(100 + seed)));
        var exact = Enumeration.Exact(logits, f);
        var reinmax = EstimatorDiagnostics.ExpectedGradient(logits, f, EstimatorKind.ReinMax, new EstimatorOptions(Tau: 1.0));
        Assert.True(reinmax.Exact);
        double maxDiff = (reinmax.Mean - exact.Gradient).abs().max().item<double>();
        Assert.True(maxDiff < 1e-6, $"ReinMax differs from the exact gradient by {maxDiff}");

        var st = EstimatorDiagnostics.ExpectedGradient(logits, f, EstimatorKind.StraightThrough, new EstimatorOptions(Tau: 1.0));
        var report = EstimatorDiagnostics.Compare(st, exact.Gradient);
        Assert.True(report.RelativeL2Error > 0.05, $"ST's expected gradient is unexpectedly exact (relative error {report.RelativeL2Error})");
    }

    [Fact]
    public void ReinMax_is_not_exact_for_a_cubic_f_so_the_test_above_is_sharp()
    {
        Func<Tensor, Tensor> cubic = z => z.select(2, 0).pow(3).sum(1) * 3 - (z.select(2, 1) * z.select(2, 0).sum(1, keepdim: true)).pow(3).sum(1);
        var logits = tensor(new double[,] { { 0.3, -0.2, 0.9 }, { -1.0, 0.4, 0.1 } });
        var exact = Enumeration.Exact(logits, cubic);
        var reinmax = EstimatorDiagnostics.ExpectedGradient(logits, cubic, EstimatorKind.ReinMax);
        // On one-hot inputs z^3 = z, but the derivative 3z^2 is not 1: the Heun step is no longer exact.
        Assert.True((reinmax.Mean - exact.Gradient).abs().max().item<double>() > 1e-3);
    }
}
