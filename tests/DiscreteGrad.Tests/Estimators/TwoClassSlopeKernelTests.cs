using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>The managed two-class slopes of ST, ReinMax and GST against their formulas evaluated in float64.</summary>
public class TwoClassSlopeKernelTests
{
    /// <summary>sigma'(x) / tau for the formulas, in float64.</summary>
    private static double Expected(EstimatorKind kind, double delta, double d0, double tau, double gap)
    {
        static double Sig(double x) => 1 / (1 + Math.Exp(-x));
        double p = Sig(delta), q = Sig(delta / tau);
        switch (kind)
        {
            case EstimatorKind.StraightThrough: return q * (1 - q) / tau;
            case EstimatorKind.ReinMax:
            {
                double pi1 = (d0 + q) / 2;
                return 2 * pi1 * (1 - pi1) - p * (1 - p) / 2;
            }
            default:
            {
                double b = d0 == 1 ? delta : -delta;
                double s = Sig(Math.Max(b, gap) / tau);
                return s * (1 - s) / tau;
            }
        }
    }

    [Theory]
    [InlineData(EstimatorKind.StraightThrough, 1.0)]
    [InlineData(EstimatorKind.StraightThrough, 0.6)]
    [InlineData(EstimatorKind.ReinMax, 1.0)]
    [InlineData(EstimatorKind.ReinMax, 0.6)]
    [InlineData(EstimatorKind.GappedStraightThrough, 1.0)]
    [InlineData(EstimatorKind.GappedStraightThrough, 0.6)]
    public void Slopes_equal_their_formulas_in_both_dtypes_including_the_tail(EstimatorKind kind, double tau)
    {
        // 37 x 29 = 1073 variables: 67 vectors of 16 floats (134 of 8 doubles) and a scalar tail.
        var delta64 = randn(new long[] { 37, 29 }, dtype: ScalarType.Float64, generator: new Generator(40)) * 4;
        delta64[0, 0] = tensor(60.0);
        delta64[0, 1] = tensor(-60.0);
        var d064 = (rand(new long[] { 37, 29 }, dtype: ScalarType.Float64, generator: new Generator(41)) < 0.5).to(ScalarType.Float64);
        var dl = TorchAssert.ToArray(delta64);
        var dd = TorchAssert.ToArray(d064);
        var expected = dl.Select((x, i) => Expected(kind, x, dd[i], tau, 0.8)).ToArray();
        foreach (var (dtype, tol) in new[] { (ScalarType.Float64, 1e-15), (ScalarType.Float32, 2e-7) })
        {
            var delta = delta64.to(dtype);
            var d0 = d064.to(dtype);
            var c = TwoClassSlopeKernel.Slope(kind, delta, delta.sigmoid(), d0, tau, 0.8);
            Assert.Equal(dtype, c.dtype);
            Assert.Equal(new long[] { 37, 29 }, c.shape);
            // float32: against the formula at the float32-rounded delta.
            var exp = dtype == ScalarType.Float64 ? expected
                : TorchAssert.ToArray(delta).Select((x, i) => Expected(kind, x, dd[i], tau, (float)0.8)).ToArray();
            TorchAssert.Close(exp, c, tol, $"{kind} tau {tau} {dtype}");
        }
        // A non-contiguous view gives the contiguous result.
        var t = delta64.t();
        var ct = TwoClassSlopeKernel.Slope(kind, t, t.sigmoid(), d064.t(), tau, 0.8);
        TorchAssert.Close(TorchAssert.ToArray(TwoClassSlopeKernel.Slope(kind, delta64, delta64.sigmoid(), d064, tau, 0.8).t().contiguous()), ct, 0, "transposed");
    }

    [Fact]
    public void Other_kinds_are_refused_naming_the_kind()
    {
        var x = zeros(4, dtype: ScalarType.Float64);
        Assert.Equal("kind", Assert.Throws<ArgumentOutOfRangeException>(() => TwoClassSlopeKernel.Slope(EstimatorKind.GumbelRao, x, x, x, 1, 1)).ParamName);
    }
}
