using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// Excluding categories by giving them a logit of -1e9 (as the ListOps models mask padding) must leave every estimator's
/// value and gradient on the other categories as if the excluded ones did not exist, in float32 too.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class MaskedLogitsTests
{
    private const long Rows = 3, Kept = 4, Masked = 3, K = 7;

    [Theory]
    [InlineData(EstimatorKind.GumbelSoftmax)]
    [InlineData(EstimatorKind.StraightThroughGumbel)]
    [InlineData(EstimatorKind.StraightThrough)]
    [InlineData(EstimatorKind.ReinMax)]
    [InlineData(EstimatorKind.GappedStraightThrough)]
    [InlineData(EstimatorKind.GumbelRao)]
    public void Masked_categories_change_neither_value_nor_gradient_of_the_others(EstimatorKind kind)
    {
        var gen = new Generator(5);
        var theta = (randn(new[] { Rows, Kept }, generator: gen) * 2).requires_grad_(true);
        var thetaFull = theta.detach().clone().requires_grad_(true);
        var v = randn(new[] { Rows, Kept }, generator: gen);
        var sample = nn.functional.one_hot(tensor(new long[] { 2, 0, 3 }), Kept).to(ScalarType.Float32);
        var gumbel = randn(new[] { Rows, K }, generator: gen);
        var exponential = rand(new[] { Rows, K, 20L }, generator: gen) + 0.05;
        var options = new EstimatorOptions(Tau: 0.7, Beta: 1.0, GumbelRaoK: 20);

        var pinned = Categorical.DrawsCategoricalSample(kind);   // Gumbel-softmax and STGS take their sample from the noise
        var small = Categorical.Sample(theta, kind, options, sample: pinned ? sample : null, noise: Noise(kind, gumbel, exponential, Kept));
        // The same logits padded with masked categories (as masked_fill does in the models), gradient through the fill.
        var padded = cat(new[] { thetaFull, zeros(Rows, Masked) }, 1);
        var keep = cat(new[] { ones(Rows, Kept), zeros(Rows, Masked) }, 1).to(ScalarType.Bool);
        var masked = padded.masked_fill(keep.logical_not(), -1e9);
        var sampleFull = cat(new[] { sample, zeros(Rows, Masked) }, 1);
        var big = Categorical.Sample(masked, kind, options, sample: pinned ? sampleFull : null, noise: Noise(kind, gumbel, exponential, K));

        var valueKept = big.Value.narrow(1, 0, Kept);
        TorchAssert.Close(TorchAssert.ToArray(small.Value), valueKept, 1e-6, "value");
        TorchAssert.Close(new double[Rows * Masked], big.Value.narrow(1, Kept, Masked), 1e-30, "value at masked");
        (small.Value * v).sum().backward();
        (valueKept * v).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(theta.grad!), thetaFull.grad!, 1e-6, "gradient");
    }

    private static Tensor? Noise(EstimatorKind kind, Tensor gumbel, Tensor exponential, long k) => kind switch
    {
        EstimatorKind.GumbelSoftmax or EstimatorKind.StraightThroughGumbel => gumbel.narrow(1, 0, k),
        EstimatorKind.GumbelRao => exponential.narrow(1, 0, k),
        _ => null,
    };
}
