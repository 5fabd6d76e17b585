namespace DiscreteGrad.Experiments.Runner;

/// <summary>Thrown when the loss of a training step is NaN or infinite: the run stops and the last good checkpoint stays.</summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException(string run, long step, double loss, string? lastCheckpoint)
        : base($"Run '{run}' stopped: the loss is {loss} at step {step}. " +
               (lastCheckpoint is null ? "No checkpoint had been written." : $"The last good checkpoint is kept at {lastCheckpoint} (resume with --resume)."))
    {
        Step = step;
        Loss = loss;
        LastCheckpoint = lastCheckpoint;
    }

    /// <summary>The step (0-based) whose loss was not finite.</summary>
    public long Step { get; }
    /// <summary>The loss value.</summary>
    public double Loss { get; }
    /// <summary>Path of the last checkpoint, if any.</summary>
    public string? LastCheckpoint { get; }
}
