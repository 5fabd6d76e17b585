using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Imle;

/// <summary>
/// A target distribution defined outside the library: lambda = ||dz|| (the upstream gradient's norm), gradient =
/// 2 (z - z') / lambda, and a buffer that counts the backward passes (state a user target keeps, like AIMLE's).
/// </summary>
internal sealed class NormScaledTarget : ImleTargetDistribution
{
    private readonly Tensor calls;

    public NormScaledTarget() : base(nameof(NormScaledTarget))
    {
        calls = torch.zeros(1, dtype: ScalarType.Float64);
        RegisterComponents();
    }

    public double Calls => calls.ToDouble();

    public override double ComputeLambda(Tensor theta, Tensor dz) => dz.norm().ToDouble();

    public override Tensor Process(Tensor difference, double lambda)
    {
        calls.add_(1);
        return difference * (2 / lambda);
    }
}

[Collection(GlobalGenerator.Name)]
public class CustomTargetTests
{
    private static Tensor Row(params double[] x) => tensor(x, new long[] { 1, x.Length }, ScalarType.Float64);

    [Fact]
    public void A_user_target_gives_the_hand_computed_top_k_gradient_and_keeps_its_state_in_the_state_dict()
    {
        // theta = (3, 1, 2, 0.5), top-2: z = (1, 0, 1, 0). v = (1, -2, 0.25, 3), lambda = ||v|| = 3.75:
        // theta - lambda v = (-0.75, 8.5, 1.0625, -10.75), top-2: z' = (0, 1, 1, 0); gradient 2 (z - z') / 3.75.
        var target = new NormScaledTarget();
        var layer = discrete.ImleLayer(new TopKSolver(2), new ImleOptions { Target = target });
        Assert.Same(target, layer.Target);
        var theta = Row(3, 1, 2, 0.5).requires_grad_(true);
        var z = layer.forward(theta);
        TorchAssert.Close(new double[] { 1, 0, 1, 0 }, z, 0, "z");
        (z * Row(1, -2, 0.25, 3)).sum().backward();
        TorchAssert.Close(new[] { 2 / 3.75, -2 / 3.75, 0, 0 }, theta.grad!, 1e-15, "gradient");
        Assert.Equal(1, target.Calls);
        Assert.Equal(new[] { "target.calls" }, layer.state_dict().Keys);
        Assert.Equal(1, layer.state_dict()["target.calls"].ToDouble());

        // A minimising solver flips the perturbation and the sign: theta + lambda v = (6.75, -6.5, 2.9375, 11.75) has
        // bottom-2 z' = (0, 1, 1, 0) against z = bottom-2 of theta = (0, 1, 0, 1): gradient -2 (z - z') / 3.75.
        var min = discrete.ImleLayer(MapSolver.FromDelegate(w => new TopKSolver(2).Solve(w.neg())), new ImleOptions { Target = new NormScaledTarget(), Minimise = true });
        var t2 = Row(3, 1, 2, 0.5).requires_grad_(true);
        (min.forward(t2) * Row(1, -2, 0.25, 3)).sum().backward();
        TorchAssert.Close(new[] { 0, 0, 2 / 3.75, -2 / 3.75 }, t2.grad!, 1e-15, "minimising gradient");
    }

    [Fact]
    public void The_map_layers_are_modules_that_work_in_a_sequential()
    {
        var solver = new TopKSolver(2);
        var theta = Row(3, 1, 2, 0.5);
        var noise = ImleNoise.SumOfGamma(2);
        var direct = discrete.ImleLayer(solver, new ImleOptions { Noise = noise }, new Generator(4)).forward(theta);
        var seq = nn.Sequential(("imle", discrete.ImleLayer(solver, new ImleOptions { Noise = noise }, new Generator(4))));
        Assert.Equal(TorchAssert.ToArray(direct), TorchAssert.ToArray(seq.forward(theta)));

        var st = nn.Sequential(("st", discrete.StraightThroughMapLayer(solver, noise, samples: 3, generator: new Generator(5))));
        var stDirect = discrete.StraightThroughMapLayer(solver, noise, samples: 3, generator: new Generator(5));
        Assert.Equal(TorchAssert.ToArray(stDirect.forward(theta)), TorchAssert.ToArray(st.forward(theta)));

        var sfe = discrete.ScoreFunctionMap(solver, noise, samples: 3, generator: new Generator(6));
        var sfeSeq = nn.Sequential(("sfe", discrete.ScoreFunctionMap(solver, noise, samples: 3, generator: new Generator(6))));
        Assert.Equal(TorchAssert.ToArray(sfe.Sample(theta)), TorchAssert.ToArray(sfeSeq.forward(theta)));
        Assert.Empty(seq.parameters());
    }
}
