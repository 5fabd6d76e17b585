using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Layers;

/// <summary>
/// An estimator defined outside the library: forward one_hot(argmax(theta)) (deterministic), gradient of
/// softmax(theta / tau), with tau taken from the options the node passes (so annealing reaches it).
/// </summary>
internal sealed class SoftmaxStraightThrough : ICategoricalEstimator
{
    public int Calls { get; private set; }

    public CategoricalSample Sample(Tensor logits, EstimatorOptions options, Generator? generator)
    {
        Calls++;
        var p = (logits / options.Tau).softmax(-1);
        var hard = zeros_like(p).scatter_(-1, p.argmax(-1, keepdim: true), ones_like(p));
        return new CategoricalSample(hard + (p - p.detach()), hard, logits);
    }
}

[Collection(GlobalGenerator.Name)]
public class CustomEstimatorTests
{
    private static readonly double[][] Theta = { new[] { 0.5, 2.0, -1.0 }, new[] { 1.5, 0.2, 0.1 } };
    private static readonly double[][] V = { new[] { 1.0, -2.0, 0.5 }, new[] { 0.3, 0.7, -1.1 } };

    private static Tensor Rows(double[][] r) => tensor(r.SelectMany(x => x).ToArray(), new long[] { r.Length, r[0].Length }, ScalarType.Float64);

    [Fact]
    public void A_user_estimator_plugs_into_a_categorical_node_and_gets_the_node_tau()
    {
        var estimator = new SoftmaxStraightThrough();
        var node = discrete.CategoricalNode(estimator, new EstimatorOptions(Tau: 2.0));
        Assert.Same(estimator, node.Estimator);
        node.train();
        foreach (double tau in new[] { 2.0, 0.5 })
        {
            node.Tau = tau;
            var theta = Rows(Theta).requires_grad_(true);
            var y = node.forward(theta);
            (y * Rows(V)).sum().backward();
            // Forward: the argmax rows (category 1, category 0); gradient J(softmax(theta / tau))^T v / tau, by hand.
            var expected = Hand.OneHot(3, 1).Concat(Hand.OneHot(3, 0)).ToArray();
            TorchAssert.Close(expected, y, 0, "forward");
            var grad = Theta.Zip(V, (t, v) => Hand.Scale(Hand.Jtv(Hand.Softmax(t, tau), v), 1 / tau)).SelectMany(g => g).ToArray();
            TorchAssert.Close(grad, theta.grad!, 1e-14, $"gradient at tau {tau}");
        }
        Assert.Equal(2, estimator.Calls);
        node.eval();
        node.forward(Rows(Theta));
        Assert.Equal(2, estimator.Calls);               // eval mode does not call the estimator
    }

    [Fact]
    public void A_user_estimator_works_on_another_axis_and_in_a_bernoulli_node()
    {
        // Categories on axis 0: the transposed problem, the transposed answer.
        var theta = Rows(Theta).t().contiguous().requires_grad_(true);      // [3, 2]
        var y = discrete.CategoricalNode(new SoftmaxStraightThrough(), new EstimatorOptions(Tau: 0.8), dim: 0).forward(theta);
        (y * Rows(V).t()).sum().backward();
        var grad = Theta.Zip(V, (t, v) => Hand.Scale(Hand.Jtv(Hand.Softmax(t, 0.8), v), 1 / 0.8)).ToArray();
        TorchAssert.Close(Enumerable.Range(0, 3).SelectMany(k => grad.Select(g => g[k])).ToArray(), theta.grad!, 1e-14, "gradient, dim 0");

        // Bernoulli through [theta, 0]: z = 1[theta > 0], dz/dtheta = s (1 - s) / tau with s = sigmoid(theta / tau).
        double[] b = { 0.4, -1.2 };
        var bt = tensor(b, dtype: ScalarType.Float64).requires_grad_(true);
        var z = discrete.BernoulliNode(new SoftmaxStraightThrough(), new EstimatorOptions(Tau: 0.5)).forward(bt);
        z.sum().backward();
        TorchAssert.Close(new[] { 1.0, 0.0 }, z, 0, "z");
        TorchAssert.Close(b.Select(t => { double s = 1 / (1 + Math.Exp(-t / 0.5)); return s * (1 - s) / 0.5; }).ToArray(), bt.grad!, 1e-14, "dz/dtheta");
    }

    [Fact]
    public void The_built_in_estimators_are_instances_that_give_the_same_draws_as_their_kinds()
    {
        foreach (var kind in Enum.GetValues<EstimatorKind>())
        {
            var estimator = CategoricalEstimator.Of(kind);
            Assert.Equal(kind, estimator.Kind);
            var theta = Rows(Theta);
            var a = Categorical.Sample(theta, estimator, new EstimatorOptions(Tau: 0.7, GumbelRaoK: 4), generator: new Generator(3));
            var b = Categorical.Sample(theta, kind, new EstimatorOptions(Tau: 0.7, GumbelRaoK: 4), generator: new Generator(3));
            Assert.Equal(TorchAssert.ToArray(b.Value), TorchAssert.ToArray(a.Value));
        }
        Assert.Same(CategoricalEstimator.ReinMax, CategoricalEstimator.Of(EstimatorKind.ReinMax));
        Assert.Equal("kind", Assert.Throws<ArgumentOutOfRangeException>(() => CategoricalEstimator.Of((EstimatorKind)42)).ParamName);
    }
}
