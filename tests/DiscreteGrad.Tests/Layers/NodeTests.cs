using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Layers;

[Collection(GlobalGenerator.Name)]
public class NodeTests
{
    [Fact]
    public void Categorical_node_in_a_sequential_trains_with_its_estimator_and_evaluates_hard()
    {
        var gen = new Generator(5);
        torch.manual_seed(5);
        var linear = nn.Linear(4, 3, dtype: ScalarType.Float64);
        var node = new CategoricalNode(EstimatorKind.ReinMax, new EstimatorOptions(Tau: 1.3), EvalSampling.Argmax, generator: gen);
        var model = nn.Sequential(("linear", linear), ("node", node));
        var x = randn(new long[] { 8, 4 }, dtype: ScalarType.Float64, generator: gen);
        var w = randn(new long[] { 8, 3 }, dtype: ScalarType.Float64, generator: gen);

        model.train();
        var y = model.forward(x);
        Assert.True((y.sum(-1) == 1).all().item<bool>() && ((y == 0) | (y == 1)).all().item<bool>());
        (y * w).sum().backward();
        Assert.True(linear.weight!.grad!.abs().sum().item<double>() > 0, "no gradient reached the encoder");

        // The same draw through the functional API gives the same gradient.
        var g1 = linear.weight.grad!.clone();
        linear.zero_grad();
        var logits = linear.forward(x);
        var d = y.detach();
        (discrete.functional.reinmax(logits, 1.3, sample: d).y_hard * w).sum().backward();
        Assert.True(allclose(g1, linear.weight.grad!, rtol: 0, atol: 1e-12));

        model.eval();
        var e1 = model.forward(x);
        var e2 = model.forward(x);
        Assert.True((e1 == e2).all().item<bool>(), "argmax eval mode must be deterministic");
        Assert.True((e1.argmax(-1) == linear.forward(x).argmax(-1)).all().item<bool>());
        Assert.False(e1.requires_grad);
    }

    [Fact]
    public void Eval_mode_sampling_draws_hard_samples_with_the_model_probabilities()
    {
        var gen = new Generator(8);
        var node = new CategoricalNode(EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 0.5), EvalSampling.Sample, generator: gen);
        node.eval();
        double[] theta = { 0.2, -0.6, 1.0 };
        var y = node.forward(tensor(theta, dtype: ScalarType.Float64).expand(60_000, 3));
        Assert.True(((y == 0) | (y == 1)).all().item<bool>());
        var freq = TorchAssert.ToArray(y.mean(new long[] { 0 }));
        var p = Hand.Softmax(theta);
        for (int i = 0; i < 3; i++)
            Assert.True(Math.Abs(freq[i] - p[i]) < 4.5 * Math.Sqrt(p[i] * (1 - p[i]) / 60_000), $"category {i}: {freq[i]} vs {p[i]}");
    }

    [Fact]
    public void Node_tau_and_beta_can_be_changed_by_a_schedule()
    {
        var node = new CategoricalNode(EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 8, Beta: 0));
        var logits = tensor(new[] { 1.0, 2.0, 0.5 }, dtype: ScalarType.Float64);
        // beta = 0: plain softmax_tau, no noise.
        TorchAssert.Close(Hand.Softmax(new[] { 1.0, 2.0, 0.5 }, 8), node.forward(logits), 1e-12, "beta 0");
        node.Tau = 2;
        TorchAssert.Close(Hand.Softmax(new[] { 1.0, 2.0, 0.5 }, 2), node.forward(logits), 1e-12, "tau 2");
        node.Beta = 1;
        Assert.Equal(1, node.Beta);
    }

    [Fact]
    public void Bernoulli_node_probability_of_one_is_sigmoid_and_eval_thresholds_at_zero()
    {
        var gen = new Generator(4);
        var node = new BernoulliNode(EstimatorKind.StraightThrough, generator: gen);
        var theta = tensor(new[] { -1.0, 0.4, 2.0 }, dtype: ScalarType.Float64);
        var z = node.forward(theta.expand(80_000, 3));
        var freq = TorchAssert.ToArray(z.mean(new long[] { 0 }));
        var q = new[] { -1.0, 0.4, 2.0 }.Select(t => 1 / (1 + Math.Exp(-t))).ToArray();
        for (int i = 0; i < 3; i++)
            Assert.True(Math.Abs(freq[i] - q[i]) < 4.5 * Math.Sqrt(q[i] * (1 - q[i]) / 80_000), $"z{i}: {freq[i]} vs {q[i]}");
        node.eval();
        TorchAssert.Close(new[] { 0.0, 1.0, 1.0 }, node.forward(theta), 0, "eval");
    }
}
