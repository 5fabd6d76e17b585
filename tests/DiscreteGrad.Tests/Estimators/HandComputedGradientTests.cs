using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// Each estimator's forward value and gradient on a small fixed input with the sample / noise pinned, against the
/// REFERENCE.md formula evaluated by hand in plain doubles.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class HandComputedGradientTests
{
    private static readonly double[] Theta = { 0.5, -1.0, 2.0 };
    private static readonly double[] V = { 1.0, -2.0, 0.5 };      // upstream gradient: loss = sum(v * out)
    private const double Tau = 2.0;
    private const double Tol = 1e-12;

    private static (Tensor Leaf, Tensor Upstream) Inputs()
        => (tensor(Theta, dtype: ScalarType.Float64).requires_grad_(true), tensor(V, dtype: ScalarType.Float64));

    private static Tensor E0 => tensor(Hand.OneHot(3, 0), dtype: ScalarType.Float64);

    [Fact]
    public void GumbelSoftmax_value_and_gradient()
    {
        double beta = 0.5;
        double[] g = { 0.3, -0.7, 1.1 };
        var (theta, v) = Inputs();
        var y = discrete.functional.gumbel_softmax(theta, Tau, hard: false, beta: beta, noise: tensor(g, dtype: ScalarType.Float64));
        (y * v).sum().backward();
        var yHand = Hand.Softmax(Theta.Select((t, i) => t + beta * g[i]).ToArray(), Tau);
        TorchAssert.Close(yHand, y, Tol, "y");
        TorchAssert.Close(Hand.Scale(Hand.Jtv(yHand, V), 1 / Tau), theta.grad!, Tol, "grad");
    }

    [Fact]
    public void StraightThroughGumbel_forward_is_argmax_of_perturbed_logits_and_gradient_is_the_relaxation()
    {
        double beta = 0.5;
        double[] g = { 0.3, -0.7, 1.1 };       // theta + beta g = (0.65, -1.35, 2.55): argmax 2
        var (theta, v) = Inputs();
        var y = discrete.functional.gumbel_softmax(theta, Tau, hard: true, beta: beta, noise: tensor(g, dtype: ScalarType.Float64));
        (y * v).sum().backward();
        TorchAssert.Close(Hand.OneHot(3, 2), y, 0, "forward");
        var yHand = Hand.Softmax(Theta.Select((t, i) => t + beta * g[i]).ToArray(), Tau);
        TorchAssert.Close(Hand.Scale(Hand.Jtv(yHand, V), 1 / Tau), theta.grad!, Tol, "grad");
    }

    [Fact]
    public void StraightThroughGumbel_with_zero_scale_is_argmax_of_logits_whatever_the_noise()
    {
        var (theta, _) = Inputs();
        var y = discrete.functional.gumbel_softmax(theta, Tau, hard: true, beta: 0, noise: tensor(new[] { 100.0, 0, 0 }, dtype: ScalarType.Float64));
        TorchAssert.Close(Hand.OneHot(3, 2), y, 0, "forward");
    }

    [Fact]
    public void StraightThrough_value_is_the_sample_and_gradient_is_softmax_tau_jacobian()
    {
        var (theta, v) = Inputs();
        var y = discrete.functional.straight_through(theta, Tau, sample: E0);
        (y * v).sum().backward();
        TorchAssert.Close(Hand.OneHot(3, 0), y, 0, "forward");
        TorchAssert.Close(Hand.Scale(Hand.Jtv(Hand.Softmax(Theta, Tau), V), 1 / Tau), theta.grad!, Tol, "grad");
    }

    [Fact]
    public void ReinMax_matches_the_closed_form_including_the_probability_path()
    {
        double[] u = { -0.3, 0.8, 0.1 };   // upstream of softmax(theta), as for a KL term
        var (theta, v) = Inputs();
        var (hard, soft) = discrete.functional.reinmax(theta, Tau, sample: E0);
        ((hard * v).sum() + (soft * tensor(u, dtype: ScalarType.Float64)).sum()).backward();
        var pi0 = Hand.Softmax(Theta);
        var pi1 = Hand.Scale(Hand.Add(Hand.OneHot(3, 0), Hand.Softmax(Theta, Tau)), 0.5);
        var expected = Hand.Add(Hand.Scale(Hand.Jtv(pi1, V), 2), Hand.Jtv(pi0, Hand.Add(u, Hand.Scale(V, -0.5))));
        double mean = expected.Average();
        expected = expected.Select(x => x - mean).ToArray();
        TorchAssert.Close(Hand.OneHot(3, 0), hard, 0, "forward");
        TorchAssert.Close(pi0, soft, Tol, "soft");
        TorchAssert.Close(expected, theta.grad!, Tol, "grad");
    }

    [Fact]
    public void ReinMax_custom_function_equals_algorithm_2_written_with_detach()
    {
        // Algorithm 2 verbatim through autograd: pi1 = softmax(sg(log pi1 - theta) + theta); pi2 = 2 pi1 - pi0 / 2; D + pi2 - sg(pi2).
        var gen = new Generator(7);
        var logits = randn(new long[] { 64, 5 }, dtype: ScalarType.Float64, generator: gen);
        var w = randn(new long[] { 64, 5 }, dtype: ScalarType.Float64, generator: gen);
        var d = DiscreteGrad.Sampling.OneHot.Sample(logits, gen);
        foreach (double tau in new[] { 0.5, 1.0, 3.0 })
        {
            var a = logits.clone().requires_grad_(true);
            (discrete.functional.reinmax(a, tau, sample: d).y_hard * w).sum().backward();
            var b = logits.clone().requires_grad_(true);
            var pi0 = b.softmax(-1);
            var pi1 = (d + (b / tau).softmax(-1)) / 2;
            pi1 = ((pi1.log() - b).detach() + b).softmax(-1);
            var pi2 = 2 * pi1 - pi0 / 2;
            ((pi2 - pi2.detach() + d) * w).sum().backward();
            Assert.True(allclose(a.grad!, b.grad!, rtol: 0, atol: 1e-12), $"tau {tau}: max diff {(a.grad! - b.grad!).abs().max().item<double>()}");
        }
    }

    [Fact]
    public void GappedStraightThrough_follows_the_gapped_logits()
    {
        // D = e0 while argmax theta = 2: move = (2 - 0.5) e0; move2 = relu(theta - 2 + 1) on the unsampled entries = (0, 0, 1).
        var (theta, v) = Inputs();
        var y = discrete.functional.gapped_straight_through(theta, Tau, gap: 1.0, sample: E0);
        (y * v).sum().backward();
        double[] m = { 0.5 + 1.5, -1.0, 2.0 - 1.0 };
        double mm = m.Average();
        var p = Hand.Softmax(m.Select(x => x - mm).ToArray(), Tau);
        TorchAssert.Close(Hand.OneHot(3, 0), y, 0, "forward");
        TorchAssert.Close(Hand.Scale(Hand.Jtv(p, V), 1 / Tau), theta.grad!, Tol, "grad");
    }

    [Fact]
    public void GumbelRao_averages_the_relaxation_over_conditional_gumbels()
    {
        double[,] e = { { 0.5, 1.5 }, { 0.2, 2.0 }, { 1.0, 0.7 } };   // Exponential draws [C = 3, K = 2]
        var (theta, v) = Inputs();
        var y = discrete.functional.gumbel_rao(theta, Tau, k: 2, sample: E0, noise: tensor(e, dtype: ScalarType.Float64));
        (y * v).sum().backward();
        double logZ = Hand.LogSumExp(Theta), z = Math.Exp(logZ);
        var grad = new double[3];
        for (int k = 0; k < 2; k++)
        {
            var cond = new double[3];
            cond[0] = logZ - Math.Log(e[0, k]);
            for (int i = 1; i < 3; i++) cond[i] = -Math.Log(e[i, k] * Math.Exp(-Theta[i]) + e[0, k] / z);
            Assert.Equal(0, Array.IndexOf(cond, cond.Max()));            // the conditional draw agrees with the sample
            var s = Hand.Softmax(cond, Tau);                              // theta + gk = cond
            grad = Hand.Add(grad, Hand.Scale(Hand.Jtv(s, V), 0.5 / Tau));
        }
        TorchAssert.Close(Hand.OneHot(3, 0), y, 0, "forward");
        TorchAssert.Close(grad, theta.grad!, Tol, "grad");
    }

    [Fact]
    public void Bernoulli_straight_through_gradient_is_the_sigmoid_derivative_at_temperature()
    {
        var theta = tensor(new[] { 0.3, -1.2 }, dtype: ScalarType.Float64).requires_grad_(true);
        var s = Bernoulli.Sample(theta, EstimatorKind.StraightThrough, new EstimatorOptions(Tau: Tau),
            sample: tensor(new[] { 1.0, 0.0 }, dtype: ScalarType.Float64));
        s.Value.sum().backward();
        TorchAssert.Close(new[] { 1.0, 0.0 }, s.Value, 0, "forward");
        var expected = new[] { 0.3, -1.2 }.Select(t => { double q = 1 / (1 + Math.Exp(-t / Tau)); return q * (1 - q) / Tau; }).ToArray();
        TorchAssert.Close(expected, theta.grad!, Tol, "grad");
        TorchAssert.Close(new[] { 0.3, -1.2 }.Select(t => 1 / (1 + Math.Exp(-t))).ToArray(), s.Probs, Tol, "probs");
    }
}
