using DiscreteGrad.Diagnostics;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using static TorchSharp.torch;
using static DiscreteGrad.Tests.ScoreFunction.ExactKit;
using Est = DiscreteGrad.Estimators;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>Hand-computed single estimates, baseline state updates, and composition with pathwise parts of the graph.</summary>
[Collection(GlobalGenerator.Name)]
public class ScoreFunctionHandTests
{
    [Fact]
    public void Reinforce_surrogate_has_value_f_and_gradient_signal_times_score()
    {
        // theta = (0.2, -0.5, 1.0), D = e_1, f = 3, b = 1: d/dtheta = (f - b)(D - softmax(theta)).
        double[] th = { 0.2, -0.5, 1.0 };
        var theta = tensor(th, dtype: F64).requires_grad_(true);
        var d = tensor(new[] { 0.0, 1.0, 0.0 }, dtype: F64);
        var f = tensor(3.0, dtype: F64);
        var s = Reinforce.Surrogate(f, LogProb.Categorical(theta, d), tensor(1.0, dtype: F64));
        Assert.Equal(3.0, s.item<double>(), 15);
        s.backward();
        var p = Hand.Softmax(th);
        TorchAssert.Close(p.Select((pi, i) => 2.0 * ((i == 1 ? 1 : 0) - pi)).ToArray(), theta.grad!, 1e-12, "grad");
    }

    [Fact]
    public void Moving_average_is_bias_corrected_and_uses_the_pre_step_value()
    {
        var ema = new MovingAverageBaseline(decay: 0.9, initialValue: 0.5);
        var b0 = ema.Compute(tensor(new[] { 0.0, 2.0 }, dtype: F64));    // mean 1
        Assert.Equal(0.5, b0.item<double>());
        var b1 = ema.Compute(tensor(new[] { 3.0 }, dtype: F64));         // mean 3
        Assert.Equal(1.0, b1.item<double>(), 12);                          // 0.1 * 1 / (1 - 0.9)
        // m_2 = 0.9 * 0.1 + 0.1 * 3 = 0.39; corrected 0.39 / (1 - 0.81).
        Assert.Equal(0.39 / 0.19, ema.Value, 12);
        Assert.Equal(2, ema.Steps);
        ema.Reset();
        Assert.Equal(0.5, ema.Value);
    }

    [Fact]
    public void Leave_one_out_baseline_by_hand()
    {
        var f = tensor(new double[,] { { 1, 10 }, { 2, 20 }, { 6, 30 } });       // [S = 3, B = 2]
        var b = new LeaveOneOutBaseline().Compute(f);
        TorchAssert.Close(new[] { 4.0, 25, 3.5, 20, 1.5, 15 }, b, 1e-12, "b");
    }

    [Fact]
    public void Nvil_centres_and_normalises_by_hand()
    {
        // decay 1/2, no network. Step 1: m = 0, scale 1. Then m = 3 (corrected), v = mean((f - 3)^2) = 1.
        var nvil = new NvilBaseline(decay: 0.5);
        var lp = zeros(2, dtype: F64);
        var r1 = nvil.Surrogate(tensor(new[] { 2.0, 4.0 }, dtype: F64), lp);
        TorchAssert.Close(new[] { 2.0, 4.0 }, r1.Signal, 1e-12, "signal 1");
        Assert.Equal(3.0, nvil.Mean, 12);
        Assert.Equal(1.0, nvil.Variance, 12);
        // Step 2 with f = (0, 10): signal = f - 3 (scale max(1, 1) = 1); then m = (0.75 + 2.5) / 0.75, and v from the
        // residual about the new m.
        var r2 = nvil.Surrogate(tensor(new[] { 0.0, 10.0 }, dtype: F64), lp);
        TorchAssert.Close(new[] { -3.0, 7.0 }, r2.Signal, 1e-12, "signal 2");
        double m2 = 3.25 / 0.75;
        double r2sq = (Math.Pow(0 - m2, 2) + Math.Pow(10 - m2, 2)) / 2;
        double v2 = (0.5 * 0.5 * 1 + 0.5 * r2sq) / 0.75;
        Assert.Equal(m2, nvil.Mean, 12);
        Assert.Equal(v2, nvil.Variance, 12);
        // Step 3: the signal is divided by sqrt(v2) > 1.
        var r3 = nvil.Surrogate(tensor(new[] { 1.0, 3.0 }, dtype: F64), lp);
        Assert.Equal(Math.Sqrt(v2), r3.Scale, 12);
        TorchAssert.Close(new[] { (1 - m2) / Math.Sqrt(v2), (3 - m2) / Math.Sqrt(v2) }, r3.Signal, 1e-12, "signal 3");
        Assert.Equal(0.0, r3.BaselineLoss.item<double>());
    }

