using DiscreteGrad.Schedules;

namespace DiscreteGrad.Tests.Schedules;

public class ScheduleTests
{
    [Fact]
    public void TempMatch_starts_at_zero_and_approaches_tau()
    {
        var s = new TempMatchSchedule(tau: 8, gamma: 0.008);
        Assert.Equal(0, s.At(0));
        foreach (long t in new long[] { 1, 10, 100, 240, 1000 })
            Assert.Equal(8 * (1 - Math.Exp(-0.008 * t)), s.At(t), 14);
        Assert.True(s.At(2000) > 7.999 && s.At(2000) < 8);
    }

    [Fact]
    public void Exponential_decay_stops_at_its_floor()
    {
        var s = new ExponentialDecaySchedule(start: 8, rate: 0.9, floor: 1);
        Assert.Equal(8, s.At(0));
        Assert.Equal(8 * 0.9 * 0.9, s.At(2), 14);
        Assert.Equal(1, s.At(100));
    }

    [Fact]
    public void Linear_alpha_rises_by_its_increment_and_is_clipped()
    {
        var s = new LinearSchedule(0, 1, 1.0 / 500);
        Assert.Equal(0, s.At(0));
        Assert.Equal(0.5, s.At(250), 14);
        Assert.Equal(1, s.At(500), 14);
        Assert.Equal(1, s.At(10_000));
        var down = new LinearSchedule(1, 0.25, 0.25);
        Assert.Equal(0.5, down.At(2), 14);
        Assert.Equal(0.25, down.At(9));
    }

    [Fact]
    public void State_is_saved_and_restored_and_checked()
    {
        var a = new TempMatchSchedule(1.5, 0.01);
        for (int i = 0; i < 37; i++) a.Advance();
        var state = a.GetState();
        var b = new TempMatchSchedule(1.5, 0.01);
        b.LoadState(state);
        Assert.Equal(37, b.Step);
        Assert.Equal(a.Value, b.Value);
        var other = new TempMatchSchedule(1.5, 0.02);
        Assert.Equal("state", Assert.Throws<ArgumentException>(() => other.LoadState(state)).ParamName);
        Assert.Equal(5.0, new ConstantSchedule(5).Advance());
    }

    [Fact]
    public void Bad_parameters_are_named()
    {
        Assert.Equal("tau", Assert.ThrowsAny<ArgumentException>(() => new TempMatchSchedule(0, 0.1)).ParamName);
        Assert.Equal("gamma", Assert.ThrowsAny<ArgumentException>(() => new TempMatchSchedule(1, -0.1)).ParamName);
        Assert.Equal("rate", Assert.ThrowsAny<ArgumentException>(() => new ExponentialDecaySchedule(1, 1.5, 0.1)).ParamName);
        Assert.Equal("floor", Assert.ThrowsAny<ArgumentException>(() => new ExponentialDecaySchedule(1, 0.5, 2)).ParamName);
        Assert.Equal("increment", Assert.ThrowsAny<ArgumentException>(() => new LinearSchedule(0, 1, 0)).ParamName);
    }
}
