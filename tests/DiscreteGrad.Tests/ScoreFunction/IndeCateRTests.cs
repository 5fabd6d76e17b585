using DiscreteGrad.Diagnostics;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>
/// IndeCateR: exactly unbiased (every joint sample enumerated), the forward value and evaluation count, and a variance
/// below RLOO's at the same number of evaluations of f on a fixed problem.
/// </summary>
public class IndeCateRTests(ITestOutputHelper output)
{
    private const ScalarType F64 = ScalarType.Float64;

    /// <summary>A fixed non-linear f of N = 3 ternary nodes: f(D) = sin(w . D) + (u . D)^2, [M, N, K] to [M].</summary>
    private static Func<Tensor, Tensor> Problem(long n, long k, Generator g)
    {
        var w = torch.randn(new long[] { n, k }, dtype: F64, generator: g);
        var u = torch.randn(new long[] { n, k }, dtype: F64, generator: g);
        return d => (d * w).sum(new long[] { 1, 2 }).sin() + (d * u).sum(new long[] { 1, 2 }).pow(2);
    }

    private static Tensor Gradient(Tensor logits, Func<Tensor, Tensor> f, Tensor sample)
    {
        var leaf = logits.detach().clone().requires_grad_(true);
        var r = IndeCateR.Categorical(leaf, f, sample: sample);
        return torch.autograd.grad(new[] { r.Surrogate.mean() }, new[] { leaf })[0];
    }

    [Theory]
    [InlineData(3, 3, 1)]
    [InlineData(2, 4, 2)]
    [InlineData(4, 2, 3)]
    public void Expectation_over_every_joint_sample_is_the_exact_gradient(int n, int k, int seed)
    {
        var g = new Generator((ulong)seed);
        var logits = torch.randn(new long[] { n, k }, dtype: F64, generator: g);
        var f = Problem(n, k, g);
        var states = Enumeration.JointStates(n, k, F64);
        var p = Enumeration.LogProbabilities(logits, states).exp();
        // All states as the S samples: the mean over S weighted by p(D) * S is sum_D p(D) g(D).
        var leaf = logits.detach().clone().requires_grad_(true);
        var r = IndeCateR.Categorical(leaf, f, sample: states);
        var expected = torch.autograd.grad(new[] { (p * r.Surrogate).sum() }, new[] { leaf })[0];
        var exact = Enumeration.Exact(logits, f).Gradient;
        TorchAssert.Close(TorchAssert.ToArray(exact), expected, 1e-12, "E[IndeCateR]");
        TorchAssert.Close(TorchAssert.ToArray(f(states)), r.Values, 1e-15, "f(D)");     // forward value: f at the sample
        TorchAssert.Close(TorchAssert.ToArray(f(states)), r.Surrogate, 1e-15, "surrogate value");
    }

    /// <summary>
    /// A batch [B, N, K] is B independent problems: with f acting on each batch element alone, the batched surrogate's
    /// gradient equals, row for row, the unbatched one with the same pinned samples, and its expectation over every
    /// joint sample of each row is that row's exact gradient.
    /// </summary>
    [Fact]
    public void A_batch_of_problems_gives_each_row_its_own_estimate()
    {
        var g = new Generator(8);
        const long b = 3, n = 2, k = 3;
        var logits = torch.randn(new long[] { b, n, k }, dtype: F64, generator: g);
        var w = torch.randn(new long[] { b, n, k }, dtype: F64, generator: g);
        // f per batch element: sin of its own weighted code, squared; [M, B, N, K] to [M, B].
        Func<Tensor, Tensor> batched = d => (d * w).sum(new long[] { -2, -1 }).sin().pow(2);
        var states = Enumeration.JointStates(n, k, F64);                                  // [S, N, K], every joint sample
        long s = states.shape[0];
        var pinned = states.unsqueeze(1).expand(s, b, n, k).contiguous();
        var leaf = logits.detach().clone().requires_grad_(true);
        var r = IndeCateR.Categorical(leaf, batched, sample: pinned);
        Assert.Equal(new[] { s, b }, r.Surrogate.shape);
        Assert.Equal(new[] { s, b, n, k }, r.Signal.shape);
        for (int row = 0; row < b; row++)
        {
            var wr = w[row];
            Func<Tensor, Tensor> single = d => (d * wr).sum(new long[] { -2, -1 }).sin().pow(2);
            var p = Enumeration.LogProbabilities(logits[row], states).exp();
            var perRow = torch.autograd.grad(new[] { (p * r.Surrogate.select(1, row)).sum() }, new[] { leaf }, retain_graph: true)[0][row];
            var alone = Gradient(logits[row], single, states);                              // mean over the S samples, unbatched
            var rowLeaf = logits[row].detach().clone().requires_grad_(true);
            var aloneWeighted = torch.autograd.grad(new[] { (p * IndeCateR.Categorical(rowLeaf, single, sample: states).Surrogate).sum() }, new[] { rowLeaf })[0];
            TorchAssert.Close(TorchAssert.ToArray(aloneWeighted), perRow, 1e-14, $"row {row} against the unbatched estimate");
            TorchAssert.Close(TorchAssert.ToArray(Enumeration.Exact(logits[row], single).Gradient), perRow, 1e-12, $"row {row}: E[IndeCateR]");
            Assert.True(alone.abs().sum().item<double>() > 0);
        }
    }