    [Fact]
    public void Nvil_baseline_loss_trains_only_the_network()
    {
        var net = nn.Linear(1, 1, dtype: F64);
        using (no_grad()) { net.weight!.fill_(2.0); net.bias!.fill_(0.5); }
        var theta = tensor(new[] { 0.3, -0.3 }, dtype: F64).requires_grad_(true);
        var nvil = new NvilBaseline(net, decay: 0.9);
        var x = tensor(new[] { 1.5 }, dtype: F64).reshape(1, 1).requires_grad_(true);
        var f = tensor(new[] { 7.0 }, dtype: F64);
        var r = nvil.Surrogate(f, LogProb.Categorical(theta, tensor(new[] { 1.0, 0.0 }, dtype: F64)).reshape(1), x);
        // m = 0 on the first step: residual = 7 - (2 * 1.5 + 0.5) = 3.5; loss = 3.5^2.
        Assert.Equal(3.5, r.Signal.item<double>(), 12);
        Assert.Equal(12.25, r.BaselineLoss.item<double>(), 12);
        r.BaselineLoss.backward();
        Assert.Equal(-2 * 3.5 * 1.5, net.weight!.grad!.item<double>(), 12);
        Assert.Null(theta.grad);
        Assert.Null(x.grad);                                                              // x is detached
    }

    [Fact]
    public void Vimco_learning_signals_by_hand()
    {
        double[] lw = { 0.3, -1.2, 0.5 };
        var signals = Vimco.LearningSignals(tensor(lw, dtype: F64));
        double l = Hand.LogSumExp(lw) - Math.Log(3);
        var expected = lw.Select((_, j) =>
        {
            var others = lw.Where((_, i) => i != j).ToArray();
            var replaced = others.Append(others.Average()).ToArray();                    // w_j -> geometric mean of the others
            return l - (Hand.LogSumExp(replaced) - Math.Log(3));
        }).ToArray();
        TorchAssert.Close(expected, signals, 1e-12, "signals");
        // K = 2: L_{-1} = log w_2, so the signal of sample 1 is L - log w_2.
        var two = Vimco.LearningSignals(tensor(new[] { 0.3, -1.2 }, dtype: F64));
        double l2 = Hand.LogSumExp(new[] { 0.3, -1.2 }) - Math.Log(2);
        TorchAssert.Close(new[] { l2 + 1.2, l2 - 0.3 }, two, 1e-12, "K = 2");
    }

    [Fact]
    public void Arm_and_DisArm_single_estimates_by_hand()
    {
        // phi = 0.8 (sigma = 0.68997, sigma(-phi) = 0.31003), f(z) = (z + 1)^2: f(0) = 1, f(1) = 4.
        var phi = tensor(new[] { 0.8 }, dtype: F64);
        Func<Tensor, Tensor> f = z => (z.squeeze(-1) + 1).pow(2);
        double s = 1 / (1 + Math.Exp(-0.8));
        // u = 0.1: b = 1[0.1 < 0.69] = 1, b~ = 1[0.1 > 0.31] = 0. ARM: (f(0) - f(1))(0.1 - 0.5) = 1.2.
        var arm = Arm.Bernoulli(phi, f, uniform: tensor(new[] { 0.1 }, dtype: F64));
        Assert.Equal(1.0, arm.Sample.item<double>());
        Assert.Equal(0.0, arm.Antithetic.item<double>());
        Assert.Equal(1.2, arm.LogitGradient.item<double>(), 12);
        Assert.Equal(2.5, arm.Surrogate.item<double>(), 12);                                 // (f(b) + f(b~)) / 2
        // DisARM at the same u: 1/2 (-1)^0 * 1 * sigma(0.8) * (4 - 1).
        var dis = DisArm.Bernoulli(phi, f, uniform: tensor(new[] { 0.1 }, dtype: F64));
        Assert.Equal(1.5 * s, dis.LogitGradient.item<double>(), 12);
        // u = 0.5: b = b~ = 1, DisARM gives 0; ARM gives 0 too (u - 1/2 = 0).
        Assert.Equal(0.0, DisArm.Bernoulli(phi, f, uniform: tensor(new[] { 0.5 }, dtype: F64)).LogitGradient.item<double>());
    }

