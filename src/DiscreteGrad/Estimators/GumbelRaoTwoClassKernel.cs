using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// GR-MCK's slope for two classes (Paulus, Maddison and Krause, "Rao-Blackwellizing the Straight-Through Gumbel-Softmax
/// Gradient Estimator", ICLR 2021), c = (1/K) sum_k sigma'(x_k / tau) / tau over K conditional draws x_k of the perturbed
/// difference given the sample, computed in one managed pass that keeps the K draws of a variable in registers: the
/// tensor form (<see cref="TwoClassEstimator.GumbelRaoSlope"/>) writes and reads K uniforms per variable through memory,
/// which for polynomial programming (65,536 variables, K = 100) is 6.5 million floats per step, and libtorch's generator
/// alone spends most of the step on them.
/// <para>With b = delta for d_0 = 1 and -delta for d_0 = 0 and U_k uniform on (0, 1):</para>
/// <code>
/// tau = 1:  r = exp(-|b|), g = 1 - r (b &lt;= 0) or r - 1 (b &gt; 0), kappa = 1 (b &lt;= 0) or r (b &gt; 0)
///           h_k = U_k / (1 + r + g U_k),   c = kappa (sum_k h_k - kappa sum_k h_k^2) / K
/// else:     y_k = softplus(b) - log U_k + log(1 - U_k sigmoid(b)),   s_k = sigmoid(y_k / tau)
///           c = sum_k s_k (1 - s_k) / (K tau)
/// </code>
/// (the derivation is in <see cref="TwoClassEstimator.GumbelRaoSlope"/>). The uniforms of variable i (of n) come from
/// a <see cref="CounterStream"/> keyed from the node's generator, two per 64-bit word: word j n + i gives
/// U_2j = (lo + 1/2) 2^-32 and U_2j+1 = (hi + 1/2) 2^-32 from its low and high 32 bits (open interval (0, 1), a grid of
/// 2^32 points, finer than float32's 2^24 uniforms of the tensor form). The slope is the tensor form's on those uniforms
/// U[k, i] (<see cref="Uniforms"/>), computed in float64 whatever the logits' dtype, and it depends neither on the SIMD
/// width nor on the number of threads.
/// </summary>
internal static class GumbelRaoTwoClassKernel
{
    private const int Lanes = 8;
    /// <summary>Variables per task when the work is spread over threads.</summary>
    private const int ChunkEntries = 2048;

    /// <summary>Whether the kernel applies: contiguous CPU float32 / float64 differences (and samples of the same dtype).</summary>
    public static bool Supports(Tensor delta, Tensor d0) =>
        delta.device_type == DeviceType.CPU && d0.device_type == DeviceType.CPU
        && delta.dtype is ScalarType.Float32 or ScalarType.Float64 && d0.dtype == delta.dtype
        && delta.numel() == d0.numel() && delta.numel() < int.MaxValue;

    /// <summary>The uniforms U [k, n] the kernel uses for n variables under <paramref name="key"/>, float64 (for tests).</summary>
    public static Tensor Uniforms(ulong key, long n, int k)
    {
        var u = new double[k * n];
        for (int draw = 0; draw < k; draw++)
            for (long i = 0; i < n; i++)
            {
                ulong word = CounterStream.Word(key, (ulong)(draw / 2 * n + i));
                u[draw * n + i] = ((draw % 2 == 0 ? word & 0xFFFF_FFFFUL : word >> 32) + 0.5) * TwoToMinus32;
            }
        return torch.tensor(u, new long[] { k, n }, dtype: ScalarType.Float64);
    }

    private const double TwoToMinus32 = 1.0 / 4294967296.0;
    /// <summary>The bits of 2^52 as a double: (x | these bits) - 2^52 is x exactly for x &lt; 2^52.</summary>
    private const ulong TwoTo52Bits = 0x4330_0000_0000_0000UL;

    /// <summary>The two uniforms (lo + 1/2) 2^-32 and (hi + 1/2) 2^-32 of eight words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<double> Low, Vector512<double> High) UniformPair(Vector512<ulong> word)
    {
        var bits = Vector512.Create(TwoTo52Bits);
        var offset = Vector512.Create(4503599627370496.0 - 0.5);   // 2^52 - 1/2
        var scale = Vector512.Create(TwoToMinus32);
        var lo = ((word & Vector512.Create(0xFFFF_FFFFUL)) | bits).AsDouble() - offset;
        var hi = ((word >> 32) | bits).AsDouble() - offset;
        return (lo * scale, hi * scale);
    }

