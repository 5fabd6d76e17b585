using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// The estimator kinds of ZGR and the decoupled forms: <c>Categorical.Sample</c>, <c>Bernoulli.Sample</c> and the nodes
/// give exactly (bit for bit) what the functional forms give for the same draw, with the decoupled forms' backward
/// temperature tau_b = Tau and forward temperature TauForward; the options check TauForward.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class NewKindDispatchTests
{
    private const ScalarType F64 = ScalarType.Float64;

    private static (Tensor Logits, Tensor W) Problem(int seed)
    {
        var g = new Generator((ulong)seed);
        return (randn(new long[] { 4, 3, 5 }, dtype: F64, generator: g) * 1.5, randn(new long[] { 4, 3, 5 }, dtype: F64, generator: g));
    }

    private static (double[] Value, double[] Grad) Run(Tensor logits, Tensor w, Func<Tensor, Tensor> estimator)
    {
        var leaf = logits.detach().clone().requires_grad_(true);
        var y = estimator(leaf);
        (y * w).sum().backward();
        return (TorchAssert.ToArray(y), TorchAssert.ToArray(leaf.grad!));
    }

    private static void Same((double[] Value, double[] Grad) expected, (double[] Value, double[] Grad) actual)
    {
        Assert.Equal(expected.Value, actual.Value);
        Assert.Equal(expected.Grad, actual.Grad);
    }

    [Fact]
    public void Zgr_kind_equals_functional_zgr_for_a_generator_seed_and_for_a_pinned_sample()
    {
        var (logits, w) = Problem(1);
        var kind = Run(logits, w, l => Categorical.Sample(l, EstimatorKind.Zgr, generator: new Generator(9)).Value);
        var functional = Run(logits, w, l => discrete.functional.zgr(l, generator: new Generator(9)));
        Assert.Equal(functional.Value, kind.Value);
        Assert.Equal(functional.Grad, kind.Grad);
        var d = OneHot.Sample(logits, new Generator(3));
        Assert.Equal(Run(logits, w, l => discrete.functional.zgr(l, sample: d)).Grad,
            Run(logits, w, l => Categorical.Sample(l, EstimatorKind.Zgr, new EstimatorOptions(Tau: 0.3), sample: d).Value).Grad);   // no temperature
        Assert.True(Categorical.DrawsCategoricalSample(EstimatorKind.Zgr));
        Assert.False(Categorical.UsesNoise(EstimatorKind.Zgr));
    }

    [Theory]
    [InlineData(true, 0.4, 2.0)]
    [InlineData(false, 0.4, 2.0)]
    [InlineData(false, 1.5, 0.7)]
    public void Decoupled_kinds_equal_the_functional_form_with_tau_backward_from_tau(bool hard, double tauF, double tauB)
    {
        var (logits, w) = Problem(2);
        var kind = hard ? EstimatorKind.DecoupledStraightThroughGumbel : EstimatorKind.DecoupledGumbelSoftmax;
        var options = new EstimatorOptions(Tau: tauB, Beta: 0.8, TauForward: tauF);
        var a = Run(logits, w, l => Categorical.Sample(l, kind, options, dim: 1, generator: new Generator(5)).Value);
        var b = Run(logits, w, l => discrete.functional.decoupled_gumbel_softmax(l, tauF, tauB, hard, dim: 1, beta: 0.8, generator: new Generator(5)));
        Assert.Equal(b.Value, a.Value);
        Assert.Equal(b.Grad, a.Grad);
        // Pinned Gumbel noise fixes the draw; the hard form is STGS at tau_b in value and gradient.
        var g = Gumbel.Sample(new long[] { 4, 3, 5 }, 1.0, new Generator(6), F64);
        var pinned = Run(logits, w, l => Categorical.Sample(l, kind, options, noise: g).Value);
        if (hard)
            Same(Run(logits, w, l => Categorical.Sample(l, EstimatorKind.StraightThroughGumbel, options, noise: g).Value), pinned);
        else
            Assert.NotEqual(Run(logits, w, l => Categorical.Sample(l, EstimatorKind.GumbelSoftmax, options, noise: g).Value).Value, pinned.Value);
        Assert.Equal("sample", Assert.Throws<ArgumentException>(() => Categorical.Sample(logits, kind, options, sample: OneHot.Sample(logits, new Generator(1)))).ParamName);
    }

    [Fact]
    public void Bernoulli_and_nodes_dispatch_the_new_kinds()
    {
        var theta = tensor(new[] { 0.3, -1.2, 2.0 }, dtype: F64);
        var w = tensor(new[] { 1.0, -0.5, 2.0 }, dtype: F64);
        foreach (var kind in new[] { EstimatorKind.Zgr, EstimatorKind.DecoupledStraightThroughGumbel, EstimatorKind.DecoupledGumbelSoftmax })
        {
            var options = new EstimatorOptions(Tau: 1.3, TauForward: 0.6);
            var viaBernoulli = Run(theta, w, t => Bernoulli.Sample(t, kind, options, new Generator(4)).Value);
            var viaTwoClass = Run(theta, w, t => Categorical.Sample(Bernoulli.TwoClassLogits(t), kind, options, generator: new Generator(4)).Value.select(-1, 0));
            Same(viaTwoClass, viaBernoulli);
            using var node = new BernoulliNode(kind, options, generator: new Generator(4));
            Same(viaBernoulli, Run(theta, w, t => node.forward(t)));
            Assert.Equal(0.6, node.Options.TauForward);
            using var cnode = new CategoricalNode(kind, options, generator: new Generator(8));
            var (logits, cw) = Problem(3);
            Same(Run(logits, cw, l => Categorical.Sample(l, kind, options, generator: new Generator(8)).Value), Run(logits, cw, l => cnode.forward(l)));
            Assert.Equal(kind, ((CategoricalEstimator)cnode.Estimator).Kind);
        }
        Assert.Equal(EstimatorKind.Zgr, CategoricalEstimator.Zgr.Kind);
        Assert.Equal(EstimatorKind.DecoupledGumbelSoftmax, CategoricalEstimator.DecoupledGumbelSoftmax.Kind);
        Assert.Equal(EstimatorKind.DecoupledStraightThroughGumbel, CategoricalEstimator.DecoupledStraightThroughGumbel.Kind);
    }

    /// <summary>
    /// ZGR is ReinMax at tau = 1, sample by sample, for any number of classes: with pi1 = (D + p) / 2, ReinMax's Jacobian
    /// 2 J(pi1) - J(p) / 2 minus ZGR's J(p) / 2 + (D - p)(D - p)^T / 2 is diag(D) - D D^T = 0 for a one-hot D. For two classes,
    /// with q = p_0 and u = v_0 - v_1, both give (1 - q) / 2 u (e_0 - e_1) when D = e_0 and q / 2 u (e_0 - e_1) when D = e_1.
    /// At another temperature ReinMax differs.
    /// </summary>
    [Fact]
    public void Zgr_is_reinmax_at_tau_one_sample_by_sample()
    {
        var g = new Generator(12);
        foreach (long k in new long[] { 2, 3, 7 })
        {
            var logits = randn(new long[] { 50, k }, dtype: F64, generator: g) * 2;
            var w = randn(new long[] { 50, k }, dtype: F64, generator: g);
            var d = OneHot.Sample(logits, g);
            var zgr = Run(logits, w, l => Categorical.Sample(l, EstimatorKind.Zgr, sample: d).Value);
            var reinmax = Run(logits, w, l => Categorical.Sample(l, EstimatorKind.ReinMax, new EstimatorOptions(Tau: 1.0), sample: d).Value);
            TorchAssert.Close(zgr.Grad, tensor(reinmax.Grad), 1e-12, $"ZGR vs ReinMax, K = {k}");
            var cooler = Run(logits, w, l => Categorical.Sample(l, EstimatorKind.ReinMax, new EstimatorOptions(Tau: 0.5), sample: d).Value);
            Assert.True(zgr.Grad.Zip(cooler.Grad, (a, b) => Math.Abs(a - b)).Max() > 1e-3, $"K = {k}: ReinMax at tau = 0.5 should differ");
            if (k != 2) continue;
            var q = TorchAssert.ToArray(logits.softmax(-1).select(-1, 0));
            var u = TorchAssert.ToArray(w.select(-1, 0) - w.select(-1, 1));
            var d0 = TorchAssert.ToArray(d.select(-1, 0));
            for (int i = 0; i < 50; i++)
                Assert.Equal((d0[i] == 1 ? (1 - q[i]) / 2 : q[i] / 2) * u[i], zgr.Grad[2 * i], 12);
        }
    }

    [Fact]
    public void Node_options_carry_tau_forward_and_bad_values_are_refused_naming_it()
    {
        using var node = new CategoricalNode(EstimatorKind.DecoupledGumbelSoftmax, new EstimatorOptions(TauForward: 0.25));
        Assert.Equal(0.25, node.Options.TauForward);
        node.Options = node.Options with { TauForward = 3.0, Tau = 0.5 };
        Assert.Equal((3.0, 0.5), (node.Options.TauForward, node.Tau));
        Assert.DoesNotContain(node.state_dict().Keys, k => k.Contains("forward", StringComparison.OrdinalIgnoreCase));   // configuration, not state
        foreach (double bad in new[] { 0.0, -1.0, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EstimatorOptions(TauForward: bad).Validate());
            Assert.Equal("TauForward", e.ParamName);
        }
    }
}
