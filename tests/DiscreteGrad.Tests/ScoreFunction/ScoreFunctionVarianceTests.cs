using DiscreteGrad.Diagnostics;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static DiscreteGrad.Tests.ScoreFunction.ExactKit;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>
/// Variance reduction against plain REINFORCE, measured exactly (total variance E||g - E g||^2 by enumeration of the
/// samples) on fixed problems; the factors are printed (run with --logger "console;verbosity=detailed") and asserted.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class ScoreFunctionVarianceTests
{
    private readonly ITestOutputHelper _out;
    public ScoreFunctionVarianceTests(ITestOutputHelper output) => _out = output;

    // The fixed problem: N = 2 categorical nodes, K = 3, a smooth non-polynomial f with an offset of 4 (a typical
    // un-centred learning signal).
    private static readonly Tensor Theta = randn(new long[] { 2, 3 }, dtype: F64, generator: new Generator(7));
    private static readonly Func<Tensor, Tensor> F = Smooth(2, 3, 8, offset: 4.0);

    [Fact]
    public void Rloo_reduces_the_variance_of_reinforce_with_the_same_number_of_samples()
    {
        const int s = 3;                                                                  // 9^3 = 729 joint states
        var exact = Enumeration.Exact(Theta, F);
        var plain = Categorical(Theta, s, (leaf, z) => Reinforce.Categorical(leaf, F, sample: z).Surrogate.mean(new long[] { 0 }));
        var rloo = Categorical(Theta, s, (leaf, z) =>
            Reinforce.Categorical(leaf, F, new LeaveOneOutBaseline(), sample: z).Surrogate.mean(new long[] { 0 }));
        Assert.True(MaxAbsDiff(plain.Mean, exact.Gradient) < 1e-9 && MaxAbsDiff(rloo.Mean, exact.Gradient) < 1e-9);
        double factor = plain.Variance / rloo.Variance;
        _out.WriteLine($"S = {s}: Var[REINFORCE] = {plain.Variance:G6}, Var[RLOO] = {rloo.Variance:G6}, reduction x{factor:F2}");
        Assert.True(factor > 10, $"RLOO reduced the variance only by x{factor:F2}");
    }

    [Fact]
    public void MuProp_and_the_moving_average_reduce_the_variance_of_single_sample_reinforce()
    {
        var exact = Enumeration.Exact(Theta, F);
        var plain = Categorical(Theta, 1, (leaf, z) => Reinforce.Categorical(leaf, F, sample: z.squeeze(0)).Surrogate);
        var muprop = Categorical(Theta, 1, (leaf, z) => MuProp.Categorical(leaf, F, sample: z.squeeze(0)).Surrogate);
        // The moving average at its fixed point (b = E[f]), the best a constant-in-expectation running mean can do.
        var ema = Categorical(Theta, 1, (leaf, z) =>
            Reinforce.Categorical(leaf, F, new ConstantBaseline(exact.Value), sample: z.squeeze(0)).Surrogate);
        double fMu = plain.Variance / muprop.Variance, fEma = plain.Variance / ema.Variance;
        _out.WriteLine($"Var[REINFORCE] = {plain.Variance:G6}, Var[MuProp] = {muprop.Variance:G6} (x{fMu:F2}), "
            + $"Var[b = E f] = {ema.Variance:G6} (x{fEma:F2})");
        Assert.True(fMu > 10, $"MuProp reduced the variance only by x{fMu:F2}");
        Assert.True(fEma > 10, $"a centred baseline reduced the variance only by x{fEma:F2}");
    }

    [Fact]
    public void Nvil_reduces_the_variance_when_the_signal_depends_on_the_input()
    {
        // B = 8 inputs x in [-2, 2]; per-input logits; f(x, z) = 3 + 6 x + sin(z . a): most of f's spread is across inputs,
        // which a running mean cannot remove and c_psi(x) (linear, trained by NVIL's squared-error loss) can.
        const int b = 8, k = 3;
        var gen = new Generator(2024);
        var x = linspace(-2, 2, b, dtype: F64);
        var theta = randn(new long[] { b, k }, dtype: F64, generator: gen);
        var a = tensor(new[] { 1.5, -1.0, 0.5 }, dtype: F64);
        Tensor Fn(Tensor z) => 3 + 6 * x + sin((z * a).sum(-1));                           // z [.., B, K] -> [.., B]

        var net = nn.Linear(1, 1, dtype: F64);
        using (no_grad()) { net.weight!.zero_(); net.bias!.zero_(); }
        var opt = optim.Adam(net.parameters(), lr: 0.1);
        var nvil = new NvilBaseline(net, decay: 0.9);
        for (int step = 0; step < 300; step++)
        {
            using var _ = NewDisposeScope();
            var z = Samples.Categorical(theta, count: 4, generator: gen);                   // [4, B, K]
            var r = nvil.Surrogate(Fn(z), LogProb.Categorical(theta, z), x.unsqueeze(-1));
            opt.zero_grad();
            r.BaselineLoss.backward();
            opt.step();
        }

        // Exact variance per input over its K categories, summed over inputs, with the baselines frozen at this state.
        var states = eye(k, dtype: F64).unsqueeze(1).expand(k, b, k);                        // state j for every input
        var p = theta.softmax(-1).t();                                                      // [K, B]: p_i(j)
        double Variance(Func<Tensor, Tensor, Tensor> surrogate, double scale = 1.0)
        {
            var leaf = theta.unsqueeze(0).expand(k, b, k).clone().requires_grad_(true);
            var s = surrogate(Fn(states), LogProb.Categorical(leaf, states));
            var g = autograd.grad(new[] { s.sum() }, new[] { leaf })[0] * scale;             // [K(state), B, K]
            var mean = (p.unsqueeze(-1) * g).sum(dim: 0, keepdim: true);
            return (p.unsqueeze(-1) * (g - mean).pow(2)).sum().item<double>();
        }
        double m = nvil.Mean, w = net.weight!.item<double>();
        double vPlain = Variance((f, lp) => Reinforce.Surrogate(f, lp));
        double vMean = Variance((f, lp) => Reinforce.Surrogate(f, lp, tensor(m, dtype: F64)));
        double scale = nvil.Scale;
        double vNvil = Variance((f, lp) => nvil.Surrogate(f, lp, x.unsqueeze(-1)).Surrogate, scale);
        double fMean = vPlain / vMean, fNvil = vPlain / vNvil;
        _out.WriteLine($"after 300 steps: m = {m:F3}, c_psi(x) = {w:F3} x + {net.bias!.item<double>():F3}, scale = {scale:F3}; "
            + $"Var[REINFORCE] = {vPlain:G6}, Var[running mean] = {vMean:G6} (x{fMean:F2}), "
            + $"Var[NVIL] = {vNvil:G6} (x{fNvil:F2}, direction-preserving: NVIL's gradient times its scale)");
        Assert.InRange(w, 5.0, 7.0);                                                        // c_psi learnt the 6 x trend
        Assert.True(fNvil > 10, $"NVIL reduced the variance only by x{fNvil:F2}");
        Assert.True(fNvil > 5 * fMean, $"the input-dependent baseline should beat the running mean alone (x{fNvil:F2} vs x{fMean:F2})");
    }
}
