using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// The perturbation noise eps of perturb-and-MAP, z = MAP(theta + T eps). Draws always come from an explicit
/// <see cref="Generator"/> (null: TorchSharp's default generator).
/// <list type="bullet">
/// <item><see cref="None"/>: eps = 0 (the MAP of theta itself; I-MLE then is a deterministic finite difference).</item>
/// <item><see cref="Gumbel"/>: eps ~ Gumbel(0, 1) per entry (exact perturb-and-MAP for a one-hot / categorical structure).</item>
/// <item><see cref="SumOfGamma"/>: eps = (sum_{i=1..s} Gamma(shape 1/k, rate i/k) - log s) / k per entry (Niepert et al.
/// 2021, I-MLE, Sum-of-Gamma; the sum of k independent copies tends to Gumbel(0, 1) as s grows, which suits k-subset
/// structures).</item>
/// </list>
/// <para>Gumbel and Sum-of-Gamma are drawn by managed float64 samplers on eight SIMD lanes from a counter-based random
/// stream whose key is one draw of the generator: a seed gives the same values on every run, on any number of threads and
/// any vector width, and the law of the libtorch samplers (Niepert, Minervini and Franceschi, "Implicit MLE:
/// Backpropagating Through Discrete Exponential Family Distributions", NeurIPS 2021, define the Sum-of-Gamma noise).</para>
/// </summary>
public abstract class ImleNoise
{
    private protected ImleNoise() { }

    /// <summary>No noise.</summary>
    public static ImleNoise None { get; } = new NoNoise();

    /// <summary>Standard Gumbel(0, 1) noise.</summary>
    public static ImleNoise Gumbel { get; } = new GumbelNoise();

    /// <summary>Sum-of-Gamma noise with structure size <paramref name="k"/> &gt; 0 and <paramref name="s"/> &gt;= 1 terms (default 10).</summary>
    public static ImleNoise SumOfGamma(double k, int s = 10) => new SumOfGammaNoise(k, s);

    /// <summary>True for <see cref="None"/>.</summary>
    public virtual bool IsZero => false;

    /// <summary>Draws noise of the given shape.</summary>
    /// <param name="shape">Shape of the draw, every dimension &gt;= 0.</param>
    /// <param name="generator">Random source; null uses TorchSharp's default generator.</param>
    /// <param name="dtype">Floating dtype of the result: Float16, BFloat16, Float32 or Float64 (default Float32).</param>
    /// <param name="device">Device of the result (default CPU).</param>
    public abstract Tensor Sample(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null);

    /// <summary>Throws for a negative dimension or a dtype that is not floating point.</summary>
    private protected static void CheckRequest(long[] shape, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < 0))
            throw new ArgumentOutOfRangeException(nameof(shape), $"shape must have every dimension >= 0 (got [{string.Join(", ", shape)}]).");
        if (dtype is not (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"dtype must be Float16, BFloat16, Float32 or Float64 (got {dtype}).");
    }

    /// <summary>A CPU float32 or float64 draw as <paramref name="dtype"/> on <paramref name="device"/> (itself when it already is).</summary>
    private protected static Tensor ToRequested(Tensor draw, ScalarType dtype, Device? device)
    {
        if (draw.dtype == dtype && (device is null || device.type == DeviceType.CPU)) return draw;
        using (draw) return draw.to(dtype, device ?? torch.CPU);
    }

    private sealed class NoNoise : ImleNoise
    {
        public override bool IsZero => true;
        public override Tensor Sample(long[] shape, Generator? generator, ScalarType dtype, Device? device)
            => torch.zeros(shape, dtype: dtype, device: device);
        public override string ToString() => "None";
    }

    /// <summary>
    /// g = -log(-log U) in float64 on eight SIMD lanes, U uniform on (0, 1) from a counter-based stream keyed by one draw of
    /// the generator (every value finite, |g| &lt; 37), rounded once to the dtype: the law of <see cref="Sampling.Gumbel.Sample"/>,
    /// a different stream of values for a given seed.
    /// </summary>
    private sealed class GumbelNoise : ImleNoise
    {
        public override Tensor Sample(long[] shape, Generator? generator, ScalarType dtype, Device? device)
        {
            CheckRequest(shape, dtype);
            ulong key = CounterStream.KeyFrom(generator, device);
            var g = torch.empty(shape, dtype: dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);
            NoiseKernels.Gumbel(g, key);
            return ToRequested(g, dtype, device);
        }
        public override string ToString() => "Gumbel(0, 1)";
    }
}

