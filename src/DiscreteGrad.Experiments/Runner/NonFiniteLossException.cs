namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// Thrown when the loss of a training step is NaN or infinite, or a finite check inside the step (the logits of a
/// stochastic node, a solver's weights) fails: the run stops, naming the step and the last good checkpoint (one whose
/// parameters and optimiser state are finite), from which <c>--resume</c> continues, e.g. with a smaller learning rate
/// (<c>--lr ... --resume-override lr</c>).
/// </summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="run">The run's name.</param>
    /// <param name="step">The 0-based step.</param>
    /// <param name="loss">The loss (NaN when a check inside the step fired first).</param>
    /// <param name="lastCheckpoint">The last good checkpoint, or null.</param>
    /// <param name="cause">The finite check's message, when one fired.</param>
    public NonFiniteLossException(string run, long step, double loss, string? lastCheckpoint, string? cause = null)
        : base($"run '{run}' stopped at step {step}: " + (cause is null ? $"the loss is {loss}. " : $"{cause.Split(" (Parameter '")[0].TrimEnd('.')}. ") +
               (lastCheckpoint is null ? "No checkpoint had been written (nothing to resume)." : $"The last good checkpoint is {lastCheckpoint} (continue with --resume; a smaller --lr needs --resume-override lr)."))
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
