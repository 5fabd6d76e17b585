namespace DiscreteGrad.Schedules;

/// <summary>The saved state of a schedule: its name (for checking on restore) and the number of updates taken.</summary>
/// <param name="Name">The schedule's <see cref="Schedule.Name"/>.</param>
/// <param name="Step">Schedule updates taken so far (t).</param>
public sealed record ScheduleState(string Name, long Step);

/// <summary>
/// A hyperparameter schedule indexed by the update count t: <see cref="At"/> is a pure function of t, and the object holds
/// the current t (advanced by <see cref="Advance"/>), which is saved and restored with checkpoints.
/// </summary>
public abstract class Schedule
{
    /// <summary>Schedule updates taken so far.</summary>
    public long Step { get; private set; }

    /// <summary>A short description including the parameters, e.g. "tempmatch(tau=8, gamma=0.008)".</summary>
    public abstract string Name { get; }

    /// <summary>The value after <paramref name="t"/> updates; throws for t &lt; 0 (<see cref="CheckStep"/>).</summary>
    public abstract double At(long t);

    /// <summary>The check every <see cref="At"/> starts with: t &gt;= 0 (a schedule is not defined before its start).</summary>
    protected static void CheckStep(long t) => Guard.AtLeast(t, 0, nameof(t));

    /// <summary>The current value, <c>At(Step)</c>.</summary>
    public double Value => At(Step);

    /// <summary>Takes one update (t -> t + 1) and returns the new value.</summary>
    public double Advance() { Step++; return Value; }

    /// <summary>The state to checkpoint.</summary>
    public ScheduleState GetState() => new(Name, Step);

    /// <summary>Restores a state saved by <see cref="GetState"/> from a schedule with the same name and parameters.</summary>
    public void LoadState(ScheduleState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Name != Name)
            throw new ArgumentException($"state belongs to schedule '{state.Name}', not '{Name}'.", nameof(state));
        Guard.AtLeast(state.Step, 0, nameof(state) + ".Step");
        Step = state.Step;
    }

    /// <summary>Invariant number formatting for names.</summary>
    protected static string F(double x) => x.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A constant value.</summary>
public sealed class ConstantSchedule(double value) : Schedule
{
    /// <inheritdoc />
    public override string Name => $"constant({F(value)})";
    /// <inheritdoc />
    public override double At(long t)
    {
        CheckStep(t);
        return value;
    }
}

/// <summary>
/// TEMPMATCH (DCCG paper, Friede and Niepert 2021): the Gumbel scale rises to the temperature, beta_t = tau (1 - exp(-gamma t)), starting
/// at 0 (pure softmax, no noise). Reference: gamma = 0.008 with t counting schedule updates (MNIST: 8 per epoch).
/// </summary>
public sealed class TempMatchSchedule : Schedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="tau">Temperature the scale approaches, &gt; 0.</param>
    /// <param name="gamma">Rate, &gt; 0.</param>
    public TempMatchSchedule(double tau, double gamma)
    {
        Guard.Temperature(tau);
        if (!(gamma > 0) || double.IsInfinity(gamma))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, $"gamma must be a finite number > 0 (got {gamma}).");
        Tau = tau;
        Gamma = gamma;
    }

    /// <summary>The temperature tau.</summary>
    public double Tau { get; }
    /// <summary>The rate gamma.</summary>
    public double Gamma { get; }
    /// <inheritdoc />
    public override string Name => $"tempmatch(tau={F(Tau)}, gamma={F(Gamma)})";
    /// <inheritdoc />
    public override double At(long t)
    {
        CheckStep(t);
        return Tau * (1 - Math.Exp(-Gamma * t));
    }
}

/// <summary>Exponential decay to a floor: max(floor, start * rate^t) (the tau-annealing baseline).</summary>
public sealed class ExponentialDecaySchedule : Schedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="start">Value at t = 0, &gt; 0.</param>
    /// <param name="rate">Decay factor per update, in (0, 1].</param>
    /// <param name="floor">Lower bound, in (0, start].</param>
    public ExponentialDecaySchedule(double start, double rate, double floor)
    {
        Guard.Temperature(start, nameof(start));
        if (!(rate > 0 && rate <= 1))
            throw new ArgumentOutOfRangeException(nameof(rate), rate, $"rate must be in (0, 1] (got {rate}).");
        if (!(floor > 0 && floor <= start))
            throw new ArgumentOutOfRangeException(nameof(floor), floor, $"floor must be in (0, start = {start}] (got {floor}).");
        Start = start; Rate = rate; Floor = floor;
    }

    /// <summary>Value at t = 0.</summary>
    public double Start { get; }
    /// <summary>Factor per update.</summary>
    public double Rate { get; }
    /// <summary>Lower bound.</summary>
    public double Floor { get; }
    /// <inheritdoc />
    public override string Name => $"expdecay(start={F(Start)}, rate={F(Rate)}, floor={F(Floor)})";
    /// <inheritdoc />
    public override double At(long t)
    {
        CheckStep(t);
        return Math.Max(Floor, Start * Math.Pow(Rate, t));
    }
}

/// <summary>
/// Linear ramp from <c>start</c> by <c>increment</c> per update, clipped to [min(start, end), max(start, end)]. DROPRES uses
/// alpha from 0 to 1 in steps of 1/500 per schedule update.
/// </summary>
public sealed class LinearSchedule : Schedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="start">Value at t = 0.</param>
    /// <param name="end">Value it stops at.</param>
    /// <param name="increment">Absolute change per update, &gt; 0.</param>
    public LinearSchedule(double start, double end, double increment)
    {
        if (!double.IsFinite(start)) throw new ArgumentOutOfRangeException(nameof(start), start, "start must be finite.");
        if (!double.IsFinite(end)) throw new ArgumentOutOfRangeException(nameof(end), end, "end must be finite.");
        if (!(increment > 0) || double.IsInfinity(increment))
            throw new ArgumentOutOfRangeException(nameof(increment), increment, $"increment must be a finite number > 0 (got {increment}).");
        Start = start; End = end; Increment = increment;
    }

    /// <summary>Value at t = 0.</summary>
    public double Start { get; }
    /// <summary>Final value.</summary>
    public double End { get; }
    /// <summary>Change per update.</summary>
    public double Increment { get; }
    /// <inheritdoc />
    public override string Name => $"linear(start={F(Start)}, end={F(End)}, increment={F(Increment)})";
    /// <inheritdoc />
    public override double At(long t)
    {
        CheckStep(t);
        return End >= Start ? Math.Min(End, Start + Increment * t) : Math.Max(End, Start - Increment * t);
    }
}
