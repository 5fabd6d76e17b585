using DiscreteGrad.Diagnostics;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static DiscreteGrad.Tests.ScoreFunction.ExactKit;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>
/// The expectation of each unbiased estimator over its whole sample space (enumerated exactly, fp64) equals the exact
/// gradient of E[f] from <see cref="Enumeration.Exact"/> to 1e-6.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class ScoreFunctionUnbiasednessTests
{
    private const double Tol = 1e-6;
    private readonly ITestOutputHelper _out;
    public ScoreFunctionUnbiasednessTests(ITestOutputHelper output) => _out = output;

    private static Tensor Logits(long n, long k, int seed) => randn(new long[] { n, k }, dtype: F64, generator: new Generator((ulong)seed));

    private void AssertExact(Tensor expected, Tensor actual, string what)
    {
        double d = MaxAbsDiff(expected, actual);
        _out.WriteLine($"{what}: max |E[g] - exact| = {d:E2}");
        Assert.True(d < Tol, $"{what}: expectation differs from the exact gradient by {d}");
        // Sharpness: the exact gradient is not trivially small.
        Assert.True(expected.abs().max().item<double>() > 0.05, $"{what}: exact gradient too small for a meaningful test");
    }

    [Theory]
    [InlineData(null)]
    [InlineData(2.7)]
    [InlineData(-5.0)]
    public void Reinforce_with_a_fixed_baseline_is_unbiased(double? b)
    {
        var logits = Logits(2, 3, 11);
        var f = Smooth(2, 3, 12);
        var exact = Enumeration.Exact(logits, f);
        var m = Categorical(logits, 1, (leaf, states) =>
        {
            var z = states.squeeze(0);
            var fz = f(z);
            var lp = LogProb.Categorical(leaf, z, eventDims: 1);
            return b is double v ? Reinforce.Surrogate(fz, lp, tensor(v, dtype: F64)) : Reinforce.Surrogate(fz, lp);
        });
        AssertExact(exact.Gradient, m.Mean, $"REINFORCE b = {b?.ToString() ?? "none"}");
    }

    [Fact]
    public void Reinforce_with_a_moving_average_baseline_is_unbiased_and_the_baseline_is_the_pre_step_value()
    {
        var logits = Logits(2, 3, 21);
        var f = Smooth(2, 3, 22, offset: 3.0);
        var exact = Enumeration.Exact(logits, f);
        var ema = new MovingAverageBaseline(decay: 0.9);
        foreach (var v in new[] { 4.0, 2.0, 5.0 }) ema.Update(tensor(v, dtype: F64));
        double before = ema.Value;
        Assert.True(Math.Abs(before) > 1, "the baseline must be non-trivial for this test");
        var m = Categorical(logits, 1, (leaf, states) =>
            Reinforce.Categorical(leaf, f, ema, sample: states.squeeze(0)).Surrogate);
        AssertExact(exact.Gradient, m.Mean, "REINFORCE + moving average");
        Assert.Equal(4, ema.Steps);                 // the call used the old value, then updated once
        Assert.NotEqual(before, ema.Value);
    }

    [Theory]
    [InlineData(2, 2, 3, 31)]   // S = 2 samples of N = 2 nodes, K = 3: 81 joint states
    [InlineData(3, 1, 3, 32)]   // S = 3, N = 1, K = 3: 27
    [InlineData(4, 1, 2, 35)]   // S = 4, N = 1, K = 2: 16
    public void Rloo_is_unbiased_over_the_joint_of_its_samples(int s, int n, int k, int seed)
    {
        var logits = Logits(n, k, seed);
        var f = Smooth(n, k, seed + 100, offset: 2.0);
        var exact = Enumeration.Exact(logits, f);
        var rloo = new LeaveOneOutBaseline();
        var m = Categorical(logits, s, (leaf, states) =>
            Reinforce.Categorical(leaf, f, rloo, sample: states).Surrogate.mean(new long[] { 0 }));
        AssertExact(exact.Gradient, m.Mean, $"RLOO S = {s}");
    }

    /// <summary>A baseline that includes the sample's own value: the mean over all S samples.</summary>
    private sealed class MeanIncludingSelf : IBaseline
    {
        public Tensor Compute(Tensor f) => f.detach().mean(new long[] { 0 }, keepdim: true);
    }

    [Fact]
    public void The_enumeration_detects_a_baseline_that_sees_its_own_sample()
    {
        // b_s = mean_j f_j contains f_s / S, so E[g] = (1 - 1/S) grad E[f]: the exact test is sharp enough to see it.
        const int s = 3;
        var logits = Logits(1, 3, 36);
        var f = Smooth(1, 3, 136, offset: 2.0);
        var exact = Enumeration.Exact(logits, f);
        var m = Categorical(logits, s, (leaf, states) =>
            Reinforce.Categorical(leaf, f, new MeanIncludingSelf(), sample: states).Surrogate.mean(new long[] { 0 }));
        Assert.True(MaxAbsDiff(exact.Gradient, m.Mean) > 0.01);
        AssertExact(exact.Gradient * ((s - 1.0) / s), m.Mean, "mean-including-self baseline vs (1 - 1/S) exact");
    }

    [Fact]
    public void Reinforce_for_bernoulli_nodes_is_unbiased()
    {
        var phi = tensor(new[] { 0.4, -1.1, 0.8 }, dtype: F64);
        Func<Tensor, Tensor> f = z => (z * tensor(new[] { 1.0, -2.0, 0.5 }, dtype: F64)).sum(-1).exp() + z.select(-1, 0) * z.select(-1, 2);
        var exact = BernoulliExactGradient(phi, f);
        var m = Bernoulli(phi, (leaf, z) => Reinforce.Bernoulli(leaf, f, new ConstantBaseline(1.5), sample: z).Surrogate);
        AssertExact(exact, m.Mean, "REINFORCE Bernoulli");
    }

    [Theory]
    [InlineData(1, 4, 41)]
    [InlineData(2, 3, 42)]
    [InlineData(3, 2, 43)]
    public void MuProp_with_its_correction_is_unbiased_for_categorical_nodes(int n, int k, int seed)
    {
        var logits = Logits(n, k, seed);
        var f = Smooth(n, k, seed + 100);
        var exact = Enumeration.Exact(logits, f);
        var m = Categorical(logits, 1, (leaf, states) => MuProp.Categorical(leaf, f, sample: states.squeeze(0)).Surrogate);
        AssertExact(exact.Gradient, m.Mean, $"MuProp N = {n}, K = {k}");
    }

    [Fact]
    public void MuProp_is_unbiased_with_several_samples_and_for_bernoulli_nodes()
    {
        var logits = Logits(1, 3, 51);
        var f = Smooth(1, 3, 52);
        var exact = Enumeration.Exact(logits, f);
        var m = Categorical(logits, 2, (leaf, states) => MuProp.Categorical(leaf, f, sample: states).Surrogate.mean(new long[] { 0 }));
        AssertExact(exact.Gradient, m.Mean, "MuProp S = 2");

        var phi = tensor(new[] { 0.7, -0.3, 1.2 }, dtype: F64);
        var fb = DarnTests.NonQuadratic;
        var exactB = BernoulliExactGradient(phi, fb);
        var mb = Bernoulli(phi, (leaf, z) => MuProp.Bernoulli(leaf, fb, sample: z).Surrogate);
        AssertExact(exactB, mb.Mean, "MuProp Bernoulli");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Arm_and_DisArm_integrate_exactly_to_the_gradient(bool disarm)
    {
        var phi = tensor(new[] { 0.9, -0.4, 1.7 }, dtype: F64);
        var f = DarnTests.NonQuadratic;
        var exact = BernoulliExactGradient(phi, f);
        var m = AntitheticMoments(phi, f, disarm);
        AssertExact(exact, m, disarm ? "DisARM" : "ARM");
    }

    /// <summary>
    /// E_u[g] for ARM/DisARM: on each cell of the breakpoints sigma(+-phi_i) the indicators are constant, so DisARM is constant
    /// and ARM is linear in u_i ((u_i - 1/2) times a constant): the midpoint rule times the cell volume is exact for both.
    /// The estimate comes from backward() through the surrogate, per cell.
    /// </summary>
    internal static Tensor AntitheticMoments(Tensor phi, Func<Tensor, Tensor> f, bool disarm)
    {
        var (mid, _, _, vol) = UniformCells(phi);
        long c = mid.shape[0];
        var leaf = phi.detach().unsqueeze(0).expand(c, phi.shape[0]).clone().requires_grad_(true);
        var r = disarm ? DisArm.Bernoulli(leaf, f, uniform: mid) : Arm.Bernoulli(leaf, f, uniform: mid);
        var grads = torch.autograd.grad(new[] { r.Surrogate.sum() }, new[] { leaf })[0];
        Assert.True(MaxAbsDiff(grads, r.LogitGradient) < 1e-12, "backward() through the surrogate must give LogitGradient");
        return (vol.unsqueeze(1) * grads).sum(dim: 0);
    }

    [Theory]
    [InlineData(1, 4, 61)]     // 3^3 = 27 cells of u
    [InlineData(2, 3, 62)]     // 3^4 = 81
    [InlineData(1, 5, 63)]     // 81
    public void Categorical_DisArm_integrates_exactly_to_the_gradient(int n, int k, int seed)
    {
        var logits = Logits(n, k, seed);
        var f = Smooth(n, k, seed + 100);
        var exact = Enumeration.Exact(logits, f);
        var eta = DisArm.StickBreakingLogits(logits);                                     // [N, K - 1]
        var (mid, _, _, vol) = UniformCells(eta.flatten());
        long c = mid.shape[0];
        var leaf = logits.unsqueeze(0).expand(c, n, k).clone().requires_grad_(true);
        var r = DisArm.Categorical(leaf, f, uniform: mid.reshape(c, n, k - 1));
        var grads = torch.autograd.grad(new[] { r.Surrogate.sum() }, new[] { leaf })[0];
        var m = Weighted(vol, grads);
        AssertExact(exact.Gradient, m.Mean, $"categorical DisARM N = {n}, K = {k}");
        // Both samples of the pair are exact draws from Cat(softmax(theta)).
        var w = vol.reshape(c, 1, 1);
        Assert.True(MaxAbsDiff((w * r.Sample).sum(dim: 0), logits.softmax(-1)) < 1e-12);
        Assert.True(MaxAbsDiff((w * r.Antithetic).sum(dim: 0), logits.softmax(-1)) < 1e-12);
        // For the record: its exact variance next to REINFORCE's with the same two evaluations of f (RLOO, S = 2).
        var rloo = Categorical(logits, 2, (lf, z) => Reinforce.Categorical(lf, f, new LeaveOneOutBaseline(), sample: z).Surrogate.mean(new long[] { 0 }));
        _out.WriteLine($"exact total variance: categorical DisARM {m.Variance:G6}, RLOO (S = 2) {rloo.Variance:G6}");
    }

    [Fact]
    public void DisArm_variance_is_at_most_ArmS_exactly()
    {
        var phi = tensor(new[] { 0.9, -0.4, 1.7 }, dtype: F64);
        var f = DarnTests.NonQuadratic;
        var (mid, lo, hi, vol) = UniformCells(phi);
        var mean = BernoulliExactGradient(phi, f);
        // ARM: g_i = c(cell) (u_i - 1/2); E[g_i^2] = sum_cells c^2 * int (u_i - 1/2)^2 du_i * prod_{j != i} len_j.
        var arm = Arm.Bernoulli(phi.unsqueeze(0).expand(mid.shape[0], 3), f, uniform: mid);
        var coef = (f(arm.Antithetic) - f(arm.Sample)).unsqueeze(1);                      // g_i = coef (u_i - 1/2)
        Assert.True(MaxAbsDiff(coef * (mid - 0.5), arm.LogitGradient) < 1e-12);
        var len = hi - lo;
        var cube = ((hi - 0.5).pow(3) - (lo - 0.5).pow(3)) / 3;
        var second = (coef.pow(2) * cube * (vol.unsqueeze(1) / len.clamp_min(1e-300))).where(len > 0, zeros_like(len)).sum(dim: 0);
        double varArm = (second - mean.pow(2)).sum().item<double>();
        var dis = DisArm.Bernoulli(phi.unsqueeze(0).expand(mid.shape[0], 3), f, uniform: mid);
        double varDis = ((vol.unsqueeze(1) * dis.LogitGradient.pow(2)).sum(dim: 0) - mean.pow(2)).sum().item<double>();
        _out.WriteLine($"exact total variance: ARM {varArm:G6}, DisARM {varDis:G6}, ratio {varArm / varDis:G4}");
        Assert.True(varDis > 0 && varDis <= varArm, $"DisARM variance {varDis} exceeds ARM's {varArm}");
    }

    [Fact]
    public void Vimco_is_unbiased_for_the_gradient_of_the_expected_multi_sample_bound()
    {
        // q = Cat(softmax(phi)) over K = 3 categories, 3 samples; log p(x, z) = z . (c + theta) with theta a parameter of
        // the model (pathwise), log w = log p(x, z) - log q(z) (pathwise in phi too).
        var phi0 = tensor(new[] { 0.3, -0.8, 0.5 }, dtype: F64);
        var c = tensor(new[] { -1.0, 0.7, 0.2 }, dtype: F64);
        var theta0 = tensor(new[] { 0.1, -0.4, 0.9 }, dtype: F64);
        const int s = 3;
        var joint = Enumeration.JointStates(s, 3, F64);                                   // [M, S, K]
        var states = joint.permute(1, 0, 2);                                               // [S, M, K]

        (Tensor gPhi, Tensor gTheta) Grad(Func<Tensor, Tensor, Tensor> objective)
        {
            var phi = phi0.clone().requires_grad_(true);
            var theta = theta0.clone().requires_grad_(true);
            var g = torch.autograd.grad(new[] { objective(phi, theta) }, new[] { phi, theta });
            return (g[0], g[1]);
        }
        Tensor LogQ(Tensor phi) => (states * phi.log_softmax(-1)).sum(-1);                 // [S, M]
        Tensor LogW(Tensor phi, Tensor theta) => (states * (c + theta)).sum(-1) - LogQ(phi);
        // Exact: d/d(phi, theta) of sum_M p(M) L(M).
        var exact = Grad((phi, theta) => (LogQ(phi).sum(dim: 0).exp() * Vimco.Bound(LogW(phi, theta))).sum());
        // Estimator: sum_M sg(p(M)) surrogate(M) has gradient sum_M p(M) g(M) = E[g].
        var est = Grad((phi, theta) =>
        {
            var p = LogQ(phi).sum(dim: 0).exp().detach();
            return (p * Vimco.Surrogate(LogW(phi, theta), LogQ(phi)).Surrogate).sum();
        });
        AssertExact(exact.gPhi, est.gPhi, "VIMCO d/dphi");
        AssertExact(exact.gTheta, est.gTheta, "VIMCO d/dtheta");
    }
}