    /// <summary>
    /// The slope c [...] (delta's shape and dtype) for differences <paramref name="delta"/> = theta_0 - theta_1 and
    /// samples <paramref name="d0"/> in {0, 1}, K = <paramref name="k"/> conditional draws at temperature
    /// <paramref name="tau"/>, from the stream <paramref name="key"/>.
    /// </summary>
    public static Tensor Slope(Tensor delta, Tensor d0, double tau, int k, ulong key)
    {
        var deltaC = delta.contiguous();
        var d0C = d0.contiguous();
        var result = torch.empty_like(deltaC);
        long n = deltaC.numel();
        if (n > 0)
        {
            int chunks = checked((int)((n + ChunkEntries - 1) / ChunkEntries));
            // About 15 vector operations per draw (30 with logarithms): the work per chunk in element operations.
            long work = (long)ChunkEntries * k * (tau == 1.0 ? 15 : 30);
            SolverParallelism.For(chunks, work, c => Chunk(deltaC, d0C, result, c, n, tau, k, key));
        }
        if (!ReferenceEquals(deltaC, delta)) deltaC.Dispose();
        if (!ReferenceEquals(d0C, d0)) d0C.Dispose();
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Chunk(Tensor delta, Tensor d0, Tensor result, int chunk, long n, double tau, int k, ulong key)
    {
        long first = (long)chunk * ChunkEntries;
        int m = (int)Math.Min(ChunkEntries, n - first);
        Span<double> b = stackalloc double[ChunkEntries + Lanes];
        Span<double> c = stackalloc double[ChunkEntries + Lanes];
        Load(delta, d0, first, b[..m]);
        b[m..].Clear();
        var drawStep = Vector512.Create(unchecked((ulong)n * CounterStream.Gamma));
        bool rational = tau == 1.0;
        double scale = 1.0 / (k * tau);
        for (int e = 0; e < m; e += Lanes)
        {
            var state = CounterStream.Lanes(key, (ulong)(first + e), 1);
            var bv = Vector512.LoadUnsafe(ref b[e]);
            Vector512<double> value;
            if (rational)
            {
                var r = Vector512.Exp(-Vector512.Abs(bv));
                var positive = Vector512.GreaterThan(bv, Vector512<double>.Zero);
                var one = Vector512<double>.One;
                var alpha = one + r;
                var g = Vector512.ConditionalSelect(positive, r - one, one - r);
                var kappa = Vector512.ConditionalSelect(positive, r, one);
                Vector512<double> s1 = Vector512<double>.Zero, s2 = Vector512<double>.Zero;
                for (int draw = 0; draw < k; draw += 2)
                {
                    var (u0, u1) = UniformPair(CounterStream.Mix(state));
                    state += drawStep;
                    var h = u0 / (alpha + g * u0);
                    s1 += h;
                    s2 += h * h;
                    if (draw + 1 == k) break;
                    h = u1 / (alpha + g * u1);
                    s1 += h;
                    s2 += h * h;
                }
                value = kappa * (s1 - kappa * s2) * Vector512.Create(1.0 / k);
            }
            else
            {
                // softplus(b) = max(b, 0) + log(1 + exp(-|b|)); sigmoid(b) = 1 / (1 + exp(-b)).
                var softplus = Vector512.Max(bv, Vector512<double>.Zero) + Vector512.Log(Vector512<double>.One + Vector512.Exp(-Vector512.Abs(bv)));
                var minusSigmoid = -(Vector512<double>.One / (Vector512<double>.One + Vector512.Exp(-bv)));
                var inverseTau = Vector512.Create(1.0 / tau);
                Vector512<double> sum = Vector512<double>.Zero;
                for (int draw = 0; draw < k; draw += 2)
                {
                    var (u0, u1) = UniformPair(CounterStream.Mix(state));
                    state += drawStep;
                    sum += LogFormTerm(u0, softplus, minusSigmoid, inverseTau);
                    if (draw + 1 == k) break;
                    sum += LogFormTerm(u1, softplus, minusSigmoid, inverseTau);
                }
                value = sum * Vector512.Create(scale);
            }
            value.StoreUnsafe(ref c[e]);
        }
        NoiseKernels.Store(c[..m], result, first);
    }

    /// <summary>sigma'(y / tau) for y = softplus(b) - log U + log(1 - U sigmoid(b)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> LogFormTerm(Vector512<double> u, Vector512<double> softplus, Vector512<double> minusSigmoid, Vector512<double> inverseTau)
    {
        var y = softplus - Vector512.Log(u) + Vector512.Log(Vector512<double>.One + u * minusSigmoid);
        var s = Vector512<double>.One / (Vector512<double>.One + Vector512.Exp(-y * inverseTau));
        return s - s * s;
    }

    /// <summary>b = delta where d_0 = 1 and -delta where d_0 = 0, entries [first, first + b.Length), as float64.</summary>
    private static void Load(Tensor delta, Tensor d0, long first, Span<double> b)
    {
        int m = b.Length;
        if (delta.dtype == ScalarType.Float64)
        {
            var dv = MemoryMarshal.Cast<byte, double>(delta.bytes).Slice((int)first, m);
            var sv = MemoryMarshal.Cast<byte, double>(d0.bytes).Slice((int)first, m);
            for (int i = 0; i < m; i++) b[i] = sv[i] != 0 ? dv[i] : -dv[i];
        }
        else
        {
            var dv = MemoryMarshal.Cast<byte, float>(delta.bytes).Slice((int)first, m);
            var sv = MemoryMarshal.Cast<byte, float>(d0.bytes).Slice((int)first, m);
            for (int i = 0; i < m; i++) b[i] = sv[i] != 0 ? dv[i] : -(double)dv[i];
        }
    }
}
