using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Diagnostics;

[Collection(GlobalGenerator.Name)]
public class EnumerationTests
{
    [Fact]
    public void JointStates_lists_every_state_once_as_one_hot()
    {
        var s = Enumeration.JointStates(3, 4);
        Assert.Equal(new long[] { 64, 3, 4 }, s.shape);
        Assert.True((s.sum(-1) == 1).all().item<bool>());
        var codes = (s.argmax(-1) * tensor(new long[] { 16, 4, 1 })).sum(1);
        Assert.Equal(64, codes.unique().Item1.shape[0]);
        Assert.Equal(1.0, Enumeration.LogProbabilities(randn(3, 4, dtype: ScalarType.Float64), s).exp().sum().item<double>(), 12);
    }

    [Fact]
    public void Exact_expectation_of_a_linear_function_has_the_softmax_jacobian_as_gradient()
    {
        // f(z) = sum_i c_i . z_i  =>  E f = sum_i c_i . p_i and d/d theta_i = J(p_i)^T c_i.
        double[][] theta = { new[] { 0.2, -0.5, 1.0 }, new[] { 0.0, 0.7, -0.3 } };
        double[][] c = { new[] { 1.0, 2.0, -1.0 }, new[] { 0.5, -0.5, 3.0 } };
        var ct = tensor(c.SelectMany(x => x).ToArray(), dtype: ScalarType.Float64).reshape(2, 3);
        var r = Enumeration.Exact(tensor(theta.SelectMany(x => x).ToArray(), dtype: ScalarType.Float64).reshape(2, 3),
            z => (z * ct).sum(new long[] { 1, 2 }));
        double value = 0;
        var grad = new List<double>();
        for (int i = 0; i < 2; i++)
        {
            var p = Hand.Softmax(theta[i]);
            value += p.Zip(c[i], (a, b) => a * b).Sum();
            grad.AddRange(Hand.Jtv(p, c[i]));
        }
        Assert.Equal(value, r.Value, 12);
        TorchAssert.Close(grad.ToArray(), r.Gradient, 1e-12, "grad");
    }

    [Fact]
    public void Exact_gradient_matches_central_finite_differences_for_a_nonlinear_f()
    {
        Func<Tensor, Tensor> f = z => (z.select(2, 0).sum(1) - 0.7).pow(2) * torch.exp(z.select(2, 1).sum(1) * 0.3);
        var theta = tensor(new double[,] { { 0.1, -0.4 }, { 1.2, 0.3 }, { -0.8, 0.5 } });
        var r = Enumeration.Exact(theta, f);
        const double h = 1e-6;
        var fd = new double[6];
        for (int i = 0; i < 6; i++)
        {
            var tp = theta.clone(); tp.view(-1)[i] += h;
            var tm = theta.clone(); tm.view(-1)[i] -= h;
            fd[i] = (Enumeration.Exact(tp, f).Value - Enumeration.Exact(tm, f).Value) / (2 * h);
        }
        TorchAssert.Close(fd, r.Gradient, 1e-8, "fd");
    }

    [Fact]
    public void Enumeration_refuses_more_than_2_to_the_16_states()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Enumeration.StateCount(17, 2));
        Assert.Equal("n", e.ParamName);
        Assert.Equal(65536, Enumeration.StateCount(16, 2));
    }

    [Fact]
    public void Monte_carlo_diagnostics_agree_with_exact_enumeration_within_standard_error()
    {
        // GR-MCK with K = 1 is STGS at the conditional noise; the MC mean of any estimator must match its enumerated mean where
        // both exist. Use ST through the Monte Carlo path by comparing ST's exact mean with the average of fresh ST draws.
        var theta = tensor(new double[,] { { 0.4, -0.3, 0.1 }, { -0.2, 0.9, 0.0 } });
        Func<Tensor, Tensor> f = z => (z.select(2, 0).sum(1) - 0.5).pow(2) + z.select(2, 2).prod(1);
        var exact = EstimatorDiagnostics.ExpectedGradient(theta, f, EstimatorKind.StraightThrough);
        var gen = new Generator(11);
        long m = 40_000;
        var sum = zeros_like(theta);
        var sumSq = zeros_like(theta);
        var leaf = theta.unsqueeze(0).expand(m, 2, 3).clone().requires_grad_(true);
        var value = Categorical.Sample(leaf, EstimatorKind.StraightThrough, generator: gen).Value;
        var grads = autograd.grad(new[] { f(value).sum() }, new[] { leaf })[0];
        var mean = grads.mean(new long[] { 0 });
        var se = grads.std(dim: 0) / Math.Sqrt(m);
        var z = ((mean - exact.Mean).abs() / se.clamp_min(1e-12)).max().item<double>();
        Assert.True(z < 4.5, $"Monte Carlo mean is {z} standard errors from the enumerated mean");
    }

    [Fact]
    public void Stgs_bias_is_reported_with_a_standard_error_and_shrinks_at_low_temperature_for_linear_f()
    {
        // For linear f, E[Gumbel-softmax gradient] is the gradient of E[softmax((theta+g)/tau)] . c, which tends to the exact
        // gradient as tau -> 0; at tau = 5 it is far off.
        var theta = tensor(new double[,] { { 0.5, -0.5, 0.2 } });
        var c = tensor(new double[] { 1.0, -2.0, 0.5 });
        Func<Tensor, Tensor> f = z => (z * c).sum(new long[] { 1, 2 });
        var exact = Enumeration.Exact(theta, f).Gradient;
        var gen = new Generator(3);
        var hot = EstimatorDiagnostics.Compare(EstimatorDiagnostics.ExpectedGradient(theta, f, EstimatorKind.StraightThroughGumbel,
            new EstimatorOptions(Tau: 5.0), 40_000, gen), exact);
        var cold = EstimatorDiagnostics.Compare(EstimatorDiagnostics.ExpectedGradient(theta, f, EstimatorKind.StraightThroughGumbel,
            new EstimatorOptions(Tau: 0.5), 40_000, gen), exact);
        Assert.False(hot.Exact);
        Assert.True(hot.MaxStandardError > 0);
        Assert.True(cold.RelativeL2Error < hot.RelativeL2Error, $"cold {cold.RelativeL2Error} vs hot {hot.RelativeL2Error}");
        Assert.True(hot.RelativeL2Error > 0.5);
        Assert.True(cold.CosineSimilarity > 0.9);
    }
}
