using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Imle;

/// <summary>A solver that records (a copy of) every weight tensor it is called with.</summary>
internal sealed class RecordingSolver : IMapSolver
{
    private readonly IMapSolver _inner;
    public RecordingSolver(IMapSolver inner) => _inner = inner;
    public List<Tensor> Calls { get; } = new();
    public Tensor Solve(Tensor weights)
    {
        // The solver runs inside the layer's dispose scope: a tensor kept beyond the call must leave it.
        Calls.Add(weights.detach().clone().DetachFromDisposeScope());
        return _inner.Solve(weights);
    }
}

[Collection(GlobalGenerator.Name)]
public class ImleLayerTests
{
    // Two instances of top-2 over 4 items, upstream gradient v of the linear loss sum(v * z).
    private static readonly double[] Theta = { 3, 1, 2, 0.5, /* row 2 */ 0, 0.1, 0.2, 0.3 };
    private static readonly double[] V = { 1, -2, 0.25, 3, /* row 2 */ -1, 0, 0, 1 };

    private static Tensor Leaf(double[]? values = null) => tensor(values ?? Theta, new long[] { 2, 4 }, ScalarType.Float64).requires_grad_(true);
    private static Tensor Up(double sign = 1) => tensor(V, new long[] { 2, 4 }, ScalarType.Float64) * sign;

    private static Tensor Grad(ImleLayer layer, Tensor upstream, Tensor? noise = null, double[]? theta = null)
    {
        var leaf = Leaf(theta);
        var z = layer.forward(leaf, noise);
        (z * upstream).sum().backward();
        return leaf.grad!;
    }

    [Fact]
    public void Forward_difference_with_zero_noise_is_z_minus_z_prime_over_lambda_by_hand()
    {
        // Row 1: z = top2(3, 1, 2, 0.5) = {0, 2}; theta - 2 v = (1, 5, 1.5, -5.5): z' = {1, 2}; (z - z') / 2 = (0.5, -0.5, 0, 0).
        // Row 2: z = top2(0, .1, .2, .3) = {2, 3}; theta - 2 v = (2, .1, .2, -1.7): z' = {0, 2}; (z - z') / 2 = (-0.5, 0, 0, 0.5).
        var layer = new ImleLayer(new TopKSolver(2), new ImleOptions { Target = ImleTargetDistribution.Fixed(2.0) });
        var leaf = Leaf();
        var z = layer.forward(leaf);
        TorchAssert.Close(new double[] { 1, 0, 1, 0, 0, 0, 1, 1 }, z, 0, "z");
        (z * Up()).sum().backward();
        TorchAssert.Close(new double[] { 0.5, -0.5, 0, 0, -0.5, 0, 0, 0.5 }, leaf.grad!, 0, "grad");

        // Without 1/lambda (original I-MLE library): z - z'.
        var raw = new ImleLayer(new TopKSolver(2), new ImleOptions { Target = ImleTargetDistribution.Fixed(2.0, scaleByInverseLambda: false) });
        TorchAssert.Close(new double[] { 1, -1, 0, 0, -1, 0, 0, 1 }, Grad(raw, Up()), 0, "unscaled");
    }

