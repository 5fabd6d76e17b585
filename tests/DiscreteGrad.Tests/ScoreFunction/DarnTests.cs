using DiscreteGrad.ScoreFunction;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static DiscreteGrad.Tests.ScoreFunction.ExactKit;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>
/// DARN drops MuProp's correction f'(1/2) . grad E[z]; its expectation is therefore the exact gradient minus that term. The
/// predicted bias per logit, -f'(1/2)_i sigma(phi_i) sigma(-phi_i), is computed by hand from the analytic derivative of f.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class DarnTests
{
    private readonly ITestOutputHelper _out;
    public DarnTests(ITestOutputHelper output) => _out = output;

    private static readonly double[] A = { 1.3, -0.7, 2.1 };

    /// <summary>f(z) = sin(a . z) + z0^2 z1 + z2^3 / 2: not quadratic.</summary>
    internal static Tensor NonQuadratic(Tensor z)
        => sin((z * tensor(A, dtype: F64)).sum(-1)) + z.select(-1, 0).pow(2) * z.select(-1, 1) + 0.5 * z.select(-1, 2).pow(3);

    /// <summary>f'(1/2) of <see cref="NonQuadratic"/> by hand: a cos(a . 1/2) + (2 z0 z1, z0^2, 1.5 z2^2) at z = 1/2.</summary>
    private static double[] NonQuadraticSlopeAtHalf()
    {
        double c = Math.Cos(0.5 * A.Sum());
        return new[] { A[0] * c + 0.5, A[1] * c + 0.25, A[2] * c + 0.375 };
    }

    /// <summary>f(z) = 2 z0 z1 - z2^2 + 3 z0 + z1 z2: quadratic, f'(1/2) = (2 z1 + 3, 2 z0 + z2, -2 z2 + z1) = (4, 1.5, -0.5).</summary>
    private static Tensor Quadratic(Tensor z)
    {
        var (z0, z1, z2) = (z.select(-1, 0), z.select(-1, 1), z.select(-1, 2));
        return 2 * z0 * z1 - z2.pow(2) + 3 * z0 + z1 * z2;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Darn_bias_equals_minus_the_dropped_correction(bool quadratic)
    {
        var phi = tensor(new[] { 0.7, -0.3, 1.2 }, dtype: F64);
        Func<Tensor, Tensor> f = quadratic ? Quadratic : NonQuadratic;
        double[] slope = quadratic ? new[] { 4.0, 1.5, -0.5 } : NonQuadraticSlopeAtHalf();
        var exact = BernoulliExactGradient(phi, f);
        var darn = ExactKit.Bernoulli(phi, (leaf, z) => Darn.Bernoulli(leaf, f, sample: z).Surrogate);
        var bias = TorchAssert.ToArray(darn.Mean - exact);
        var predicted = phi.data<double>().ToArray().Select((p, i) =>
        {
            double s = 1 / (1 + Math.Exp(-p));
            return -slope[i] * s * (1 - s);
        }).ToArray();
        _out.WriteLine($"{(quadratic ? "quadratic" : "non-quadratic")} f: DARN bias [{string.Join(", ", bias.Select(b => b.ToString("F6")))}], "
            + $"predicted [{string.Join(", ", predicted.Select(b => b.ToString("F6")))}]");
        for (int i = 0; i < 3; i++)
        {
            Assert.True(Math.Abs(predicted[i]) > 0.01, $"predicted bias [{i}] too small for the test to be sharp");
            Assert.True(Math.Abs(bias[i] - predicted[i]) < 1e-9, $"bias[{i}] = {bias[i]}, predicted {predicted[i]}");
        }
    }

    [Fact]
    public void Darn_signal_is_f_minus_the_taylor_baseline_at_one_half()
    {
        // One hand-checked sample: z = (1, 0, 1) for the quadratic f: f(z) = 0 - 1 + 3 + 0 = 2; f(1/2) = 0.5 - 0.25 + 1.5 + 0.25
        // = 2; f'(1/2) . (z - 1/2) = 4 * 0.5 + 1.5 * (-0.5) - 0.5 * 0.5 = 1. Signal = 2 - 2 - 1 = -1.
        var phi = tensor(new[] { 0.7, -0.3, 1.2 }, dtype: F64);
        var r = Darn.Bernoulli(phi, Quadratic, sample: tensor(new[] { 1.0, 0.0, 1.0 }, dtype: F64));
        Assert.Equal(-1.0, r.Signal.item<double>(), 12);
        Assert.Equal(2.0, r.Surrogate.item<double>(), 12);     // forward value = f(z)
    }
}
