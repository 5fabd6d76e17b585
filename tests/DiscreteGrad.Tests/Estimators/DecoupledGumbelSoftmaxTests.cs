using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// Decoupled STGS against the estimators it is built from, with the same noise: the forward value is STGS's (hard) or the
/// Gumbel-softmax at tau_f (soft), bit for bit, and the gradient is the Gumbel-softmax gradient at tau_b, bit for bit.
/// </summary>
public class DecoupledGumbelSoftmaxTests
{
    private const ScalarType F64 = ScalarType.Float64;

    private static Tensor Theta(Generator g) => torch.randn(new long[] { 4, 5 }, dtype: F64, generator: g);

    private static (double[] Value, double[] Grad) Run(Func<Tensor, Tensor> estimator, Tensor theta, Tensor v)
    {
        var leaf = theta.detach().clone().requires_grad_(true);
        var y = estimator(leaf);
        (y * v).sum().backward();
        return (TorchAssert.ToArray(y), TorchAssert.ToArray(leaf.grad!));
    }

    [Theory]
    [InlineData(0.3, 2.0, 1.0)]
    [InlineData(5.0, 0.1, 0.5)]
    [InlineData(1.0, 1.0, 1.0)]
    public void Hard_forward_is_stgs_and_gradient_is_gumbel_softmax_at_tau_backward(double tauF, double tauB, double beta)
    {
        var gen = new Generator(11);
        var theta = Theta(gen);
        var noise = DiscreteGrad.Sampling.Gumbel.SampleLike(theta, 1.0, gen);
        var v = torch.randn(theta.shape, dtype: F64, generator: gen);
        var dec = Run(t => discrete.functional.decoupled_gumbel_softmax(t, tauF, tauB, hard: true, beta: beta, noise: noise), theta, v);
        var stgs = Run(t => discrete.functional.gumbel_softmax(t, tauF, hard: true, beta: beta, noise: noise), theta, v);
        var gs = Run(t => discrete.functional.gumbel_softmax(t, tauB, hard: false, beta: beta, noise: noise), theta, v);
        Assert.Equal(stgs.Value, dec.Value);
        Assert.Equal(gs.Grad, dec.Grad);
        if (tauF != tauB) Assert.NotEqual(stgs.Grad, dec.Grad);   // the gradient really is not STGS's at tau_f
    }

    [Theory]
    [InlineData(0.3, 2.0)]
    [InlineData(5.0, 0.1)]
    public void Soft_forward_is_gumbel_softmax_at_tau_forward_and_gradient_at_tau_backward(double tauF, double tauB)
    {
        var gen = new Generator(12);
        var theta = Theta(gen);
        var noise = DiscreteGrad.Sampling.Gumbel.SampleLike(theta, 1.0, gen);
        var v = torch.randn(theta.shape, dtype: F64, generator: gen);
        var dec = Run(t => discrete.functional.decoupled_gumbel_softmax(t, tauF, tauB, hard: false, noise: noise), theta, v);
        var atF = Run(t => discrete.functional.gumbel_softmax(t, tauF, noise: noise), theta, v);
        var atB = Run(t => discrete.functional.gumbel_softmax(t, tauB, noise: noise), theta, v);
        Assert.Equal(atF.Value, dec.Value);
        Assert.Equal(atB.Grad, dec.Grad);
    }

    [Fact]
    public void Same_generator_seed_gives_the_same_draw_as_stgs_on_another_axis()
    {
        var theta = Theta(new Generator(13)).T.contiguous();      // [K, N]: categories on dim 0
        var dec = discrete.functional.decoupled_gumbel_softmax(theta, 0.2, 3.0, dim: 0, generator: new Generator(5));
        var stgs = discrete.functional.gumbel_softmax(theta, 0.2, hard: true, dim: 0, generator: new Generator(5));
        Assert.Equal(TorchAssert.ToArray(stgs), TorchAssert.ToArray(dec));
        Assert.Equal(TorchAssert.ToArray(theta.sum(new long[] { 0 }) * 0 + 1), TorchAssert.ToArray(dec.sum(new long[] { 0 })));   // one-hot over dim 0
    }

    [Theory]
    [InlineData(0.0, 1.0, "tau_forward")]
    [InlineData(-1.0, 1.0, "tau_forward")]
    [InlineData(1.0, 0.0, "tau_backward")]
    [InlineData(1.0, double.PositiveInfinity, "tau_backward")]
    public void Bad_temperatures_are_refused_naming_them(double tauF, double tauB, string name)
    {
        var theta = Theta(new Generator(14));
        var e = Assert.ThrowsAny<ArgumentException>(() => discrete.functional.decoupled_gumbel_softmax(theta, tauF, tauB, generator: new Generator(1)));
        Assert.Equal(name, e.ParamName);
        Assert.Contains("> 0", e.Message);
    }

    [Fact]
    public void Noise_of_the_wrong_shape_is_refused()
    {
        var theta = Theta(new Generator(15));
        var e = Assert.ThrowsAny<ArgumentException>(() =>
            discrete.functional.decoupled_gumbel_softmax(theta, noise: torch.zeros(new long[] { 4, 4 }, dtype: F64)));
        Assert.Equal("noise", e.ParamName);
    }
}
