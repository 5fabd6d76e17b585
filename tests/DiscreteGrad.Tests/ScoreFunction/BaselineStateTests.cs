using DiscreteGrad.ScoreFunction;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>Running statistics of the stateful baselines survive a GetState / SetState round trip (checkpoints).</summary>
[Collection(GlobalGenerator.Name)]
public class BaselineStateTests
{
    [Fact]
    public void Moving_average_round_trip_gives_the_same_next_baselines()
    {
        var a = new MovingAverageBaseline(0.9);
        foreach (var v in new[] { 3.0, 1.0, 4.0 }) a.Update(tensor(new[] { v, v + 1 }));
        var (biased, steps) = a.GetState();
        var b = new MovingAverageBaseline(0.9);
        b.SetState(biased, steps);
        Assert.Equal(3, b.Steps);
        Assert.Equal(a.Value, b.Value, 15);
        // 0.1 * (0.81 * 3.5 + 0.9 * 1.5 + 4.5) / (1 - 0.729)
        Assert.Equal(0.1 * (0.81 * 3.5 + 0.9 * 1.5 + 4.5) / (1 - 0.729), b.Value, 12);
        Assert.Equal(a.Compute(tensor(new[] { 7.0 })).item<double>(), b.Compute(tensor(new[] { 7.0 })).item<double>(), 15);
        Assert.Equal(a.Value, b.Value, 15);
    }

    [Fact]
    public void Nvil_round_trip_gives_the_same_signal()
    {
        var a = new NvilBaseline(decay: 0.8);
        var f = tensor(new[] { 2.0, 5.0, 3.0 });
        var lp = tensor(new[] { -1.0, -2.0, -0.5 });
        a.Surrogate(f, lp);
        a.Surrogate(f * 3, lp);
        var (m, v, s) = a.GetState();
        var b = new NvilBaseline(decay: 0.8);
        b.SetState(m, v, s);
        Assert.Equal(a.Mean, b.Mean, 15);
        Assert.Equal(a.Scale, b.Scale, 15);
        Assert.True(a.Scale > 1);
        var ra = a.Surrogate(f, lp);
        var rb = b.Surrogate(f, lp);
        Assert.True((ra.Signal == rb.Signal).all().item<bool>());
    }

    [Fact]
    public void Bad_states_name_the_parameter()
    {
        Assert.Equal("biased", Assert.ThrowsAny<ArgumentException>(() => new MovingAverageBaseline().SetState(double.NaN, 1)).ParamName);
        Assert.Equal("steps", Assert.ThrowsAny<ArgumentException>(() => new MovingAverageBaseline().SetState(1, -1)).ParamName);
        Assert.Equal("varianceBiased", Assert.ThrowsAny<ArgumentException>(() => new NvilBaseline().SetState(1, -2, 1)).ParamName);
    }
}
