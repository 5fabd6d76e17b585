namespace DiscreteGrad;

/// <summary>
/// A tensor that must be finite holds NaN or infinity (logits of a stochastic node, a solver's weights). It is an
/// <see cref="ArgumentException"/> naming the parameter, of its own type so that a training loop can tell a diverged run
/// (stop, keep the last good checkpoint) from a programming error.
/// </summary>
public sealed class NonFiniteValueException(string message, string? paramName) : ArgumentException(message, paramName);
