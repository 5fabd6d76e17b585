using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Imle;

[Collection(GlobalGenerator.Name)]
public class AdaptiveImleTargetTests
{
    [Fact]
    public void Lambda_is_beta_times_norm_ratio_and_the_state_updates_by_one_step()
    {
        // theta = (3, 1, 2, .5), v = (1, -2, .25, 3): ||theta|| = sqrt(14.25), ||v|| = 3.75. beta = 2 * 3.75 / sqrt(14.25) gives lambda = 2,
        // so the zero-noise estimate is the hand value (z - z') / 2 = (.5, -.5, 0, 0) with 2 non-zeros per sample.
        double beta = 2 * 3.75 / Math.Sqrt(14.25);
        var target = new AdaptiveImleTarget(targetNonZeros: 1.0, step: 0.01, initialBeta: beta, initialNonZeroRate: 1.0);
        var layer = new ImleLayer(new TopKSolver(2), new ImleOptions { Target = target });
        var theta = tensor(new double[] { 3, 1, 2, 0.5 }, new long[] { 1, 4 }, ScalarType.Float64).requires_grad_(true);
        (layer.forward(theta) * tensor(new double[] { 1, -2, 0.25, 3 }, new long[] { 1, 4 }, ScalarType.Float64)).sum().backward();
        Assert.Equal(2.0, target.LastLambda, 12);
        TorchAssert.Close(new double[] { 0.5, -0.5, 0, 0 }, theta.grad!, 1e-12, "grad");
        // rate = 0.9 * 1 + 0.1 * 2 = 1.1 > 1: beta decreases by one step.
        Assert.Equal(1.1, target.NonZeroRate, 12);
        Assert.Equal(beta - 0.01, target.Beta, 12);
        Assert.Equal(1, target.Updates);
    }

    [Fact]
    public void Lambda_does_not_shrink_with_the_number_of_samples_as_in_the_reference()
    {
        // S = 4 identical zero-noise samples: dz stacks v four times (||dz|| = 2 * 3.75) and the reference norms theta
        // repeated four times (2 * sqrt(14.25)), so lambda is the S = 1 value, 2.
        double beta = 2 * 3.75 / Math.Sqrt(14.25);
        var target = new AdaptiveImleTarget(targetNonZeros: 1.0, step: 0.01, initialBeta: beta, initialNonZeroRate: 1.0);
        var layer = new ImleLayer(new TopKSolver(2), new ImleOptions { Target = target, Samples = 4 });
        var theta = tensor(new double[] { 3, 1, 2, 0.5 }, new long[] { 1, 4 }, ScalarType.Float64).requires_grad_(true);
        var v = tensor(new double[] { 1, -2, 0.25, 3 }, new long[] { 1, 4 }, ScalarType.Float64);
        var z = layer.forward(theta);
        Assert.Equal(4, z.shape[0]);
        (z * v).sum().backward();
        Assert.Equal(2.0, target.LastLambda, 12);
    }

    [Fact]
    public void Zero_beta_gives_zero_gradient_and_raises_beta()
    {
        var target = new AdaptiveImleTarget(targetNonZeros: 2, step: 0.5, initialBeta: 0, initialNonZeroRate: 0);
        var layer = new ImleLayer(new TopKSolver(2), new ImleOptions { Target = target });
        var theta = tensor(new double[] { 3, 1, 2, 0.5 }, new long[] { 1, 4 }, ScalarType.Float64).requires_grad_(true);
        (layer.forward(theta) * tensor(new double[] { 1, -2, 0.25, 3 }, new long[] { 1, 4 }, ScalarType.Float64)).sum().backward();
        TorchAssert.Close(new double[4], theta.grad!, 0, "grad");
        Assert.Equal(0.5, target.Beta);
        Assert.Equal(0.0, target.LastLambda);
    }

    /// <summary>Runs the fixed problem for <paramref name="steps"/> backward passes; returns beta and the non-zeros per sample of every step.</summary>
    private static (double[] Beta, double[] NonZeros) Run(AdaptiveImleTarget target, int steps)
    {
        const int batch = 16, n = 20, k = 5;
        var theta = randn(new long[] { batch, n }, dtype: ScalarType.Float64, generator: new Generator(40));
        var upstream = randn(new long[] { batch, n }, dtype: ScalarType.Float64, generator: new Generator(41));
        var layer = new ImleLayer(new TopKSolver(k), new ImleOptions { Noise = ImleNoise.SumOfGamma(k), Target = target }, new Generator(42));
        var betas = new double[steps];
        var nonZeros = new double[steps];
        for (int t = 0; t < steps; t++)
        {
            using var scope = torch.NewDisposeScope();
            var leaf = theta.clone().requires_grad_(true);
            (layer.forward(leaf) * upstream).sum().backward();
            nonZeros[t] = leaf.grad!.count_nonzero().ToDouble() / batch;
            betas[t] = target.Beta;
        }
        return (betas, nonZeros);
    }