    [Fact]
    public void Categorical_DisArm_stick_breaking_by_hand()
    {
        // theta = log(0.2, 0.3, 0.5): sigmoid(eta) = (0.2 / 1, 0.3 / 0.8) = (0.2, 0.375).
        var theta = tensor(new[] { Math.Log(0.2), Math.Log(0.3), Math.Log(0.5) }, dtype: F64);
        var eta = DisArm.StickBreakingLogits(theta);
        TorchAssert.Close(new[] { 0.2, 0.375 }, sigmoid(eta), 1e-12, "sigmoid(eta)");
        // u = (0.9, 0.1): b = (0.9 < 0.2, 0.1 < 0.375) = (0, 1) -> z = e_2; b~ = (0.1 < 0.2, 0.9 < 0.375) = (1, 0) -> z~ = e_1.
        double[] fv = { 1.0, 5.0, -2.0 };
        Func<Tensor, Tensor> f = z => (z * tensor(fv, dtype: F64)).sum(-1);
        var r = DisArm.Categorical(theta, f, uniform: tensor(new[] { 0.9, 0.1 }, dtype: F64));
        TorchAssert.Close(new[] { 0.0, 1.0, 0.0 }, r.Sample, 0, "z");
        TorchAssert.Close(new[] { 1.0, 0.0, 0.0 }, r.Antithetic, 0, "z~");
        // g_k = 1/2 (-1)^{b~_k} 1[b_k != b~_k] sigmoid(|eta_k|) (f(z) - f(z~)) with f(z) - f(z~) = 4.
        double s0 = 1 - 0.2, s1 = 1 - 0.375;                                                  // sigmoid(|eta|) (both eta < 0)
        TorchAssert.Close(new[] { 0.5 * -1 * s0 * 4, 0.5 * 1 * s1 * 4 }, r.LogitGradient, 1e-12, "g_eta");
        Assert.Equal(3.0, r.Surrogate.item<double>(), 12);
        // All-zero b picks the last category.
        var last = DisArm.Categorical(theta, f, uniform: tensor(new[] { 0.99, 0.99 }, dtype: F64));
        TorchAssert.Close(new[] { 0.0, 0.0, 1.0 }, last.Sample, 0, "z (none)");
    }

    [Fact]
    public void Score_function_gradients_compose_with_upstream_and_downstream_parameters()
    {
        // logits = A x (A upstream), f(z; w) = (z . w)^2 + sin(z . w) (w downstream, pathwise). The expectation of the
        // surrogate's gradient with respect to A and w equals the exact gradient of E[f] (REINFORCE and MuProp).
        var a0 = tensor(new double[,] { { 0.5, -0.2 }, { 0.1, 0.4 }, { -0.3, 0.2 } });
        var w0 = tensor(new[] { 0.7, -1.1, 0.4 });
        var x = tensor(new[] { 0.5, -1.0 });
        var states = eye(3, dtype: F64).unsqueeze(1);                                       // [3 states, N = 1, K = 3]
        Func<Tensor, Tensor> F(Tensor w) => z => { var t = (z * w).sum(new long[] { -1, -2 }); return t.pow(2) + sin(t); };

        Tensor[] Grad(Func<Tensor, Tensor, Tensor> objective)
        {
            var a = a0.clone().requires_grad_(true);
            var w = w0.clone().requires_grad_(true);
            return autograd.grad(new[] { objective(a, w) }, new[] { a, w }).ToArray();
        }
        Tensor Logits(Tensor a) => a.matmul(x).reshape(1, 1, 3).expand(3, 1, 3);            // the same logits for each state
        Tensor P(Tensor a) => a.matmul(x).softmax(-1);
        var exact = Grad((a, w) => (P(a) * F(w)(states)).sum());
        foreach (var muprop in new[] { false, true })
        {
            var est = Grad((a, w) =>
            {
                var r = muprop ? MuProp.Categorical(Logits(a), F(w), sample: states)
                               : Reinforce.Categorical(Logits(a), F(w), new ConstantBaseline(0.7), sample: states);
                return (P(a).detach() * r.Surrogate).sum();                                 // sum_z p(z) g(z) = E[g]
            });
            for (int i = 0; i < 2; i++)
                Assert.True(MaxAbsDiff(exact[i], est[i]) < 1e-12, $"{(muprop ? "MuProp" : "REINFORCE")} gradient {i} differs by {MaxAbsDiff(exact[i], est[i])}");
        }
    }

