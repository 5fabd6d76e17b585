using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// A pinned tensor that the chosen estimator does not use is refused with an ArgumentException naming it: Gumbel-softmax
/// and STGS set their sample by their noise (a pinned sample was silently ignored before), ST, ReinMax and GST draw no
/// noise (a pinned noise was silently ignored before). The estimators that use them still accept them.
/// </summary>
public class PinnedArgumentTests
{
    private static readonly Tensor Logits = tensor(new double[,] { { 0.1, 0.2, 0.3 }, { 1.0, -1.0, 0.5 } });
    private static readonly Tensor OneHotSample = tensor(new double[,] { { 0, 1, 0 }, { 1, 0, 0 } });
    private static readonly Tensor GumbelNoise = tensor(new double[,] { { 0.3, -0.2, 1.1 }, { 0.0, 2.0, -0.5 } });

    [Theory]
    [InlineData(EstimatorKind.GumbelSoftmax)]
    [InlineData(EstimatorKind.StraightThroughGumbel)]
    public void Gumbel_softmax_and_stgs_refuse_a_pinned_sample(EstimatorKind kind)
    {
        var e = Assert.Throws<ArgumentException>(() => Categorical.Sample(Logits, kind, sample: OneHotSample, generator: new Generator(1)));
        Assert.Equal("sample", e.ParamName);
        Assert.Contains(kind.ToString(), e.Message);
        Assert.Contains("noise", e.Message);
        var b = Assert.Throws<ArgumentException>(() => Bernoulli.Sample(tensor(new[] { 0.3, -1.0 }), kind, sample: tensor(new[] { 1.0, 0.0 })));
        Assert.Equal("sample", b.ParamName);
    }

    [Theory]
    [InlineData(EstimatorKind.StraightThrough)]
    [InlineData(EstimatorKind.ReinMax)]
    [InlineData(EstimatorKind.GappedStraightThrough)]
    public void Straight_through_reinmax_and_gst_refuse_pinned_noise(EstimatorKind kind)
    {
        var e = Assert.Throws<ArgumentException>(() => Categorical.Sample(Logits, kind, noise: GumbelNoise, generator: new Generator(1)));
        Assert.Equal("noise", e.ParamName);
        Assert.Contains(kind.ToString(), e.Message);
        Assert.Contains("sample", e.Message);
    }

    [Fact]
    public void The_estimators_that_use_a_pinned_tensor_follow_it()
    {
        // Gumbel-softmax with pinned noise: softmax((theta + beta g) / tau), beta = tau = 1.
        var gs = Categorical.Sample(Logits, EstimatorKind.GumbelSoftmax, noise: GumbelNoise);
        TorchAssert.Close(TorchAssert.ToArray((Logits + GumbelNoise).softmax(-1)), gs.Value, 1e-15, "Gumbel-softmax");
        foreach (var kind in new[] { EstimatorKind.StraightThrough, EstimatorKind.ReinMax, EstimatorKind.GappedStraightThrough, EstimatorKind.GumbelRao })
        {
            var s = Categorical.Sample(Logits, kind, new EstimatorOptions(GumbelRaoK: 3), sample: OneHotSample, generator: new Generator(2));
            TorchAssert.Close(TorchAssert.ToArray(OneHotSample), s.Hard, 0, kind.ToString());
        }
        var gr = Categorical.Sample(Logits, EstimatorKind.GumbelRao, new EstimatorOptions(GumbelRaoK: 3), sample: OneHotSample,
            noise: ones(2, 3, 3, dtype: ScalarType.Float64));
        TorchAssert.Close(TorchAssert.ToArray(OneHotSample), gr.Hard, 0, "GR-MCK with both");
    }
}