    [Fact]
    public void Central_difference_by_hand()
    {
        // Row 1: theta + 2 v = (5, -3, 2.5, 6.5): {0, 3}; theta - 2 v: {1, 2}; (e0 + e3 - e1 - e2) / 4.
        // Row 2: theta + 2 v = (-2, .1, .2, 2.3): {2, 3}; theta - 2 v: {0, 2}; (e3 - e0) / 4.
        var layer = new ImleLayer(new TopKSolver(2), new ImleOptions { Target = ImleTargetDistribution.Fixed(2.0), Difference = FiniteDifference.Central });
        TorchAssert.Close(new double[] { 0.25, -0.25, -0.25, 0.25, -0.25, 0, 0, 0.25 }, Grad(layer, Up()), 0, "grad");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Central_difference_is_odd_in_the_upstream_gradient(bool adaptive)
    {
        // Same pinned Sum-of-Gamma noise, S = 3 samples: flipping dz flips the estimate exactly.
        ImleTargetDistribution Target() => adaptive ? new AdaptiveImleTarget(targetNonZeros: 2, initialBeta: 0.8) : ImleTargetDistribution.Fixed(0.7);
        var options = new ImleOptions
        {
            Noise = ImleNoise.SumOfGamma(2), Samples = 3, Difference = FiniteDifference.Central, InputTemperature = 0.5, TargetTemperature = 1.5,
        };
        var noise = ImleNoise.SumOfGamma(2).Sample(new long[] { 6, 4 }, new Generator(17), ScalarType.Float64);
        var upstream = randn(new long[] { 6, 4 }, dtype: ScalarType.Float64, generator: new Generator(18));
        var plus = Grad(new ImleLayer(new TopKSolver(2), options with { Target = Target() }), upstream, noise);
        var minus = Grad(new ImleLayer(new TopKSolver(2), options with { Target = Target() }), -upstream, noise);
        Assert.True(plus.abs().sum().item<double>() > 0, "the estimate should not be zero on this problem");
        Assert.True((minus == -plus).all().item<bool>(), $"{string.Join(", ", TorchAssert.ToArray(plus))} vs {string.Join(", ", TorchAssert.ToArray(minus))}");
    }

    [Fact]
    public void The_backward_pass_sees_exactly_the_forward_noise()
    {
        var theta = Leaf();
        var solver = new RecordingSolver(new TopKSolver(2));
        var layer = new ImleLayer(solver, new ImleOptions { Noise = ImleNoise.SumOfGamma(2), Samples = 2, Target = ImleTargetDistribution.Fixed(0.5) }, new Generator(1));
        var z = layer.forward(theta);
        var upstream = randn(new long[] { 4, 4 }, dtype: ScalarType.Float64, generator: new Generator(2));
        (z * upstream).sum().backward();
        // T_in = T_t: forward solves theta + eps, backward only theta + eps - lambda dz (the forward z is reused).
        Assert.Equal(2, solver.Calls.Count);
        var thetaRep = theta.detach().repeat_interleave(2, 0);
        var eps = solver.Calls[0] - thetaRep;
        Assert.True(eps.abs().min().item<double>() > 0, "noise was drawn");
        Assert.True(allclose(solver.Calls[1], thetaRep + eps - 0.5 * upstream, rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void With_different_temperatures_the_backward_pass_rescales_the_same_noise()
    {
        var theta = Leaf();
        var solver = new RecordingSolver(new TopKSolver(2));
        var options = new ImleOptions { Noise = ImleNoise.Gumbel, Samples = 3, InputTemperature = 0.5, TargetTemperature = 2.0, Target = ImleTargetDistribution.Fixed(0.25) };
        var layer = new ImleLayer(solver, options, new Generator(7));
        var pinned = ImleNoise.Gumbel.Sample(new long[] { 6, 4 }, new Generator(8), ScalarType.Float64);
        var z = layer.forward(theta, pinned);
        var upstream = randn(new long[] { 6, 4 }, dtype: ScalarType.Float64, generator: new Generator(9));
        (z * upstream).sum().backward();
        // Forward theta + 0.5 eps; backward theta + 2 eps (recomputed base) and theta + 2 eps - 0.25 dz.
        Assert.Equal(3, solver.Calls.Count);
        var thetaRep = theta.detach().repeat_interleave(3, 0);
        Assert.True(allclose(solver.Calls[0], thetaRep + 0.5 * pinned, rtol: 0, atol: 1e-12));
        Assert.True(allclose(solver.Calls[1], thetaRep + 2.0 * pinned, rtol: 0, atol: 1e-12));
        Assert.True(allclose(solver.Calls[2], thetaRep + 2.0 * pinned - 0.25 * upstream, rtol: 0, atol: 1e-12));
    }

    [Fact]
    public void A_generator_seed_reproduces_the_noise_and_the_gradient()
    {
        var options = new ImleOptions { Noise = ImleNoise.SumOfGamma(2), Samples = 4, Target = ImleTargetDistribution.Fixed(1.0) };
        var upstream = randn(new long[] { 8, 4 }, dtype: ScalarType.Float64, generator: new Generator(3));
        var a = Grad(new ImleLayer(new TopKSolver(2), options, new Generator(5)), upstream);
        var b = Grad(new ImleLayer(new TopKSolver(2), options, new Generator(5)), upstream);
        Assert.True((a == b).all().item<bool>());
    }

    [Fact]
    public void Minimisation_flips_the_perturbation_and_the_estimate()
    {
        // bottom-2 of costs c = -theta is top-2 of theta: with zero noise the cost gradient is minus the weight gradient.
        var bottom2 = MapSolver.FromDelegate(c => new TopKSolver(2).Solve(-c));
        var layer = new ImleLayer(bottom2, new ImleOptions { Target = ImleTargetDistribution.Fixed(2.0), Minimise = true });
        var costs = Theta.Select(t => -t).ToArray();
        TorchAssert.Close(new double[] { -0.5, 0.5, 0, 0, 0.5, 0, 0, -0.5 }, Grad(layer, Up(), theta: costs), 0, "forward difference");
        var central = new ImleLayer(bottom2, new ImleOptions { Target = ImleTargetDistribution.Fixed(2.0), Minimise = true, Difference = FiniteDifference.Central });
        TorchAssert.Close(new double[] { -0.25, 0.25, 0.25, -0.25, 0.25, 0, 0, -0.25 }, Grad(central, Up(), theta: costs), 0, "central");
    }

    [Fact]
    public void Shortest_path_gradient_by_hand()
    {
        // Costs [[1,9,1],[1,20,1],[1,1,1]], 4-neighbourhood: z = left column + bottom row (cost 5). Loss 10 * z(2,0), lambda = 1:
        // c' = c + dz makes (2,0) cost 11 and the top row + right column (cost 13) the shortest: grad = (z' - z) / 1.
        var costs = tensor(new double[] { 1, 9, 1, 1, 20, 1, 1, 1, 1 }, new long[] { 1, 3, 3 }, ScalarType.Float64).requires_grad_(true);
        var layer = new ImleLayer(new GridShortestPathSolver(GridNeighbourhood.Four), new ImleOptions { Target = ImleTargetDistribution.Fixed(1.0), Minimise = true });
        var z = layer.forward(costs);
        TorchAssert.Close(new double[] { 1, 0, 0, 1, 0, 0, 1, 1, 1 }, z, 0, "path");
        (z[0, 2, 0] * 10).backward();
        TorchAssert.Close(new double[] { 0, 1, 1, -1, 0, 1, -1, -1, 0 }, costs.grad!, 0, "grad");
    }

    [Fact]
    public void Mean_layout_equals_stacked_layout_with_the_upstream_gradient_repeated()
    {
        var options = new ImleOptions { Noise = ImleNoise.SumOfGamma(2), Samples = 3, Target = ImleTargetDistribution.Fixed(0.6) };
        var noise = ImleNoise.SumOfGamma(2).Sample(new long[] { 6, 4 }, new Generator(31), ScalarType.Float64);
        var up = Up();
        var meanLeaf = Leaf();
        var mean = new ImleLayer(new TopKSolver(2), options with { Layout = SampleLayout.Mean }).forward(meanLeaf, noise);
        Assert.Equal(new long[] { 2, 4 }, mean.shape);
        (mean * up).sum().backward();
        var stackedLeaf = Leaf();
        var stacked = new ImleLayer(new TopKSolver(2), options).forward(stackedLeaf, noise);
        Assert.Equal(new long[] { 6, 4 }, stacked.shape);
        Assert.True(allclose(mean, stacked.reshape(2, 3, 4).mean(new long[] { 1 }), rtol: 0, atol: 1e-15));
        (stacked * up.repeat_interleave(3, 0)).sum().backward();
        Assert.True(stackedLeaf.grad!.abs().sum().item<double>() > 0);
        Assert.True(allclose(meanLeaf.grad!, stackedLeaf.grad!, rtol: 0, atol: 1e-15));
    }

    [Fact]
    public void Straight_through_returns_the_mean_upstream_gradient()
    {
        var noise = ImleNoise.Gumbel.Sample(new long[] { 4, 4 }, new Generator(3), ScalarType.Float64);
        var up = randn(new long[] { 4, 4 }, dtype: ScalarType.Float64, generator: new Generator(4));
        var leaf = Leaf();
        var st = new StraightThroughMapLayer(new TopKSolver(2), ImleNoise.Gumbel, samples: 2);
        var z = st.forward(leaf, noise);
        var imleZ = new ImleLayer(new TopKSolver(2), new ImleOptions { Noise = ImleNoise.Gumbel, Samples = 2 }).forward(Leaf(), noise);
        Assert.True((z == imleZ).all().item<bool>(), "same forward pass as I-MLE");
        (z * up).sum().backward();
        Assert.True(allclose(leaf.grad!, up.reshape(2, 2, 4).mean(new long[] { 1 }), rtol: 0, atol: 1e-15));

        var minLeaf = Leaf();
        var stMin = new StraightThroughMapLayer(MapSolver.FromDelegate(c => new TopKSolver(2).Solve(-c)), minimise: true);
        (stMin.forward(minLeaf) * Up()).sum().backward();
        TorchAssert.Close(V.Select(x => -x).ToArray(), minLeaf.grad!, 0, "minimise");
    }

    [Fact]
    public void Backward_works_after_the_caller_disposed_the_output()
    {
        var leaf = Leaf();
        var layer = new ImleLayer(new TopKSolver(2), new ImleOptions { Noise = ImleNoise.Gumbel }, new Generator(1));
        Tensor loss;
        using (var scope = torch.NewDisposeScope())
        {
            var z = layer.forward(leaf);
            loss = scope.MoveToOuter((z * Up()).sum() + leaf.sum());
        }
        loss.backward();
        TorchAssert.AllFinite(leaf.grad!, "grad");
    }

    [Fact]
    public void Invalid_options_and_inputs_are_rejected()
    {
        var solver = new TopKSolver(2);
        Assert.Equal("Samples", Assert.Throws<ArgumentOutOfRangeException>(() => new ImleLayer(solver, new ImleOptions { Samples = 0 })).ParamName);
        Assert.Equal("InputTemperature", Assert.Throws<ArgumentOutOfRangeException>(() => new ImleLayer(solver, new ImleOptions { InputTemperature = -1 })).ParamName);
        Assert.Equal("TargetTemperature", Assert.Throws<ArgumentOutOfRangeException>(() => new ImleLayer(solver, new ImleOptions { TargetTemperature = double.NaN })).ParamName);
        Assert.Equal("lambda", Assert.Throws<ArgumentOutOfRangeException>(() => ImleTargetDistribution.Fixed(0)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => ImleNoise.SumOfGamma(0)).ParamName);
        Assert.Equal("s", Assert.Throws<ArgumentOutOfRangeException>(() => ImleNoise.SumOfGamma(2, 0)).ParamName);
        var layer = new ImleLayer(solver, new ImleOptions { Samples = 2 });
        Assert.Equal("noise", Assert.Throws<ArgumentException>(() => layer.forward(Leaf(), zeros(2, 4, dtype: ScalarType.Float64))).ParamName);
        Assert.Equal("theta", Assert.Throws<NonFiniteValueException>(() => layer.forward(tensor(new[] { 0.0, double.NaN }).reshape(1, 2))).ParamName);
        Assert.Equal("theta", Assert.Throws<ArgumentException>(() => layer.forward(zeros(new long[] { 2, 4 }, dtype: ScalarType.Int32))).ParamName);
        var bad = new ImleLayer(MapSolver.FromDelegate(w => w.sum(dim: 1)));
        Assert.Contains("must return the shape", Assert.Throws<InvalidOperationException>(() => bad.forward(Leaf())).Message);
        Assert.Empty(new ImleLayer(solver).state_dict());   // a fixed target has no state
    }
}
