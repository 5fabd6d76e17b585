using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Sampling;

/// <summary>
/// Gumbel(0, beta) noise, g = -beta * log(E) with E ~ Exponential(1) (equivalently -beta * log(-log U), U ~ U(0, 1)).
/// <para>
/// Guarded against the classic failure (E = 0 or U in {0, 1} gives an infinite g and then NaN): E is clamped into
/// [tiny, max] of the dtype and U into [tiny, 1 - eps/2], so every draw is finite for fp16, bf16, fp32 and fp64.
/// Pre-drawn values outside the support's closure (E &lt; 0, U outside [0, 1], NaN) are refused, not clamped.
/// </para>
/// Gumbel-max: argmax(theta + g) with g ~ Gumbel(0, beta) samples softmax(theta / beta).
/// <para>
/// Random source: on CPU, for float32 and float64, <see cref="Sample"/> computes g = -log(-log U) in float64 on SIMD lanes
/// with U uniform on (0, 1) (52 random bits, both ends excluded) from a counter-based stream (SplitMix64 words; see
/// <c>DiscreteGrad.Imle.NoiseKernels</c>) whose key is one draw from the generator: about a sixth of the time of
/// libtorch's <c>exponential_</c>, whose CPU kernel takes a scalar float64 logarithm per element. The law is the same;
/// the numbers differ from those of the libtorch draw (and from runs made before this change, with the same seed). On
/// other devices and for float16 / bfloat16 it draws E ~ Exponential(1) with <c>exponential_</c> and returns
/// -beta log(E).
/// </para>
/// </summary>
public static class Gumbel
{
    /// <summary>Draws Gumbel(0, <paramref name="beta"/>) noise of the given shape from an explicit generator.</summary>
    /// <param name="shape">Shape of the draw, every dimension &gt;= 0.</param>
    /// <param name="beta">Scale, finite and &gt;= 0; beta = 0 returns zeros (no noise).</param>
    /// <param name="generator">Random source; null uses TorchSharp's default generator (not reproducible across threads).</param>
    /// <param name="dtype">Floating dtype of the result (default float32).</param>
    /// <param name="device">Device of the result (default CPU).</param>
    public static Tensor Sample(long[] shape, double beta = 1.0, Generator? generator = null,
        ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < 0))
            throw new ArgumentOutOfRangeException(nameof(shape),
                $"shape must have every dimension >= 0 (got [{string.Join(", ", shape)}]).");
        if (dtype is not (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"dtype must be Float16, BFloat16, Float32 or Float64 (got {dtype}).");
        Guard.Scale(beta);
        var e = torch.empty(shape, dtype: dtype, device: device);
        if (e.device_type == DeviceType.CPU && dtype is ScalarType.Float32 or ScalarType.Float64 && e.numel() < int.MaxValue)
        {
            // g = -log(-log U) on eight SIMD lanes from a counter-based stream keyed by the generator (every draw finite).
            Imle.NoiseKernels.Gumbel(e, Imle.CounterStream.KeyFrom(generator, e.device));
            return beta == 1.0 ? e : e.mul_(beta);
        }
        e.exponential_(1.0, generator);
        // The same operations as FromExponential, in place on the fresh draw (no temporaries).
        var fi = torch.finfo(dtype);
        e.clamp_(fi.tiny, fi.max).log_().neg_();
        return beta == 1.0 ? e : e.mul_(beta);
    }

    /// <summary>Gumbel noise with the shape, dtype and device of <paramref name="like"/>.</summary>
    public static Tensor SampleLike(Tensor like, double beta = 1.0, Generator? generator = null)
        => Sample(like.shape, beta, generator, like.dtype, like.device);

    /// <summary>g = -beta * log(E) from pre-drawn Exponential(1) values; E is clamped into [tiny, max] of its dtype.</summary>
    /// <param name="exponential">E, floating point, every entry &gt;= 0 (0 and +inf, the ends of the support, are clamped;
    /// negative values and NaN are refused when <see cref="Guard.CheckFiniteLogits"/>).</param>
    /// <param name="beta">Scale, finite and &gt;= 0.</param>
    public static Tensor FromExponential(Tensor exponential, double beta = 1.0)
    {
        Guard.Scale(beta);
        Guard.InRange(exponential, 0, double.PositiveInfinity, nameof(exponential), "[0, +inf] (>= 0, not NaN)");
        return FromExponentialCore(exponential, beta);
    }

    private static Tensor FromExponentialCore(Tensor exponential, double beta)
    {
        using var scope = torch.NewDisposeScope();
        var fi = torch.finfo(exponential.dtype);
        var g = exponential.clamp(fi.tiny, fi.max).log().neg_();
        if (beta != 1.0) g = g.mul_(beta);
        return scope.MoveToOuter(g);
    }

    /// <summary>g = -beta * log(-log U) from pre-drawn uniforms; U is clamped into [tiny, 1 - eps/2] of its dtype.</summary>
    /// <param name="uniform">U, floating point, every entry in [0, 1] (values outside and NaN are refused when
    /// <see cref="Guard.CheckFiniteLogits"/>).</param>
    /// <param name="beta">Scale, finite and &gt;= 0.</param>
    public static Tensor FromUniform(Tensor uniform, double beta = 1.0)
    {
        Guard.Scale(beta);
        Guard.InRange(uniform, 0, 1, nameof(uniform), "[0, 1]");
        using var scope = torch.NewDisposeScope();
        var fi = torch.finfo(uniform.dtype);
        var u = uniform.clamp(fi.tiny, 1.0 - fi.eps / 2);
        return scope.MoveToOuter(FromExponentialCore(u.log().neg_(), beta));
    }
}
