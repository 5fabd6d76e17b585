using DiscreteGrad.Diagnostics;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>
/// RELAX / REBAR for Bernoulli nodes: unbiased (b enumerated exactly, Monte Carlo over the continuous noise given b, with
/// a tolerance from the standard error), and the variance falls as the control variate is trained on the variance loss.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class RelaxTests(ITestOutputHelper output)
{
    private const ScalarType F64 = ScalarType.Float64;
    private static readonly double[] Phi = { 0.4, -1.1, 0.9 };
    private static readonly double[] W = { 1.5, -2.0, 0.7 };

    /// <summary>A non-linear f of 3 bits, defined on relaxed inputs too: f(b) = (w . b - 0.3)^2 + sin(3 b_0 b_1).</summary>
    private static Tensor F(Tensor b)
    {
        var w = tensor(W, dtype: b.dtype);
        return ((b * w).sum(-1) - 0.3).pow(2) + (3 * b.select(-1, 0) * b.select(-1, 1)).sin();
    }

    /// <summary>A small RELAX control variate: REBAR's plus a network of z.</summary>
    private sealed class RelaxNet : nn.Module<Tensor, Tensor>
    {
        private readonly RebarControlVariate _rebar;
        private readonly nn.Module<Tensor, Tensor> _net;

        public RelaxNet(Generator g) : base(nameof(RelaxNet))
        {
            _rebar = new RebarControlVariate(F, dtype: F64);
            _net = nn.Sequential(nn.Linear(3, 8, dtype: F64), nn.Tanh(), nn.Linear(8, 1, dtype: F64));
            using (torch.no_grad())
                foreach (var p in _net.parameters()) p.copy_(torch.randn(p.shape, dtype: F64, generator: g) * 0.1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor z) => _rebar.forward(z) + _net.forward(z).squeeze(-1);
    }

    private static Func<Tensor, Tensor> ControlVariate(string kind, Generator g) => kind switch
    {
        "rebar" => new RebarControlVariate(F, dtype: F64).forward,
        _ => new RelaxNet(g).forward,
    };

    [Theory]
    [InlineData("rebar")]
    [InlineData("relax")]
    public void Unbiased_by_enumerating_b_with_the_continuous_noise_sampled_given_b(string kind)
    {
        var g = new Generator(21);
        var c = ControlVariate(kind, g);
        var phi = tensor(Phi, dtype: F64);
        var exact = ExactKit.BernoulliExactGradient(phi, F);
        var q = torch.sigmoid(phi);
        var states = ExactKit.BernoulliStates(3);                           // [8, 3]
        const int s = 20000;
        var mean = torch.zeros(3, dtype: F64);
        var variance = torch.zeros(3, dtype: F64);
        for (long m = 0; m < states.shape[0]; m++)
        {
            var b = states[m];
            double pb = (b * q + (1 - b) * (1 - q)).prod().item<double>();
            // u given b: uniform on (1 - q, 1) where b = 1, on (0, 1 - q) where b = 0.
            var w = torch.rand(new long[] { s, 3 }, dtype: F64, generator: g);
            var u = b * (1 - q + q * w) + (1 - b) * (1 - q) * w;
            var v = torch.rand(new long[] { s, 3 }, dtype: F64, generator: g);
            var r = Relax.Bernoulli(phi, F, c, uniform: u, conditionalUniform: v);
            Assert.Equal(TorchAssert.ToArray(b.expand(s, 3)), TorchAssert.ToArray(r.Sample));
            var gm = r.Gradients.detach();
            mean += pb * gm.mean(new long[] { 0 });
            variance += pb * pb * gm.var(new long[] { 0 }) / s;
        }
        var err = (mean - exact).abs();
        var se = variance.sqrt();
        output.WriteLine($"{kind}: max |E[g] - exact| = {err.max().item<double>():G3}, max SE = {se.max().item<double>():G3}");
        Assert.True((err <= 4 * se + 1e-12).all().item<bool>(), $"error {err.str()} vs SE {se.str()}");
    }

    [Theory]
    [InlineData("rebar")]
    [InlineData("relax")]
    public void Variance_falls_as_the_control_variate_trains(string kind)
    {
        var g = new Generator(22);
        nn.Module<Tensor, Tensor> module = kind == "rebar" ? new RebarControlVariate(F, dtype: F64) : new RelaxNet(g);
        var phi = tensor(Phi, dtype: F64);
        AssertVarianceFalls(kind, module, (samples, gen) => Relax.Bernoulli(phi, F, module.forward, samples, gen), g);
    }

    /// <summary>
    /// Trains the control variate's parameters for 300 Adam steps on the variance loss (64 samples a step) and asserts that
    /// the total variance, measured on the same 20000 draws (a fixed generator) before and after, falls by 10% at least.
    /// </summary>
    private void AssertVarianceFalls(string what, nn.Module module, Func<long, Generator, RelaxEstimate> estimate, Generator g)
    {
        double Variance()
        {
            var gr = estimate(20000, new Generator(99)).Gradients.detach().flatten(1);
            return (gr - gr.mean(new long[] { 0 })).pow(2).sum(-1).mean().item<double>();
        }
        double before = Variance();
        var opt = optim.Adam(module.parameters(), lr: 0.01);
        for (int step = 0; step < 300; step++)
        {
            opt.zero_grad();
            estimate(64, g).VarianceLoss.backward();
            opt.step();
        }
        double after = Variance();
        output.WriteLine($"{what}: total variance {before:G4} before, {after:G4} after 300 steps (factor {before / after:G3})");
        Assert.True(after < 0.9 * before, $"variance {before} -> {after}");
    }

        /// <summary>A non-linear f of two ternary one-hot nodes [S, 2, 3] (relaxed inputs too), giving [S].</summary>
    private static Tensor G(Tensor d)
    {
        var w = tensor(new[] { 1.2, -0.7, 0.4, -1.5, 0.9, 0.2 }, dtype: d.dtype).view(2, 3);
        var a = (d.select(-2, 0) * w[0]).sum(-1);
        var c = (d.select(-2, 1) * w[1]).sum(-1);
        return (a * c - 0.2).pow(2) + (2 * a).sin();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Categorical_is_unbiased_by_enumerating_b_with_the_gumbel_noise_sampled_given_b(bool withNetwork)
    {
        var g = new Generator(23);
        var theta = tensor(new[] { 0.3, -0.8, 1.0, -0.2, 0.6, 0.1 }, dtype: F64).view(2, 3);
        var rebar = new RebarControlVariate(G, dtype: F64, categorical: true);
        var net = nn.Sequential(nn.Flatten(1), nn.Linear(6, 1, dtype: F64));
        Func<Tensor, Tensor> c = withNetwork ? z => rebar.forward(z) + net.forward(z).squeeze(-1) : rebar.forward;
        var exact = Enumeration.Exact(theta, G).Gradient;
        var states = Enumeration.JointStates(2, 3, F64);      // [9, 2, 3]
        var p = Enumeration.LogProbabilities(theta, states).exp();
        var logP = theta.log_softmax(-1);
        const int s = 20000;
        var mean = torch.zeros(2, 3, dtype: F64);
        var variance = torch.zeros(2, 3, dtype: F64);
        for (long m = 0; m < states.shape[0]; m++)
        {
            // Gumbel noise given b by rejection: per node, draws g whose argmax of log p + g is b's category.
            var rows = new List<Tensor>();
            for (long i = 0; i < 2; i++)
            {
                var k = states[m][i].argmax().item<long>();
                var draws = DiscreteGrad.Sampling.Gumbel.Sample(new long[] { 40 * s, 3 }, 1.0, g, F64);
                var keep = (logP[i] + draws).argmax(-1).eq(k).nonzero().squeeze(-1);
                Assert.True(keep.shape[0] >= s, "not enough accepted draws");
                rows.Add(draws.index_select(0, keep.narrow(0, 0, s)));
            }
            var noise = torch.stack(rows, 1);                                // [S, 2, 3]
            var v = torch.rand(new long[] { s, 2, 3 }, dtype: F64, generator: g);
            var r = Relax.Categorical(theta, G, c, noise: noise, conditionalUniform: v);
            Assert.Equal(TorchAssert.ToArray(states[m].expand(s, 2, 3)), TorchAssert.ToArray(r.Sample));
            var gm = r.Gradients.detach();
            double pb = p[m].item<double>();
            mean += pb * gm.mean(new long[] { 0 });
            variance += pb * pb * gm.var(new long[] { 0 }) / s;
        }
        var err = (mean - exact).abs();
        var se = variance.sqrt();
        output.WriteLine($"categorical (net: {withNetwork}): max |E[g] - exact| = {err.max().item<double>():G3}, max SE = {se.max().item<double>():G3}");
        Assert.True((err <= 4 * se + 1e-12).all().item<bool>(), $"error {err.str()} vs SE {se.str()}");
    }

    /// <summary>
    /// A category whose probability is far below float32's 1e-19 (here about 1e-35; its square underflows) keeps the
    /// estimate finite, and the float32 estimate agrees with the float64 one on the same pinned noise. The direct form of
    /// the conditional draw, -log(-log(v_i) / p_i - log v_b), gave an infinite derivative there and the estimate NaN.
    /// </summary>
    [Fact]
    public void Categorical_stays_finite_and_accurate_in_float32_with_a_vanishing_probability()
    {
        var g = new Generator(31);
        var theta64 = tensor(new[] { 0.0, -50.0, 30.0, 1.0, -2.0, 0.5 }, dtype: F64).view(2, 3);
        const long s = 64;
        var noise = DiscreteGrad.Sampling.Gumbel.Sample(new long[] { s, 2, 3 }, 1.0, g, F64);
        var v = torch.rand(new long[] { s, 2, 3 }, dtype: F64, generator: g);
        RelaxEstimate Run(ScalarType dtype)
        {
            var rebar = new RebarControlVariate(G, eta: 0.9, lambda: 0.5, dtype: dtype, categorical: true);
            return Relax.Categorical(theta64.to(dtype), G, rebar.forward, noise: noise.to(dtype), conditionalUniform: v.to(dtype));
        }
        var r64 = Run(F64);
        var r32 = Run(ScalarType.Float32);
        Assert.Equal(TorchAssert.ToArray(r64.Sample), TorchAssert.ToArray(r32.Sample.to(F64)));
        Assert.True(r32.Gradients.isfinite().all().item<bool>(), "float32 estimate not finite");
        Assert.True(r32.VarianceLoss.isfinite().item<bool>(), "float32 variance loss not finite");
        var diff = (r32.Gradients.detach().to(F64) - r64.Gradients.detach()).abs().max().item<double>();
        var scale = r64.Gradients.detach().abs().max().item<double>();
        output.WriteLine($"float32 vs float64: max |diff| {diff:G3}, max |g| {scale:G3}");
        Assert.True(diff <= 1e-4 * scale, $"float32 differs from float64 by {diff} (scale {scale})");
    }

    [Fact]
    public void Categorical_variance_falls_as_rebar_trains()
    {
        var g = new Generator(24);
        var module = new RebarControlVariate(G, dtype: F64, categorical: true);
        var theta = tensor(new[] { 0.3, -0.8, 1.0, -0.2, 0.6, 0.1 }, dtype: F64).view(2, 3);
        AssertVarianceFalls("categorical rebar", module, (samples, gen) => Relax.Categorical(theta, G, module.forward, samples, gen), g);
    }

    /// <summary>
    /// Values [S, B] for logits [B, ...] make B independent problems: each row's estimate equals, to rounding, the
    /// unbatched estimate of that row with the same pinned noise (its signal f - c(z~) multiplies only its own score),
    /// for Bernoulli and categorical nodes; a control variate created without f takes it per call.
    /// </summary>
    [Fact]
    public void A_batch_of_problems_gives_each_row_its_own_estimate()
    {
        var g = new Generator(21);
        const long s = 4, b = 3;
        var w = torch.randn(new long[] { b, 3 }, dtype: F64, generator: g);
        Func<Tensor, Tensor> fb = z => ((z * w).sum(-1) - 0.3).pow(2);                 // [S, B, 3] to [S, B]
        var phi = torch.randn(new long[] { b, 3 }, dtype: F64, generator: g);
        var u = torch.rand(new long[] { s, b, 3 }, dtype: F64, generator: g);
        var v = torch.rand(new long[] { s, b, 3 }, dtype: F64, generator: g);
        using var shared = new RebarControlVariate(eta: 0.8, lambda: 0.6, dtype: F64);
        var batched = Relax.Bernoulli(phi, fb, z => shared.forward(z, fb), uniform: u, conditionalUniform: v);
        Assert.Equal(new[] { s, b }, batched.Values.shape);
        var theta = torch.randn(new long[] { b, 2, 3 }, dtype: F64, generator: g);
        var wc = torch.randn(new long[] { b, 2, 3 }, dtype: F64, generator: g);
        Func<Tensor, Tensor> gc = z => ((z * wc).sum(new long[] { -2, -1 }) - 0.2).pow(2);   // [S, B, 2, 3] to [S, B]
        var noise = DiscreteGrad.Sampling.Gumbel.Sample(new long[] { s, b, 2, 3 }, 1.0, g, F64);
        var vc = torch.rand(new long[] { s, b, 2, 3 }, dtype: F64, generator: g);
        using var sharedC = new RebarControlVariate(eta: 1.1, lambda: 0.4, dtype: F64, categorical: true);
        var batchedC = Relax.Categorical(theta, gc, z => sharedC.forward(z, gc), noise: noise, conditionalUniform: vc);
        for (int row = 0; row < b; row++)
        {
            var wr = w[row];
            Func<Tensor, Tensor> fr = z => ((z * wr).sum(-1) - 0.3).pow(2);
            var alone = Relax.Bernoulli(phi[row], fr, z => shared.forward(z, fr), uniform: u.select(1, row), conditionalUniform: v.select(1, row));
            TorchAssert.Close(TorchAssert.ToArray(alone.Gradients), batched.Gradients.select(1, row), 1e-12, $"Bernoulli row {row}");
            var wcr = wc[row];
            Func<Tensor, Tensor> gr = z => ((z * wcr).sum(new long[] { -2, -1 }) - 0.2).pow(2);
            var aloneC = Relax.Categorical(theta[row], gr, z => sharedC.forward(z, gr), noise: noise.select(1, row), conditionalUniform: vc.select(1, row));
            TorchAssert.Close(TorchAssert.ToArray(aloneC.Gradients), batchedC.Gradients.select(1, row), 1e-12, $"categorical row {row}");
        }
        // The per-call f equals the f given at construction; without either, forward says how to call it.
        var z0 = torch.randn(new long[] { s, 3 }, dtype: F64, generator: g);
        using var fixedF = new RebarControlVariate(F, eta: 0.8, lambda: 0.6, dtype: F64);
        Assert.Equal(TorchAssert.ToArray(fixedF.forward(z0)), TorchAssert.ToArray(shared.forward(z0, F)));
        Assert.Contains("forward(z, f)", Assert.Throws<InvalidOperationException>(() => shared.forward(z0)).Message);
        // Values that are not [S] or [S, leading axes of the logits] are refused naming f.
        Assert.Equal("f", Assert.ThrowsAny<ArgumentException>(() => Relax.Bernoulli(phi, z => z.sum(-1).narrow(1, 0, 2), z => shared.forward(z, fb), uniform: u)).ParamName);
    }

    [Fact]
    public void Bad_arguments_are_refused_naming_them()
    {
        var phi = tensor(Phi, dtype: F64);
        var c = new RebarControlVariate(F, dtype: F64);
        Assert.Equal("samples", Assert.ThrowsAny<ArgumentException>(() => Relax.Bernoulli(phi, F, c.forward, samples: 0)).ParamName);
        Assert.Equal("uniform", Assert.ThrowsAny<ArgumentException>(() => Relax.Bernoulli(phi, F, c.forward, uniform: torch.full(new long[] { 2, 3 }, 1.5, dtype: F64))).ParamName);
        Assert.Equal("conditionalUniform", Assert.ThrowsAny<ArgumentException>(() => Relax.Bernoulli(phi, F, c.forward, conditionalUniform: torch.rand(new long[] { 2, 3 }, dtype: F64, generator: new Generator(1)))).ParamName);
        Assert.Equal("f", Assert.ThrowsAny<ArgumentException>(() => Relax.Bernoulli(phi, b => b.sum(), c.forward, generator: new Generator(1))).ParamName);
        var theta = torch.zeros(2, 3, dtype: F64);
        Assert.Equal("noise", Assert.ThrowsAny<ArgumentException>(() => Relax.Categorical(theta, G, c.forward, noise: torch.zeros(new long[] { 2, 3 }, dtype: F64))).ParamName);
        Assert.Equal("conditionalUniform", Assert.ThrowsAny<ArgumentException>(() => Relax.Categorical(theta, G, c.forward, conditionalUniform: torch.rand(new long[] { 1, 2, 3 }, dtype: F64, generator: new Generator(1)))).ParamName);
        Assert.Equal("lambda", Assert.ThrowsAny<ArgumentException>(() => new RebarControlVariate(F, lambda: 0)).ParamName);
    }
}
