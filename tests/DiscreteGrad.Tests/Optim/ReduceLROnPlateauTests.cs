using DiscreteGrad.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Optim;

/// <summary><see cref="ReduceLROnPlateau"/>: PyTorch's rule (mode max, threshold rel), and its state as a tensor.</summary>
[Collection(GlobalGenerator.Name)]
public class ReduceLROnPlateauTests
{
    /// <summary>An optimiser of two parameter groups.</summary>
    private static DiscreteGrad.Optim.RAdam Optimizer(double lr) =>
        new(new[] { new DiscreteGrad.Optim.RAdam.ParamGroup(new[] { new Parameter(zeros(3)) }), new DiscreteGrad.Optim.RAdam.ParamGroup(new[] { new Parameter(zeros(2)) }) }, lr);

    [Fact]
    public void The_rate_halves_after_patience_plus_one_evaluations_without_improvement()
    {
        var opt = Optimizer(0.8);
        var s = new ReduceLROnPlateau(opt, maximize: true, factor: 0.5, patience: 2);
        Assert.False(s.Step(0.5));                                  // first value: the best
        Assert.False(s.Step(0.5));                                  // bad 1
        Assert.False(s.Step(0.50001));                              // within the relative threshold 1e-4: bad 2
        Assert.Equal(new[] { 0.8, 0.8 }, s.LearningRates);
        Assert.True(s.Step(0.4));                                   // bad 3 > patience 2: halved, count reset
        Assert.Equal(new[] { 0.4, 0.4 }, s.LearningRates);
        Assert.Equal((0, 1, 0.5), (s.BadEvaluations, s.Reductions, s.Best));
        Assert.False(s.Step(0.6));                                  // an improvement resets the count
        Assert.Equal((0, 0.6), (s.BadEvaluations, s.Best));
        for (int i = 0; i < 2; i++) Assert.False(s.Step(0.6));
        Assert.True(s.Step(0.6));
        Assert.Equal(new[] { 0.2, 0.2 }, s.LearningRates);
    }

    [Fact]
    public void Minimising_cooldown_and_the_floor_follow_pytorch()
    {
        var opt = Optimizer(1.0);
        var s = new ReduceLROnPlateau(opt, maximize: false, factor: 0.1, patience: 0, cooldown: 1, minLearningRate: 0.05);
        Assert.False(s.Step(3.0));
        Assert.True(s.Step(3.0));                                   // bad 1 > 0: 0.1
        Assert.False(s.Step(3.0));                                  // in cooldown: not counted
        Assert.True(s.Step(3.0));                                   // 0.01 is below the floor: 0.05
        Assert.Equal(new[] { 0.05, 0.05 }, s.LearningRates);
        Assert.False(s.Step(3.0));                                  // cooldown
        Assert.False(s.Step(3.0));                                  // at the floor: nothing left to lower
        Assert.Equal(2, s.Reductions);
        Assert.Throws<ArgumentException>(() => s.Step(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(opt, factor: 1));
    }

    [Fact]
    public void Its_state_restores_into_a_new_schedule_which_then_continues_identically()
    {
        var values = new[] { 0.1, 0.3, 0.3, 0.2, 0.3, 0.35, 0.35, 0.3, 0.3, 0.3, 0.36, 0.2 };
        var straightOpt = Optimizer(0.01);
        var straight = new ReduceLROnPlateau(straightOpt, factor: 0.5, patience: 1);
        var firstOpt = Optimizer(0.01);
        var first = new ReduceLROnPlateau(firstOpt, factor: 0.5, patience: 1);
        for (int i = 0; i < 5; i++)
        {
            straight.Step(values[i]);
            first.Step(values[i]);
        }
        using var state = first.GetState();
        Assert.Equal(ScalarType.Float64, state.dtype);
        var secondOpt = Optimizer(0.01);                             // a fresh optimiser, as after a restart
        var second = new ReduceLROnPlateau(secondOpt, factor: 0.5, patience: 1);
        second.SetState(state);
        Assert.Equal(first.LearningRates, second.LearningRates);
        for (int i = 5; i < values.Length; i++) Assert.Equal(straight.Step(values[i]), second.Step(values[i]));
        Assert.Equal(straight.LearningRates, second.LearningRates);
        Assert.Equal((straight.Best, straight.BadEvaluations, straight.Evaluations, straight.Reductions),
            (second.Best, second.BadEvaluations, second.Evaluations, second.Reductions));
        Assert.True(straight.Reductions >= 2);
        using var bad = torch.zeros(3, dtype: ScalarType.Float64);
        Assert.Throws<ArgumentException>(() => second.SetState(bad));
    }
}
