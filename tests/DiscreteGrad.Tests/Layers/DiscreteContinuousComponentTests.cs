using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Layers;

[Collection(GlobalGenerator.Name)]
public class DiscreteContinuousComponentTests
{
    private const int D = 3, K = 4;

    /// <summary>beta = 0: the discrete path is the deterministic softmax relaxation, so dh(z)/du is a fixed matrix.</summary>
    private static DiscreteContinuousComponent Deterministic(DropResMode mode, ulong seed)
    {
        torch.manual_seed((long)seed);
        return discrete.DiscreteContinuousComponent(D, K, D, EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 1.0, Beta: 0.0),
            mode, new Generator(seed), ScalarType.Float64);
    }

    private static Tensor Jacobian(DiscreteContinuousComponent c, Tensor u)
    {
        var rows = new List<Tensor>();
        for (int i = 0; i < D; i++)
        {
            var leaf = u.clone().requires_grad_(true);
            var v = c.forward(leaf);
            rows.Add(autograd.grad(new[] { v[0, i] }, new[] { leaf })[0][0]);
        }
        return stack(rows);   // J[i, j] = dv_i / du_j
    }

    [Fact]
    public void DropRes_expected_jacobian_is_one_minus_alpha_identity_plus_the_discrete_path()
    {
        var c = Deterministic(DropResMode.PerBatch, 17);
        var u = tensor(new double[,] { { 0.4, -1.1, 0.7 } });
        c.Alpha = 1;                                      // never the residual: the discrete path alone
        var jDiscrete = Jacobian(c, u);
        const double alpha = 0.3;
        const int coins = 4000;
        c.Alpha = alpha;
        var sum = zeros(D, D, dtype: ScalarType.Float64);
        for (int m = 0; m < coins; m++)
        {
            using var scope = NewDisposeScope();
            var leaf = u.clone().requires_grad_(true);
            var v = c.forward(leaf);
            // One backward per coin: each row of J through a random projection would mix coins; recompute rows with the same coin.
            var rows = new List<Tensor>();
            for (int i = 0; i < D; i++) rows.Add(autograd.grad(new[] { v[0, i] }, new[] { leaf }, retain_graph: true)[0][0]);
            sum.add_(stack(rows));
        }
        var mean = sum / coins;
        var expected = eye(D, dtype: ScalarType.Float64) * (1 - alpha) + jDiscrete;
        double se = Math.Sqrt(alpha * (1 - alpha) / coins);
        var diff = (mean - expected).abs();
        Assert.True(diff.max().item<double>() < 4.5 * se, $"max deviation {diff.max().item<double>()} vs 4.5 SE {4.5 * se}");
        // Off the diagonal there is no coin noise at all.
        var off = diff * (1 - eye(D, dtype: ScalarType.Float64));
        Assert.True(off.max().item<double>() < 1e-12);
        // And the residual really matters: the mean Jacobian is far from the discrete path's.
        Assert.True((mean - jDiscrete).diagonal().min().item<double>() > 0.6);
    }

    [Fact]
    public void Per_batch_coins_are_shared_and_per_example_coins_are_not()
    {
        var u = randn(new long[] { 64, D }, dtype: ScalarType.Float64, generator: new Generator(1));
        var batch = Deterministic(DropResMode.PerBatch, 3);
        batch.Alpha = 0.5;
        var example = Deterministic(DropResMode.PerExample, 3);
        example.Alpha = 0.5;
        double used = 0;
        const int calls = 400;
        for (int i = 0; i < calls; i++)
        {
            var ub = batch.Forward(u).ResidualUsed;
            Assert.True((ub == ub[0]).all().item<bool>(), "per-batch coin differs within a batch");
            var ue = example.Forward(u).ResidualUsed;
            used += ue.mean().item<double>();
        }
        double frac = used / calls, se = Math.Sqrt(0.25 / (calls * 64));
        Assert.True(Math.Abs(frac - 0.5) < 4.5 * se, $"residual used in {frac} of examples");
    }

    [Fact]
    public void Eval_mode_never_uses_the_residual_and_returns_the_embedding_of_the_argmax()
    {
        var c = Deterministic(DropResMode.PerExample, 9);
        c.Alpha = 0;                                       // training would always add u
        var u = randn(new long[] { 32, D }, dtype: ScalarType.Float64, generator: new Generator(2));
        c.eval();
        var o = c.Forward(u);
        Assert.Equal(0, o.ResidualUsed.sum().item<double>());
        var w = c.parameters().Last();                     // the bias-free embedding W^T [D, K]
        var expected = o.Sample.Hard.matmul(w.t());
        Assert.True(allclose(o.Output, expected, rtol: 0, atol: 1e-12));
        Assert.True(((o.Sample.Hard == 0) | (o.Sample.Hard == 1)).all().item<bool>());
        Assert.True((o.Sample.Hard.argmax(-1) == o.Logits.argmax(-1)).all().item<bool>());
    }

    [Fact]
    public void Bad_alpha_and_shapes_are_named()
    {
        var c = Deterministic(DropResMode.PerBatch, 1);
        Assert.Equal("Alpha", Assert.ThrowsAny<ArgumentException>(() => c.Alpha = 1.5).ParamName);
        Assert.Equal("outputSize", Assert.ThrowsAny<ArgumentException>(
            () => discrete.DiscreteContinuousComponent(3, 4, 5, EstimatorKind.StraightThrough, dropRes: DropResMode.PerBatch)).ParamName);
    }
}