    [Fact]
    public void Evaluates_f_once_on_n_times_k_states_per_sample()
    {
        var g = new Generator(4);
        var logits = torch.randn(new long[] { 3, 4 }, dtype: F64, generator: g);
        var f = Problem(3, 4, g);
        long calls = 0, states = 0;
        var r = IndeCateR.Categorical(logits, d => { calls++; states += d.shape[0]; return f(d); }, samples: 5, generator: g);
        Assert.Equal(1, calls);
        Assert.Equal(5 * 3 * 4, states);
        Assert.Equal(new long[] { 5 }, r.Surrogate.shape);
    }

    [Fact]
    public void Variance_is_below_rloo_at_the_same_number_of_evaluations()
    {
        const int n = 3, k = 3, reps = 2000;
        var g = new Generator(5);
        var logits = torch.randn(new long[] { n, k }, dtype: F64, generator: g);
        var f = Problem(n, k, g);
        var exact = Enumeration.Exact(logits, f).Gradient;

        // IndeCateR with one sample (N K = 9 evaluations): exact variance over the 27 joint samples.
        var states = Enumeration.JointStates(n, k, F64);
        var p = Enumeration.LogProbabilities(logits, states).exp();
        double varIndecater = 0;
        for (long m = 0; m < states.shape[0]; m++)
            varIndecater += p[m].item<double>() * (Gradient(logits, f, states[m].unsqueeze(0)) - exact).pow(2).sum().item<double>();

        // RLOO with 9 samples (9 evaluations): Monte Carlo over independent repetitions, with its standard error.
        var sq = new double[reps];
        for (int rep = 0; rep < reps; rep++)
        {
            var leaf = logits.detach().clone().requires_grad_(true);
            var r = Reinforce.Categorical(leaf, d => f(d.view(-1, n, k)).view(d.shape[0]), new LeaveOneOutBaseline(), samples: n * k, generator: g);
            var grad = torch.autograd.grad(new[] { r.Surrogate.mean() }, new[] { leaf })[0];
            sq[rep] = (grad - exact).pow(2).sum().item<double>();
        }
        double varRloo = sq.Average();
        double se = Math.Sqrt(sq.Select(x => (x - varRloo) * (x - varRloo)).Sum() / (reps - 1) / reps);
        output.WriteLine($"total variance at {n * k} evaluations: IndeCateR {varIndecater:G6} (exact), RLOO {varRloo:G6} +- {se:G3}; RLOO / IndeCateR = {varRloo / varIndecater:G4}");
        Assert.True(varIndecater < varRloo - 4 * se, $"IndeCateR {varIndecater} vs RLOO {varRloo} +- {se}");
    }

    [Fact]
    public void Bad_arguments_are_refused_naming_them()
    {
        var logits = torch.zeros(new long[] { 2, 3 }, dtype: F64);
        Func<Tensor, Tensor> f = d => d.sum(new long[] { 1, 2 });
        Assert.Equal("logits", Assert.ThrowsAny<ArgumentException>(() => IndeCateR.Categorical(torch.zeros(new long[] { 3 }, dtype: F64), f)).ParamName);
        // A batch [B, N, K] takes f of [M, B, N, K] to [M, B]: f of the unbatched shape is refused naming f.
        Assert.Equal("f", Assert.ThrowsAny<ArgumentException>(() => IndeCateR.Categorical(torch.zeros(new long[] { 4, 2, 3 }, dtype: F64), f)).ParamName);
        Assert.Equal("samples", Assert.ThrowsAny<ArgumentException>(() => IndeCateR.Categorical(logits, f, samples: 0)).ParamName);
        Assert.Equal("sample", Assert.ThrowsAny<ArgumentException>(() => IndeCateR.Categorical(logits, f, sample: torch.ones(new long[] { 1, 2, 3 }, dtype: F64))).ParamName);
        Assert.Equal("f", Assert.ThrowsAny<ArgumentException>(() => IndeCateR.Categorical(logits, d => d.sum(), generator: new Generator(1))).ParamName);
    }
}
