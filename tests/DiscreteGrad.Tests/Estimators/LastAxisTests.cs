using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>The transposed route of <see cref="LastAxis"/> computes libtorch's softmax / log_softmax over the last axis.</summary>
public class LastAxisTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void Softmax_and_log_softmax_equal_libtorchs_over_the_last_axis_with_their_gradients(ScalarType dtype)
    {
        foreach (var shape in new[] { new long[] { 100, 30, 10 }, new long[] { 7, 3 }, new long[] { 4, 5, 1 }, new long[] { 40, 20 }, new long[] { 3 } })
        {
            var x = (randn(shape, dtype: dtype, generator: new Generator(50)) * 3).requires_grad_(true);
            var y = x.detach().clone().requires_grad_(true);
            var w = randn(shape, dtype: dtype, generator: new Generator(51));
            var ours = LastAxis.Softmax(x);
            var theirs = y.softmax(-1);
            Assert.Equal(shape, ours.shape);
            // Row-major like softmax(-1)'s result, so that callers can view it (e.g. [B, N, K] as [B, N K]).
            Assert.True(ours.is_contiguous(), $"softmax of {string.Join("x", shape)} is contiguous");
            Assert.True(LastAxis.LogSoftmax(x).is_contiguous(), $"log_softmax of {string.Join("x", shape)} is contiguous");
            Assert.Equal(ours.numel(), ours.view(-1).numel());
            double tol = dtype == ScalarType.Float32 ? 1e-6 : 1e-14;
            TorchAssert.Close(TorchAssert.ToArray(theirs), ours, tol, $"softmax {string.Join("x", shape)}");
            var lOurs = LastAxis.LogSoftmax(x);
            var lTheirs = y.log_softmax(-1);
            TorchAssert.Close(TorchAssert.ToArray(lTheirs), lOurs, 10 * tol, $"log_softmax {string.Join("x", shape)}");
            ((ours * w).sum() + (lOurs * w).sum()).backward();
            ((theirs * w).sum() + (lTheirs * w).sum()).backward();
            TorchAssert.Close(TorchAssert.ToArray(y.grad!), x.grad!, 10 * tol, $"gradient {string.Join("x", shape)}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gumbel_softmax_and_the_probabilities_of_narrow_categories_can_be_viewed_as_flat_codes(bool hard)
    {
        // The categorical VAE's use: codes [B, N, K] with K < 16 viewed as [B, N K] for the decoder.
        var logits = randn(new long[] { 8, 30, 10 }, generator: new Generator(52)).requires_grad_(true);
        var z = discrete.functional.gumbel_softmax(logits, 0.5, hard: hard, generator: new Generator(53));
        var flat = z.view(-1, 300);
        Assert.Equal(new long[] { 8, 300 }, flat.shape);
        var s = Categorical.Sample(logits, EstimatorKind.ReinMax, generator: new Generator(54));
        Assert.Equal(new long[] { 8, 300 }, s.Probs.view(-1, 300).shape);
        flat.sum().backward();
        Assert.NotNull(logits.grad);
    }
}
