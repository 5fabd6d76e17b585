using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>
/// Argument checks of the score-function family (in the style of <see cref="Guard"/>: every failure is an
/// <see cref="ArgumentException"/> whose ParamName names the parameter and whose message states the allowed range).
/// </summary>
internal static class Checks
{
    /// <summary>A decay rate of an exponential moving average: strictly between 0 and 1.</summary>
    public static void Decay(double value, string name)
    {
        if (!(value > 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in the open interval (0, 1) (got {value}).");
    }

    /// <summary>A finite real number.</summary>
    public static void FiniteValue(double value, string name)
    {
        if (!double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number (got {value}).");
    }

    /// <summary>A floating-point tensor (finite when <see cref="Guard.CheckFiniteLogits"/>).</summary>
    public static void FloatingFinite(Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (!t.is_floating_point())
            throw new ArgumentException($"{name} must be a floating-point tensor (got {t.dtype}).", name);
        Guard.Finite(t, name);
    }

    /// <summary>
    /// <paramref name="b"/> must broadcast to <paramref name="target"/>'s shape without changing it (each trailing dimension
    /// equal or 1, and no more dimensions), so that f - b has f's shape.
    /// </summary>
    public static void BroadcastsTo(Tensor b, Tensor target, string name, string targetName)
    {
        if (!Broadcastable(b, target))
            throw new ArgumentException(
                $"{name} must broadcast to the shape of {targetName} {Show(target.shape)} without enlarging it (got {Show(b.shape)}).", name);
    }

    /// <summary>True when <paramref name="b"/> broadcasts to <paramref name="target"/>'s shape without enlarging it.</summary>
    public static bool Broadcastable(Tensor b, Tensor target)
    {
        bool ok = b.dim() <= target.dim();
        for (int i = 1; ok && i <= b.dim(); i++)
        {
            long bd = b.shape[^i], td = target.shape[^i];
            ok = bd == td || bd == 1;
        }
        return ok;
    }

    /// <summary>At least <paramref name="min"/> samples along dimension 0.</summary>
    public static void SamplesAlongDim0(Tensor t, long min, string name, string what)
    {
        long s = t.dim() == 0 ? 0 : t.shape[0];
        if (t.dim() == 0 || s < min)
            throw new ArgumentOutOfRangeException(name, s,
                $"{what} needs S >= {min} samples along dimension 0 of {name} (got {(t.dim() == 0 ? "a scalar" : $"S = {s}")}).");
    }

    /// <summary>
    /// The number of trailing "event" dimensions of a sample z that a function value f(z) does not have: f(z) must have shape
    /// z.shape[..m] for some m &lt;= z.dim() - <paramref name="minEventDims"/>; returns z.dim() - m.
    /// </summary>
    public static int EventDims(Tensor z, Tensor fz, int minEventDims, string fName = "f")
    {
        int m = (int)fz.dim();
        bool ok = m <= z.dim() - minEventDims;
        for (int i = 0; ok && i < m; i++) ok = fz.shape[i] == z.shape[i];
        if (!ok)
            throw new ArgumentException(
                $"{fName} must map a sample of shape {Show(z.shape)} to values whose shape is a leading part of it with at least "
                + $"{minEventDims} trailing dimension(s) removed (got {Show(fz.shape)}).", fName);
        return (int)z.dim() - m;
    }

    /// <summary>A one-hot sample whose trailing dimensions are the logits' shape (any number of extra leading dimensions).</summary>
    public static void OneHotSample(Tensor sample, Tensor logits, string name)
    {
        TrailingShape(sample, logits, name);
        using var _ = torch.NewDisposeScope();
        bool binary = ((sample == 0) | (sample == 1)).all().item<bool>();
        bool one = (sample.sum(-1) == 1).all().item<bool>();
        if (!binary || !one)
            throw new ArgumentException($"{name} must be one-hot over the last dimension (each row: one 1, the rest 0).", name);
    }

    /// <summary>A 0/1 sample whose trailing dimensions are the logits' shape.</summary>
    public static void BinarySample(Tensor sample, Tensor logits, string name)
    {
        TrailingShape(sample, logits, name);
        using var _ = torch.NewDisposeScope();
        if (!((sample == 0) | (sample == 1)).all().item<bool>())
            throw new ArgumentException($"{name} must hold only 0 and 1.", name);
    }

    /// <summary>sample.shape must end with logits.shape.</summary>
    public static void TrailingShape(Tensor sample, Tensor logits, string name)
    {
        ArgumentNullException.ThrowIfNull(sample, name);
        bool ok = sample.dim() >= logits.dim();
        for (int i = 1; ok && i <= logits.dim(); i++) ok = sample.shape[^i] == logits.shape[^i];
        if (!ok)
            throw new ArgumentException(
                $"{name} must have shape [..., {string.Join(", ", logits.shape)}] (the logits' shape, optionally with leading sample dimensions; got {Show(sample.shape)}).", name);
    }

    /// <summary>Sum over the last <paramref name="dims"/> dimensions (identity for 0).</summary>
    public static Tensor SumTrailing(Tensor t, int dims)
    {
        if (dims == 0) return t;
        var d = Enumerable.Range(0, dims).Select(i => (long)(t.dim() - 1 - i)).ToArray();
        return t.sum(d);
    }

    public static string Show(long[] shape) => $"[{string.Join(", ", shape)}]";
}
