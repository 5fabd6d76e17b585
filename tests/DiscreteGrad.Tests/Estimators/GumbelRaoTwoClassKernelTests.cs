using DiscreteGrad.Estimators;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>The managed two-class GR-MCK slope against the tensor form and the exact conditional expectation.</summary>
[Collection(GlobalGenerator.Name)]
public class GumbelRaoTwoClassKernelTests
{
    private static readonly double[] Deltas = { -90, -30, -4, -0.7, 0, 0.3, 1.2, 5, 25, 95 };

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.6)]
    [InlineData(2.5)]
    public void Kernel_equals_the_tensor_form_on_the_kernels_uniforms(double tau)
    {
        const int k = 37;
        const ulong key = 0x1234_5678_9ABCUL;
        var delta = tensor(Deltas, dtype: ScalarType.Float64);
        var u = GumbelRaoTwoClassKernel.Uniforms(key, Deltas.Length, k);
        foreach (double side in new[] { 1.0, 0.0 })
        {
            var d0 = full(new long[] { Deltas.Length }, side, dtype: ScalarType.Float64);
            var kernel = GumbelRaoTwoClassKernel.Slope(delta, d0, tau, k, key);
            var tensorForm = TwoClassEstimator.GumbelRaoSlope(delta, d0, tau, k, null, u);
            TorchAssert.AllFinite(kernel, "slope");
            TorchAssert.Close(TorchAssert.ToArray(tensorForm), kernel, 1e-12, $"float64, tau {tau}, side {side}");
            // float32 inputs: the kernel computes in float64 and rounds once, the tensor form computes in float32.
            var kernel32 = GumbelRaoTwoClassKernel.Slope(delta.to(ScalarType.Float32), d0.to(ScalarType.Float32), tau, k, key);
            Assert.Equal(ScalarType.Float32, kernel32.dtype);
            TorchAssert.Close(TorchAssert.ToArray(tensorForm), kernel32, 1e-6, $"float32, tau {tau}, side {side}");
        }
    }

    [Fact]
    public void Kernel_result_does_not_depend_on_the_number_of_threads()
    {
        var delta = randn(new long[] { 9001 }, dtype: ScalarType.Float64, generator: new Generator(30)) * 3;
        var d0 = (rand(new long[] { 9001 }, dtype: ScalarType.Float64, generator: new Generator(31)) < delta.sigmoid()).to(ScalarType.Float64);
        Tensor one;
        using (SolverParallelism.Limit(1)) one = GumbelRaoTwoClassKernel.Slope(delta, d0, 1.0, 20, 77);
        Tensor many;
        using (SolverParallelism.Limit(4, minParallelWork: 0)) many = GumbelRaoTwoClassKernel.Slope(delta, d0, 1.0, 20, 77);
        Assert.Equal(TorchAssert.ToArray(one), TorchAssert.ToArray(many));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.6)]
    public void Categorical_sample_on_cpu_has_the_exact_conditional_slope_in_expectation(double tau)
    {
        // End to end through Categorical.Sample (the kernel on CPU): 20,000 copies of each two-class node with a pinned
        // sample and K = 1, so each copy's gradient g_0 = c is one conditional draw; the mean over the copies equals the
        // exact E[sigma'(x / tau) / tau | D] within 5 standard errors.
        const int copies = 20_000;
        foreach (bool classZero in new[] { true, false })
        {
            double[] deltas = { -3, -0.7, 0, 1.2, 5 };
            var theta = tensor(deltas.SelectMany(d => new[] { d / 2, -d / 2 }).ToArray(), dtype: ScalarType.Float64).reshape(1, deltas.Length, 2)
                .expand(copies, deltas.Length, 2).contiguous().requires_grad_(true);
            var side = classZero ? tensor(new[] { 1.0, 0.0 }, dtype: ScalarType.Float64) : tensor(new[] { 0.0, 1.0 }, dtype: ScalarType.Float64);
            var sample = side.expand(copies, deltas.Length, 2);
            var s = Categorical.Sample(theta, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: tau, GumbelRaoK: 1), generator: new Generator(32), sample: sample);
            s.Value.select(-1, 0).sum().backward();
            var g0 = theta.grad!.select(-1, 0);
            var mean = TorchAssert.ToArray(g0.mean(new long[] { 0 }));
            var sd = TorchAssert.ToArray(g0.std(new long[] { 0 }));
            for (int i = 0; i < deltas.Length; i++)
            {
                double exact = TwoClassTests.ExactSlope(deltas[i], classZero, tau);
                double se = sd[i] / Math.Sqrt(copies);
                Assert.True(se > 0, "the draws vary");
                Assert.True(Math.Abs(mean[i] - exact) < 5 * se, $"delta {deltas[i]} class0 {classZero} tau {tau}: {mean[i]} vs exact {exact} (se {se})");
            }
        }
    }
}
