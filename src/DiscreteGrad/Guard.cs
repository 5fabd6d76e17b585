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
    /// Whether the library scans tensors for bad values: the finite checks of logits (and of the Gumbel-softmax scores
    /// theta + beta g), of pinned noise and of MAP solvers' outputs, and the range checks of pinned noise (uniforms in
    /// [0, 1], exponentials &gt;= 0). The innermost <see cref="FiniteChecks"/> scope's setting on this logical thread, else
    /// true. Each check costs one min/max reduction and one device synchronisation per call; shape, dtype and scalar
    /// checks, and the one-hot checks of pinned samples, are always on.
    /// </summary>
    public static bool CheckFiniteLogits => FiniteScope.Value ?? true;

    /// <summary>
    /// Switches the value scans of <see cref="CheckFiniteLogits"/> on or off for the code inside the returned scope (this
    /// logical thread and the tasks it starts), without affecting other runs; dispose it to restore the enclosing setting:
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

    /// <summary>
    /// Temperature for tensors of <paramref name="dtype"/>: at least the dtype's smallest normal number, so that tau and
    /// 1 / tau are both finite normal numbers in it (float32: 1.1754944E-38; float64: 2.2250738585072014E-308).
    /// </summary>
    public static void Temperature(double tau, ScalarType dtype, string name = "tau")
    {
        Temperature(tau, name);
        double tiny = torch.finfo(dtype).tiny;
        if (tau < tiny)
            throw new ArgumentOutOfRangeException(name, tau,
                $"{name} must be >= {Show(tiny, dtype)} (the smallest normal {dtype} number, so that {name} and 1/{name} are finite in it) "
                + $"for {dtype} tensors (got {tau}).");
    }

    /// <summary>Gumbel scale for tensors of <paramref name="dtype"/>: at most the dtype's largest finite number.</summary>
    public static void Scale(double beta, ScalarType dtype, string name = "beta")
    {
        Scale(beta, name);
        double max = torch.finfo(dtype).max;
        if (beta > max)
            throw new ArgumentOutOfRangeException(name, beta,
                $"{name} must be <= {Show(max, dtype)} (the largest {dtype} number) for {dtype} tensors (got {beta}).");
    }

    /// <summary>A number as the dtype stores it (float32 and narrower: the float32 round-trip form).</summary>
    internal static string Show(double value, ScalarType dtype) => dtype == ScalarType.Float64
        ? value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
        : ((float)value).ToString("R", System.Globalization.CultureInfo.InvariantCulture);

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
        CategoricalShape(logits, name);
        Finite(logits, name);
    }

    /// <summary>The checks of <see cref="CategoricalLogits"/> without the finite check (for callers that scan a tensor
    /// computed from the logits instead).</summary>
    internal static void CategoricalShape(Tensor logits, string name = "logits")
    {
        LastDimension(logits, name, 2, floating: true);
    }

    /// <summary>
    /// A tensor of shape [..., K] with at least one dimension and K &gt;= <paramref name="minK"/>, floating point when
    /// <paramref name="floating"/>; not yet checked for finiteness.
    /// </summary>
    internal static void LastDimension(Tensor t, string name, long minK, bool floating)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (floating && !t.is_floating_point())
            throw new ArgumentException($"{name} must be a floating-point tensor (got {t.dtype}).", name);
        if (t.dim() < 1)
            throw new ArgumentException($"{name} must have shape [..., K] with at least one dimension (got a scalar).", name);
        long k = t.shape[^1];
        if (k < minK)
            throw new ArgumentException(
                $"{name} must have K >= {minK} {(minK == 1 ? "category" : "categories")} in its last dimension (got K = {k}).", name);
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
        if (!double.IsFinite(MaxAbs(t)))
            throw new NonFiniteValueException($"{name} must be finite; it contains NaN or infinity.", name);
    }

    /// <summary>
    /// Throws when an entry of <paramref name="t"/> is NaN or outside [<paramref name="min"/>, <paramref name="max"/>]
    /// (skipped when <see cref="CheckFiniteLogits"/> is false): NaN as a <see cref="NonFiniteValueException"/>, other
    /// values as an <see cref="ArgumentOutOfRangeException"/>, both naming <paramref name="name"/> and the range
    /// <paramref name="range"/> (e.g. "[0, 1]").
    /// </summary>
    public static void InRange(Tensor t, double min, double max, string name, string range)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (!t.is_floating_point())
            throw new ArgumentException($"{name} must be a floating-point tensor (got {t.dtype}).", name);
        if (!CheckFiniteLogits || t.numel() == 0) return;
        var (lo, hi) = MinMax(t);
        if (double.IsNaN(lo) || double.IsNaN(hi))
            throw new NonFiniteValueException($"{name} must hold values in {range}; it contains NaN.", name);
        if (lo < min || hi > max)
            throw new ArgumentOutOfRangeException(name, $"{name} must hold values in {range} (got values from {lo} to {hi}).");
    }

    /// <summary>max |t|: NaN when t holds NaN, infinite when it holds +-inf; 0 for an empty tensor.</summary>
    internal static double MaxAbs(Tensor t)
    {
        if (t.numel() == 0) return 0;
        var (min, max) = MinMax(t);
        return double.IsNaN(min) || double.IsNaN(max) ? double.NaN : Math.Max(Math.Abs(min), Math.Abs(max));
    }

    /// <summary>
    /// min and max of a non-empty tensor in one fused pass (instead of isfinite(t).all(), a bool tensor of t's size, then a
    /// reduction): NaN propagates through both, +-inf shows as the max or the min.
    /// </summary>
    private static (double Min, double Max) MinMax(Tensor t)
    {
        using var _ = torch.NewDisposeScope();
        using var ng = torch.no_grad();
        var (min, max) = torch.aminmax(t.detach());
        return (min.ToDouble(), max.ToDouble());
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