    [Fact]
    public void Reinforce_and_reinmax_nodes_in_one_graph_give_the_exact_gradient_for_quadratic_f()
    {
        // Node 0 through REINFORCE (any f), node 1 through ReinMax at tau = 1 (exact for f quadratic in that node): the
        // expectation of the joint gradient over both samples is the exact gradient of E[f].
        var gen = new Generator(99);
        var c = randn(new long[] { 6 }, dtype: F64, generator: gen);
        var q = randn(new long[] { 6, 6 }, dtype: F64, generator: gen);
        Func<Tensor, Tensor> f = z => { var v = z.reshape(z.shape[0], 6); return v.matmul(c) + (v.matmul(q) * v).sum(1); };
        var logits = randn(new long[] { 2, 3 }, dtype: F64, generator: gen);
        var exact = Enumeration.Exact(logits, f);

        var states = Enumeration.JointStates(2, 3, F64);                                   // [9, 2, 3]
        var leaf = logits.unsqueeze(0).expand(9, 2, 3).clone().requires_grad_(true);
        var reinmax = Est.Categorical.Sample(leaf.select(1, 1), Est.EstimatorKind.ReinMax, new Est.EstimatorOptions(Tau: 1.0),
            sample: states.select(1, 1)).Value;
        var z = stack(new[] { states.select(1, 0), reinmax }, 1);
        var s = Reinforce.Surrogate(f(z), LogProb.Categorical(leaf.select(1, 0), states.select(1, 0)), tensor(2.0, dtype: F64));
        var grads = autograd.grad(new[] { s.sum() }, new[] { leaf })[0];
        var mean = Weighted(Enumeration.LogProbabilities(logits, states).exp(), grads).Mean;
        Assert.True(MaxAbsDiff(exact.Gradient, mean) < 1e-9, $"joint gradient differs by {MaxAbsDiff(exact.Gradient, mean)}");
    }

    [Fact]
    public void Sampling_helpers_shapes_and_frequencies()
    {
        var gen = new Generator(5);
        var logits = tensor(new[] { 0.0, 1.0, -1.0 }, dtype: F64);
        var d = Samples.Categorical(logits, count: 20000, generator: gen);
        Assert.Equal(new long[] { 20000, 3 }, d.shape);
        var freq = d.mean(new long[] { 0 });
        var p = Hand.Softmax(new[] { 0.0, 1.0, -1.0 });
        for (int i = 0; i < 3; i++)
            Assert.True(Math.Abs(freq[i].item<double>() - p[i]) < 5 * Math.Sqrt(p[i] * (1 - p[i]) / 20000), $"category {i}");
        var zb = Samples.Bernoulli(tensor(new[] { 1.0 }, dtype: F64), count: 20000, generator: gen);
        double s = 1 / (1 + Math.Exp(-1.0));
        Assert.True(Math.Abs(zb.mean().item<double>() - s) < 5 * Math.Sqrt(s * (1 - s) / 20000));
        Assert.Equal(ScalarType.Float64, zb.dtype);
    }
}