    [Fact]
    public void Lambda_moves_toward_the_target_non_zero_rate_from_below_and_from_above()
    {
        const double goal = 4.0;
        // From beta = 0 (no gradient at all) beta must climb until the gradients have about `goal` non-zeros per sample.
        var low = new AdaptiveImleTarget(targetNonZeros: goal, step: 0.02, initialBeta: 0.0, initialNonZeroRate: 0.0);
        var (betaUp, nnzUp) = Run(low, 300);
        // From a large beta (dense gradients) it must come down.
        var high = new AdaptiveImleTarget(targetNonZeros: goal, step: 0.02, initialBeta: 3, initialNonZeroRate: goal);
        var (betaDown, nnzDown) = Run(high, 300);

        Assert.Equal(0.0, nnzUp[0]);
        Assert.True(nnzDown[0] > goal + 1, $"start from dense gradients: {nnzDown[0]}");
        double Late(double[] x) => x[150..].Average();
        Assert.True(Math.Abs(Late(nnzUp) - goal) < 1.0, $"from below: late non-zeros {Late(nnzUp)}");
        Assert.True(Math.Abs(Late(nnzDown) - goal) < 1.0, $"from above: late non-zeros {Late(nnzDown)}");
        Assert.True(Math.Abs(low.NonZeroRate - goal) < 1.5 && Math.Abs(high.NonZeroRate - goal) < 1.5,
            $"running rates {low.NonZeroRate}, {high.NonZeroRate}");
        // Both runs settle on similar betas, and the first 40 steps moved beta monotonically the right way (0.8 = 40 steps).
        Assert.True(betaUp[40] > betaUp[0] + 0.7 && betaDown[40] < betaDown[0] - 0.7);
        Assert.True(Math.Abs(betaUp[150..].Average() - betaDown[150..].Average()) < 0.15,
            $"late betas {betaUp[150..].Average()} vs {betaDown[150..].Average()}");
    }

    [Fact]
    public void State_round_trips_through_the_layer_state_dict()
    {
        var a = new AdaptiveImleTarget(targetNonZeros: 4, step: 0.01, initialBeta: 0.2);
        Run(a, 20);
        Assert.Equal(20, a.Updates);
        var saved = new ImleLayer(new TopKSolver(5), new ImleOptions { Target = a }).state_dict()
            .ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        Assert.Equal(new[] { "target.beta", "target.nonzero_rate", "target.updates" }, saved.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(ScalarType.Float64, saved["target.beta"].dtype);
        Assert.Equal(ScalarType.Int64, saved["target.updates"].dtype);
        var (betaA, _) = Run(a, 10);

        var b = new AdaptiveImleTarget(targetNonZeros: 4, step: 0.01, initialBeta: 0.9, initialNonZeroRate: 7);
        var layer = new ImleLayer(new TopKSolver(5), new ImleOptions { Target = b });
        layer.load_state_dict(saved);
        Assert.Equal(20, b.Updates);
        var (betaB, _) = Run(b, 10);
        Assert.Equal(betaA, betaB);
        Assert.Equal((a.Beta, a.NonZeroRate, a.Updates), (b.Beta, b.NonZeroRate, b.Updates));
    }

    [Fact]
    public void State_keeps_float64_and_its_values_under_a_dtype_conversion_and_survives_save_and_load()
    {
        var target = new AdaptiveImleTarget(targetNonZeros: 4, step: 0.01, initialBeta: 0.3, initialNonZeroRate: 0.7);
        var layer = new ImleLayer(new TopKSolver(5), new ImleOptions { Target = target });
        layer.to(ScalarType.Float32);
        Assert.Equal(0.3, target.Beta);                 // not (double)0.3f
        Assert.Equal(0.7, target.NonZeroRate);
        Assert.All(layer.state_dict().Values, t => Assert.NotEqual(ScalarType.Float32, t.dtype));
        Run(target, 3);
        string path = Path.Combine(Path.GetTempPath(), $"aimle-{Guid.NewGuid():N}.bin");
        try
        {
            layer.save(path);
            var other = new AdaptiveImleTarget(targetNonZeros: 4, step: 0.01);
            new ImleLayer(new TopKSolver(5), new ImleOptions { Target = other }).load(path);
            Assert.Equal((target.Beta, target.NonZeroRate, target.Updates), (other.Beta, other.NonZeroRate, other.Updates));
            Assert.Equal(3, other.Updates);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Invalid_parameters_name_themselves()
    {
        Assert.Equal("step", Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveImleTarget(step: 0)).ParamName);
        Assert.Equal("decay", Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveImleTarget(decay: 1)).ParamName);
        Assert.Equal("targetNonZeros", Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveImleTarget(targetNonZeros: -1)).ParamName);
        Assert.Equal("initialBeta", Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveImleTarget(initialBeta: double.NaN)).ParamName);
    }
}