/// <summary>
/// Sum-of-Gamma noise (Niepert, Minervini and Franceschi, "Implicit MLE: Backpropagating Through Discrete Exponential
/// Family Distributions", NeurIPS 2021): eps = (sum_{i=1..s} G_i - log s) / k with G_i ~ Gamma(shape 1/k, rate i/k).
/// Drawn as eps = sum_i g_i / i - (log s) / k with g_i ~ Gamma(1/k, 1), the same distribution (Gamma(a, rate r) = Gamma(a, 1) / r).
/// Mean (H_s - log s) / k (H_s the harmonic number; -&gt; Euler's gamma / k), variance sum_i 1 / (k i^2) (-&gt; pi^2 / (6 k)).
/// </summary>
public sealed class SumOfGammaNoise : ImleNoise
{
    /// <summary>Creates the distribution.</summary>
    /// <param name="k">Structure size k &gt; 0 (for top-k: k; the reference uses it as a tunable for other structures).</param>
    /// <param name="s">Number of Gamma terms s &gt;= 1 (default 10, as in the reference).</param>
    public SumOfGammaNoise(double k, int s = 10)
    {
        Guard.Temperature(k, nameof(k));
        Guard.AtLeast(s, 1, nameof(s));
        K = k;
        S = s;
    }

    /// <summary>Structure size k.</summary>
    public double K { get; }
    /// <summary>Number of Gamma terms s.</summary>
    public int S { get; }

    /// <inheritdoc />
    /// <remarks>
    /// Managed sampler: the key of a counter-based random stream is drawn from <paramref name="generator"/> (one 63-bit
    /// integer), then each Gamma(1/k, 1) term comes from Ahrens and Dieter's exact rejection algorithm GS (1974) for
    /// shapes &lt;= 1 (k &gt;= 1) or Marsaglia and Tsang's (2000) for shapes &gt; 1, in float64 on eight SIMD lanes; the sum is
    /// rounded once to <paramref name="dtype"/>. The same distribution as <see cref="ReferenceSample"/>, a different
    /// stream of values for a given seed; the values do not depend on the vector width or the number of threads.
    /// </remarks>
    public override Tensor Sample(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        CheckRequest(shape, dtype);
        ulong key = CounterStream.KeyFrom(generator, device);
        var work = dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var eps = torch.empty(shape, dtype: work);
        NoiseKernels.SumOfGamma(eps, K, S, key);
        return ToRequested(eps, dtype, device);
    }

    /// <summary>
    /// The same distribution drawn with libtorch's Gamma sampler: s calls of <c>torch._standard_gamma</c> (Marsaglia and
    /// Tsang with the U^(1/a) boost for shapes below 1), eps = -(log s)/k + sum_i g_i / i accumulated in
    /// <paramref name="dtype"/>. About 10-20 times slower than <see cref="Sample"/>; kept as the independent reference
    /// that the distribution tests and the benchmark compare the managed sampler with.
    /// </summary>
    public Tensor ReferenceSample(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        CheckRequest(shape, dtype);
        using var scope = torch.NewDisposeScope();
        using var alpha = torch.full(shape, 1.0 / K, dtype: dtype, device: device);
        var sum = torch.full(shape, -Math.Log(S) / K, dtype: dtype, device: device);
        for (int i = 1; i <= S; i++)
        {
            using var g = torch._standard_gamma(alpha, generator);
            sum.add_(g, alpha: 1.0 / i);
        }
        return scope.MoveToOuter(sum);
    }

    /// <inheritdoc />
    public override string ToString() => $"SumOfGamma(k = {K}, s = {S})";
}
