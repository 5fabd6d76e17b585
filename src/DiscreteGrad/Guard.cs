using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad;

/// <summary>
/// Argument checks shared by the library. Every failure is an <see cref="ArgumentException"/> (or its subclass
/// <see cref="ArgumentOutOfRangeException"/>) whose <see cref="ArgumentException.ParamName"/> names the parameter and whose
/// message states the allowed range.
/// </summary>
public static class Guard
{
    private static readonly AsyncLocal<bool?> FiniteScope = new();

    /// <summary>
    /// Whether estimators check that their logits are finite: the innermost <see cref="FiniteChecks"/> scope's setting on
    /// this logical thread, else true. The check costs one min/max reduction and one device synchronisation per call.
    /// </summary>
    public static bool CheckFiniteLogits => FiniteScope.Value ?? true;

    /// <summary>
    /// Switches the finite-logits check on or off for the code inside the returned scope (this logical thread and the
    /// tasks it starts), without affecting other runs; dispose it to restore the enclosing setting:
    /// <code>using (Guard.FiniteChecks(false)) { /* a hot loop with its own NaN watch */ }</code>
    /// </summary>
    public static IDisposable FiniteChecks(bool enabled)
    {
        var previous = FiniteScope.Value;
        FiniteScope.Value = enabled;
        return new ScopeExit(() => FiniteScope.Value = previous);
    }

    private sealed class ScopeExit(Action exit) : IDisposable
    {
        private Action? _exit = exit;
        public void Dispose() { _exit?.Invoke(); _exit = null; }
    }

    /// <summary>Temperature: finite and strictly positive.</summary>
    public static void Temperature(double tau, string name = "tau")
    {
        if (!(tau > 0) || double.IsInfinity(tau))
            throw new ArgumentOutOfRangeException(name, tau, $"{name} must be a finite number > 0 (got {tau}).");
    }

    /// <summary>Gumbel scale: finite and non-negative (0 means no noise).</summary>
    public static void Scale(double beta, string name = "beta")
    {
        if (!(beta >= 0) || double.IsInfinity(beta))
            throw new ArgumentOutOfRangeException(name, beta, $"{name} must be a finite number >= 0 (got {beta}).");
    }

    /// <summary>A count that must be at least <paramref name="min"/>.</summary>
    public static void AtLeast(long value, long min, string name)
    {
        if (value < min)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be >= {min} (got {value}).");
    }

    /// <summary>A finite, non-negative real parameter.</summary>
    public static void NonNegative(double value, string name)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number >= 0 (got {value}).");
    }

    /// <summary>
    /// Logits of a categorical node: floating point, at least one dimension, last dimension K &gt;= 2, and (when
    /// <see cref="CheckFiniteLogits"/>) finite.
    /// </summary>
    public static void CategoricalLogits(Tensor logits, string name = "logits")
    {
        ArgumentNullException.ThrowIfNull(logits, name);
        if (!logits.is_floating_point())
            throw new ArgumentException($"{name} must be a floating-point tensor (got {logits.dtype}).", name);
        if (logits.dim() < 1)
            throw new ArgumentException($"{name} must have shape [..., K] with at least one dimension (got a scalar).", name);
        long k = logits.shape[^1];
        if (k < 2)
            throw new ArgumentException($"{name} must have K >= 2 categories in its last dimension (got K = {k}).", name);
        Finite(logits, name);
    }

    /// <summary>Logits of a Bernoulli node: floating point and (when <see cref="CheckFiniteLogits"/>) finite.</summary>
    public static void BernoulliLogits(Tensor logits, string name = "logits")
    {
        ArgumentNullException.ThrowIfNull(logits, name);
        if (!logits.is_floating_point())
            throw new ArgumentException($"{name} must be a floating-point tensor (got {logits.dtype}).", name);
        Finite(logits, name);
    }

    /// <summary>Throws when the tensor holds NaN or +-inf (skipped when <see cref="CheckFiniteLogits"/> is false).</summary>
    public static void Finite(Tensor t, string name)
    {
        if (!CheckFiniteLogits || t.numel() == 0) return;
        using var _ = torch.NewDisposeScope();
        // One fused min/max pass instead of isfinite(t).all() (a bool tensor of t's size, then a reduction): NaN
        // propagates through min and max, and +-inf shows as the max or the min, so both are finite iff every element is.
        var (min, max) = torch.aminmax(t);
        if (!double.IsFinite(min.ToDouble()) || !double.IsFinite(max.ToDouble()))
            throw new NonFiniteValueException($"{name} must be finite; it contains NaN or infinity.", name);
    }

    /// <summary>A pinned tensor (noise or sample) must have exactly the shape of the tensor it goes with.</summary>
    /// <param name="pinned">The tensor checked.</param>
    /// <param name="reference">The tensor whose shape it must have.</param>
    /// <param name="name">Parameter name of <paramref name="pinned"/>.</param>
    /// <param name="referenceName">How the message names <paramref name="reference"/>.</param>
    /// <param name="hint">Optional advice appended to the message (starting with a space).</param>
    public static void SameShape(Tensor pinned, Tensor reference, string name, string referenceName = "logits", string hint = "")
    {
        ArgumentNullException.ThrowIfNull(pinned, name);
        if (!pinned.shape.SequenceEqual(reference.shape))
            throw new ArgumentException(
                $"{name} must have the shape of {referenceName} [{string.Join(", ", reference.shape)}] (got [{string.Join(", ", pinned.shape)}]).{hint}", name);
    }
}
