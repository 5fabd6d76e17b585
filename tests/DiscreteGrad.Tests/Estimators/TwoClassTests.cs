using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// The two-class specialisation of ST, ReinMax, GST and GR-MCK (categorical nodes with K = 2 and Bernoulli nodes):
/// its sample has the law of the general Gumbel-max sample, its gradient is the general estimator's (the same pinned
/// sample gives the same gradient up to rounding, on the last axis, on another axis, on non-contiguous logits), the
/// Bernoulli node equals the two-class categorical node bit for bit, and GR-MCK's conditional draws have the law the
/// general construction gives.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class TwoClassTests
{
    private const double Tol = 1e-12;

    public static TheoryData<EstimatorKind, double> KindsAndTaus()
    {
        var data = new TheoryData<EstimatorKind, double>();
        foreach (var kind in new[] { EstimatorKind.StraightThrough, EstimatorKind.ReinMax, EstimatorKind.GappedStraightThrough })
        foreach (double tau in new[] { 1.0, 0.6 })
            data.Add(kind, tau);
        return data;
    }

    /// <summary>The general estimator (any K) on the last axis with a pinned sample.</summary>
    private static CategoricalSample General(Tensor logits, EstimatorKind kind, EstimatorOptions o, Tensor sample) => kind switch
    {
        EstimatorKind.StraightThrough => StraightThroughEstimator.General(logits, o.Tau, null, sample),
        EstimatorKind.ReinMax => ReinMaxEstimator.General(logits, o.Tau, null, sample),
        EstimatorKind.GappedStraightThrough => GappedStraightThroughEstimator.General(logits, o.Tau, o.Gap, null, sample),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static Tensor RandomOneHot(long[] rowShape, int seed)
        => nn.functional.one_hot(randint(0, 2, rowShape, generator: new Generator((ulong)seed)), 2).to(ScalarType.Float64);

    [Theory]
    [MemberData(nameof(KindsAndTaus))]
    public void Gradient_equals_the_general_estimators_for_the_same_sample(EstimatorKind kind, double tau)
    {
        var o = new EstimatorOptions(Tau: tau, Gap: 0.8);
        // Logits spread so that GST's gap is active for some rows and not for others.
        var x = (randn(new long[] { 6, 5, 2 }, dtype: ScalarType.Float64, generator: new Generator(1)) * 2).requires_grad_(true);
        var xg = x.detach().clone().requires_grad_(true);
        var d = RandomOneHot(new long[] { 6, 5 }, 2);
        var w = randn(new long[] { 6, 5, 2 }, dtype: ScalarType.Float64, generator: new Generator(3));
        var wp = randn(new long[] { 6, 5, 2 }, dtype: ScalarType.Float64, generator: new Generator(4));
        var s = Categorical.Sample(x, kind, o, sample: d);
        var g = General(xg, kind, o, d);
        Assert.Equal(TorchAssert.ToArray(g.Value), TorchAssert.ToArray(s.Value));
        Assert.Equal(TorchAssert.ToArray(d), TorchAssert.ToArray(s.Hard));
        // Every output in the loss: ReinMax's probabilities carry part of its gradient.
        ((s.Value * w).sum() + (s.Probs * wp).sum()).backward();
        ((g.Value * w).sum() + (g.Probs * wp).sum()).backward();
        TorchAssert.Close(TorchAssert.ToArray(xg.grad!), x.grad!, Tol, $"{kind} gradient");
        Assert.True(x.grad!.abs().sum().item<double>() > 0);
    }

    [Theory]
    [MemberData(nameof(KindsAndTaus))]
    public void Another_axis_and_non_contiguous_logits_give_the_last_axis_result(EstimatorKind kind, double tau)
    {
        var o = new EstimatorOptions(Tau: tau, Gap: 0.8);
        var theta = randn(new long[] { 4, 2 }, dtype: ScalarType.Float64, generator: new Generator(5)) * 1.5;
        var w = randn(new long[] { 3, 4, 2 }, dtype: ScalarType.Float64, generator: new Generator(6));
        // Reference: contiguous [3, 4, 2], categories last.
        var leafRef = theta.detach().clone().requires_grad_(true);
        var reference = Categorical.Sample(leafRef.unsqueeze(0).expand(3, 4, 2).contiguous(), kind, o, generator: new Generator(7));
        (reference.Value * w).sum().backward();
        // Expanded (stride 0 on the batch axis), categories last.
        var leafExp = theta.detach().clone().requires_grad_(true);
        var expanded = Categorical.Sample(leafExp.unsqueeze(0).expand(3, 4, 2), kind, o, generator: new Generator(7));
        (expanded.Value * w).sum().backward();
        // Categories on axis 1 of a transposed (non-contiguous) view [3, 2, 4].
        var leafDim = theta.detach().clone().requires_grad_(true);
        var moved = Categorical.Sample(leafDim.unsqueeze(0).expand(3, 4, 2).transpose(1, 2), kind, o, dim: 1, generator: new Generator(7));
        (moved.Value * w.transpose(1, 2)).sum().backward();
        Assert.Equal(1, moved.Dim);
        foreach (var (s, leaf, name) in new[] { (expanded, leafExp, "expanded"), (moved, leafDim, "dim 1") })
        {
            var value = name == "dim 1" ? s.Value.transpose(1, 2) : s.Value;
            var hard = name == "dim 1" ? s.Hard.transpose(1, 2) : s.Hard;
            Assert.Equal(TorchAssert.ToArray(reference.Value), TorchAssert.ToArray(value));
            Assert.Equal(TorchAssert.ToArray(reference.Hard), TorchAssert.ToArray(hard));
            Assert.Equal(TorchAssert.ToArray(reference.Index), TorchAssert.ToArray(s.Index));
            Assert.Equal(TorchAssert.ToArray(leafRef.grad!), TorchAssert.ToArray(leaf.grad!));
        }
        // The functional form (which moves the axis to the end itself) takes the same path.
        var leafFn = theta.detach().clone().requires_grad_(true);
        var fn = kind switch
        {
            EstimatorKind.StraightThrough => discrete.functional.straight_through(leafFn.unsqueeze(0).expand(3, 4, 2).transpose(1, 2), tau, dim: 1, generator: new Generator(7)),
            EstimatorKind.ReinMax => discrete.functional.reinmax(leafFn.unsqueeze(0).expand(3, 4, 2).transpose(1, 2), tau, dim: 1, generator: new Generator(7)).y_hard,
            _ => discrete.functional.gapped_straight_through(leafFn.unsqueeze(0).expand(3, 4, 2).transpose(1, 2), tau, 0.8, dim: 1, generator: new Generator(7)),
        };
        (fn * w.transpose(1, 2)).sum().backward();
        Assert.Equal(TorchAssert.ToArray(reference.Value), TorchAssert.ToArray(fn.transpose(1, 2)));
        Assert.Equal(TorchAssert.ToArray(leafRef.grad!), TorchAssert.ToArray(leafFn.grad!));
    }

    [Fact]
    public void The_sample_is_one_uniform_per_variable_below_sigmoid_of_the_difference()
    {
        // Exact law: d_0 = 1[U < sigmoid(theta_0 - theta_1)] with U the generator's next uniforms, so P(d_0 = 1) = softmax(theta)_0.
        var x = randn(new long[] { 50, 40, 2 }, generator: new Generator(8)) * 3;
        var s = Categorical.Sample(x, EstimatorKind.StraightThrough, generator: new Generator(9));
        var u = rand(new long[] { 50, 40 }, generator: new Generator(9));
        var expected = (u < (x.select(-1, 0) - x.select(-1, 1)).sigmoid()).to(ScalarType.Float32);
        Assert.Equal(TorchAssert.ToArray(expected), TorchAssert.ToArray(s.Hard.select(-1, 0)));
        Assert.Equal(TorchAssert.ToArray(1 - expected), TorchAssert.ToArray(s.Hard.select(-1, 1)));
    }

    [Theory]
    [InlineData(EstimatorKind.StraightThrough)]
    [InlineData(EstimatorKind.ReinMax)]
    [InlineData(EstimatorKind.GappedStraightThrough)]
    [InlineData(EstimatorKind.GumbelRao)]
    public void Sample_frequencies_match_softmax_by_a_chi_square_test(EstimatorKind kind)
    {
        // 8 nodes with P(class 0) from 0.018 to 0.98, 40,000 draws each (fixed seed). Sum over the nodes of the
        // one-degree-of-freedom chi-square statistics; the 8-degree-of-freedom 0.999 quantile is 26.1.
        double[] deltas = { -4, -2, -1, -0.3, 0, 0.5, 1.5, 4 };
        const long draws = 40_000;
        var theta = tensor(deltas.SelectMany(dl => new[] { dl / 2, -dl / 2 }).ToArray(), dtype: ScalarType.Float64).reshape(1, deltas.Length, 2);
        var s = Categorical.Sample(theta.expand(draws, deltas.Length, 2), kind, new EstimatorOptions(GumbelRaoK: 1), generator: new Generator(10));
        var ones = TorchAssert.ToArray(s.Hard.select(-1, 0).sum(new long[] { 0 }));
        double chi2 = 0;
        for (int i = 0; i < deltas.Length; i++)
        {
            double p = 1 / (1 + Math.Exp(-deltas[i]));
            double expected = draws * p;
            chi2 += Math.Pow(ones[i] - expected, 2) / (expected * (1 - p));
        }
        Assert.True(chi2 < 26.1, $"chi-square {chi2:F2} with 8 degrees of freedom");
    }

    [Theory]
    [InlineData(EstimatorKind.StraightThrough, 1.0)]
    [InlineData(EstimatorKind.ReinMax, 0.6)]
    [InlineData(EstimatorKind.GappedStraightThrough, 0.6)]
    [InlineData(EstimatorKind.GumbelRao, 1.0)]
    [InlineData(EstimatorKind.GumbelRao, 0.6)]
    public void Bernoulli_node_equals_the_two_class_categorical_node_bit_for_bit(EstimatorKind kind, double tau)
    {
        var o = new EstimatorOptions(Tau: tau, GumbelRaoK: 7);
        var theta = randn(new long[] { 30, 20 }, generator: new Generator(11)) * 2;
        var w = randn(new long[] { 30, 20 }, generator: new Generator(12));
        foreach (bool pinned in new[] { false, true })
        {
            var z = pinned ? (rand(new long[] { 30, 20 }, generator: new Generator(13)) < 0.5).to(ScalarType.Float32) : null;
            var a = theta.detach().clone().requires_grad_(true);
            var b = theta.detach().clone().requires_grad_(true);
            var bern = Bernoulli.Sample(a, kind, o, new Generator(14), sample: z);
            var two = Categorical.Sample(Bernoulli.TwoClassLogits(b), kind, o, generator: new Generator(14),
                sample: z is null ? null : stack(new[] { z, 1 - z }, -1));
            (bern.Value * w).sum().backward();
            (two.Value.select(-1, 0) * w).sum().backward();
            Assert.Equal(TorchAssert.ToArray(two.Value.select(-1, 0)), TorchAssert.ToArray(bern.Value));
            Assert.Equal(TorchAssert.ToArray(two.Hard.select(-1, 0)), TorchAssert.ToArray(bern.Hard));
            Assert.Equal(TorchAssert.ToArray(b.grad!), TorchAssert.ToArray(a.grad!));
            if (z is not null) Assert.Equal(TorchAssert.ToArray(z), TorchAssert.ToArray(bern.Hard));
            // Through the estimator object too (what BernoulliNode does).
            var c = theta.detach().clone().requires_grad_(true);
            if (z is null)
            {
                var viaObject = Bernoulli.Sample(c, CategoricalEstimator.Of(kind), o, new Generator(14));
                (viaObject.Value * w).sum().backward();
                Assert.Equal(TorchAssert.ToArray(a.grad!), TorchAssert.ToArray(c.grad!));
            }
        }
    }

    [Fact]
    public void A_pinned_sample_that_is_not_one_hot_over_the_axis_is_refused()
    {
        var x = randn(new long[] { 3, 2, 4 }, dtype: ScalarType.Float64, generator: new Generator(15));
        var bad = ones(new long[] { 3, 2, 4 }, dtype: ScalarType.Float64);
        var e = Assert.ThrowsAny<ArgumentException>(() => Categorical.Sample(x, EstimatorKind.ReinMax, dim: 1, sample: bad));
        Assert.Equal("sample", e.ParamName);
        Assert.Contains("one-hot", e.Message);
        var half = full(new long[] { 3, 2, 4 }, 0.5, dtype: ScalarType.Float64);
        Assert.Equal("sample", Assert.ThrowsAny<ArgumentException>(() => Categorical.Sample(x, EstimatorKind.StraightThrough, dim: 1, sample: half)).ParamName);
        Assert.Equal("sample", Assert.ThrowsAny<ArgumentException>(() => Categorical.Sample(x, EstimatorKind.StraightThrough, dim: 1, sample: ones(3, 2))).ParamName);
    }

    // ---- GR-MCK for two classes ----

    /// <summary>
    /// E[sigma'(x / tau) / tau | D] for x = delta + G_0 - G_1 ~ Logistic(delta, 1) conditioned on the sampled side
    /// (x &gt;= 0 for class 0), by Simpson's rule on [0, 80] of |x| (float64).
    /// </summary>
    private static double ExactSlope(double delta, bool classZero, double tau)
    {
        double b = classZero ? delta : -delta;
        static double Sig(double t) => 1 / (1 + Math.Exp(-t));
        static double Dsig(double t) { double s = Sig(t); return s * (1 - s); }
        const int n = 200_000;
        const double hi = 80;
        double h = hi / n, sum = 0;
        for (int i = 0; i <= n; i++)
        {
            double y = i * h;   // |x|; the density of |x| given the side is sigma'(y - b) / sigma(b)
            double f = Dsig(y / tau) / tau * Dsig(y - b) / Sig(b);
            sum += f * (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2);
        }
        return sum * h / 3;
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.6)]
    public void GumbelRao_slope_has_the_expectation_of_the_conditional_relaxation(double tau)
    {
        // Both the two-class path (pinned uniforms) and the general path (which draws its own exponentials on [..., 2, K]):
        // the mean slope over many conditional draws equals the exact conditional expectation, within 5 standard errors.
        double[] deltas = { -3, -0.7, 0, 1.2, 5 };
        const int k = 20_000;
        foreach (bool classZero in new[] { true, false })
        {
            var delta = tensor(deltas, dtype: ScalarType.Float64);
            var d0 = full(new long[] { deltas.Length }, classZero ? 1.0 : 0.0, dtype: ScalarType.Float64);
            var u = rand(new long[] { k, deltas.Length }, dtype: ScalarType.Float64, generator: new Generator(16));   // [draws, variables]
            var perDraw = TwoClassEstimator.GumbelRaoSlope(delta.expand(k, deltas.Length).reshape(-1),
                d0.expand(k, deltas.Length).reshape(-1), tau, 1, null, u.reshape(1, -1)).reshape(k, deltas.Length);
            var mean = TorchAssert.ToArray(TwoClassEstimator.GumbelRaoSlope(delta, d0, tau, k, null, u));
            var sd = TorchAssert.ToArray(perDraw.std(new long[] { 0 }));
            var logits = stack(new[] { delta / 2, -delta / 2 }, -1);
            var sample = stack(new[] { d0, 1 - d0 }, -1);
            for (int i = 0; i < deltas.Length; i++)
            {
                double exact = ExactSlope(deltas[i], classZero, tau);
                double se = sd[i] / Math.Sqrt(k);
                Assert.True(Math.Abs(mean[i] - exact) < 5 * se + 1e-12, $"delta {deltas[i]} class0 {classZero}: {mean[i]} vs exact {exact} (se {se})");
                // The general estimator on the two-class logits: slope = grad_0 / (g_0 - g_1) with g = (1, 0).
                var leaf = logits.narrow(0, i, 1).detach().clone().requires_grad_(true);
                var s = GumbelRaoEstimator.General(leaf, tau, k, new Generator(17), sample.narrow(0, i, 1), null);
                s.Value.select(-1, 0).sum().backward();
                double general = leaf.grad![0, 0].item<double>();
                Assert.True(Math.Abs(general - exact) < 5 * se + 1e-12, $"general path: delta {deltas[i]} class0 {classZero}: {general} vs exact {exact}");
            }
        }
    }

    [Fact]
    public void GumbelRao_rational_form_at_tau_1_equals_the_logarithmic_form()
    {
        var delta = tensor(new[] { -90.0, -30, -4, -0.5, 0, 0.3, 2, 25, 95 }, dtype: ScalarType.Float64);
        var u = rand(new long[] { 64, 9 }, dtype: ScalarType.Float64, generator: new Generator(18)).clamp_min_(1e-300);
        foreach (double side in new[] { 1.0, 0.0 })
        {
            var d0 = full(new long[] { 9 }, side, dtype: ScalarType.Float64);
            var rational = TwoClassEstimator.GumbelRaoSlope(delta, d0, 1.0, 64, null, u);
            var logarithmic = TwoClassEstimator.GumbelRaoSlope(delta, d0, 1.0, 64, null, u, rational: false);
            TorchAssert.Close(TorchAssert.ToArray(logarithmic), rational, 1e-14, $"side {side}");
            TorchAssert.AllFinite(rational, "slope");
        }
    }

    [Fact]
    public void GumbelRao_on_two_classes_with_pinned_noise_uses_the_general_formula()
    {
        // Pinned Exponential(1) noise [..., 2, K] fixes the general construction's draws; the two-class path is then not used.
        var x = randn(new long[] { 5, 2 }, dtype: ScalarType.Float64, generator: new Generator(19)).requires_grad_(true);
        var xg = x.detach().clone().requires_grad_(true);
        var d = RandomOneHot(new long[] { 5 }, 20);
        var e = empty(new long[] { 5, 2, 4 }, dtype: ScalarType.Float64).exponential_(1.0, new Generator(21));
        var s = Categorical.Sample(x, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: 0.7, GumbelRaoK: 4), sample: d, noise: e);
        var g = GumbelRaoEstimator.General(xg, 0.7, 4, null, d, e);
        s.Value.select(-1, 0).sum().backward();
        g.Value.select(-1, 0).sum().backward();
        Assert.Equal(TorchAssert.ToArray(xg.grad!), TorchAssert.ToArray(x.grad!));
    }

    // ---- Gumbel-softmax and STGS for two classes ----

    [Theory]
    [InlineData(false, 1.0, 1.0)]
    [InlineData(false, 0.4, 0.7)]
    [InlineData(true, 1.0, 1.0)]
    [InlineData(true, 0.4, 2.0)]
    public void GumbelSoftmax_is_the_general_one_at_the_logistic_perturbation_it_draws(bool hard, double tau, double beta)
    {
        // The two-class path draws U and perturbs the difference by beta logit(U); the general path with pinned Gumbel
        // noise (logit(U), 0) sees the same perturbed difference, so value and gradient agree (logit(U) = G_0 - G_1 in law).
        var kind = hard ? EstimatorKind.StraightThroughGumbel : EstimatorKind.GumbelSoftmax;
        var o = new EstimatorOptions(Tau: tau, Beta: beta);
        var x = (randn(new long[] { 7, 6, 2 }, dtype: ScalarType.Float64, generator: new Generator(22)) * 2).requires_grad_(true);
        var xg = x.detach().clone().requires_grad_(true);
        var w = randn(new long[] { 7, 6, 2 }, dtype: ScalarType.Float64, generator: new Generator(23));
        var s = Categorical.Sample(x, kind, o, generator: new Generator(24));
        var fi = finfo(ScalarType.Float64);
        var l = rand(new long[] { 7, 6 }, dtype: ScalarType.Float64, generator: new Generator(24)).clamp(fi.tiny, 1 - fi.eps / 2).logit();
        var g = GumbelSoftmaxEstimator.General(xg, tau, beta, hard, null, stack(new[] { l, zeros_like(l) }, -1));
        Assert.Equal(TorchAssert.ToArray(g.Hard), TorchAssert.ToArray(s.Hard));
        TorchAssert.Close(TorchAssert.ToArray(g.Value), s.Value, Tol, "value");
        (s.Value * w).sum().backward();
        (g.Value * w).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(xg.grad!), x.grad!, Tol, "gradient");
        // The Bernoulli node is the same draw on [theta_0 - theta_1, 0].
        var delta = (x.detach().select(-1, 0) - x.detach().select(-1, 1)).requires_grad_(true);
        var b = Bernoulli.Sample(delta, kind, o, new Generator(24));
        Assert.Equal(TorchAssert.ToArray(s.Hard.select(-1, 0)), TorchAssert.ToArray(b.Hard));
        TorchAssert.Close(TorchAssert.ToArray(s.Value.select(-1, 0)), b.Value, Tol, "Bernoulli value");
    }

    [Fact]
    public void GumbelSoftmax_refuses_an_overflowing_beta_and_draws_nothing_at_beta_0()
    {
        // 1000 logistic draws reach |L| > 4 (P(|L| > 4) = 0.036 each), and 1e38 * 4 exceeds the float32 maximum 3.4e38.
        var x = randn(new long[] { 1000, 2 }, generator: new Generator(25));
        var e = Assert.ThrowsAny<ArgumentException>(() => Categorical.Sample(x, EstimatorKind.StraightThroughGumbel, new EstimatorOptions(Beta: 1e38),
            generator: new Generator(26)));
        Assert.Equal("beta", e.ParamName);
        var gen = new Generator(27);
        var state = gen.get_state();
        var s = Categorical.Sample(x, EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 0.5, Beta: 0), generator: gen);
        Assert.Equal(TorchAssert.ToArray(state), TorchAssert.ToArray(gen.get_state()));
        TorchAssert.Close(TorchAssert.ToArray((x / 0.5).softmax(-1)), s.Value, 1e-6, "softmax(theta / tau)");
    }
}
