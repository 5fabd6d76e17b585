using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// A counter-based random stream: word i of the stream with key K is SplitMix64's output for the state K + (i + 1) gamma,
/// mix(z) = fmix64-style finaliser (Steele, Lea and Flood, "Fast Splittable Pseudorandom Number Generators", OOPSLA 2014;
/// the constants of Vigna's splitmix64.c). Any word is computable on its own, so eight SIMD lanes (or threads) draw disjoint
/// parts of one stream and the result does not depend on the vector width or the number of threads.
/// </summary>
internal static class CounterStream
{
    /// <summary>The Weyl increment gamma = 2^64 / golden ratio.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private const ulong OneBits = 0x3FF0000000000000UL;
    /// <summary>1 - 2^-53: (bits of [1, 2)) - this maps the 52 random bits onto (0, 1), both ends excluded.</summary>
    private const double OneMinusHalfUlp = 1.0 - 1.0 / (1UL << 53);

    /// <summary>Draws the key of a stream from a torch generator (one 63-bit integer; null: TorchSharp's default generator).</summary>
    public static ulong KeyFrom(Generator? generator, Device? device)
    {
        using var draw = torch.randint(0, long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64, device: device, generator: generator);
        return Mix((ulong)draw.cpu().item<long>());
    }

    /// <summary>SplitMix64's finaliser.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>SplitMix64's finaliser on eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ulong> Mix(Vector512<ulong> z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Word <paramref name="index"/> of the stream <paramref name="key"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Word(ulong key, ulong index) => Mix(key + (index + 1) * Gamma);

    /// <summary>A uniform in the open interval (0, 1) from the top 52 bits of a word: k 2^-52 + 2^-53, k = 0 .. 2^52 - 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Uniform(ulong word) => BitConverter.UInt64BitsToDouble((word >> 12) | OneBits) - OneMinusHalfUlp;

    /// <summary><see cref="Uniform(ulong)"/> on eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Uniform(Vector512<ulong> word)
        => ((word >> 12) | Vector512.Create(OneBits)).AsDouble() - Vector512.Create(OneMinusHalfUlp);

    /// <summary>Lane l holds the state of word <paramref name="first"/> + <paramref name="stride"/> l.</summary>
    public static Vector512<ulong> Lanes(ulong key, ulong first, ulong stride)
        => Vector512.Create(key + (first + 1) * Gamma) + Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7) * (stride * Gamma);
}

/// <summary>
/// The managed samplers behind <see cref="ImleNoise"/>: exact Gamma and Gumbel draws in float64 on eight SIMD lanes
/// (<see cref="Vector512{T}"/>; on hardware without AVX-512 .NET runs each operation as two 256-bit or four 128-bit ones),
/// from a <see cref="CounterStream"/> keyed by the layer's torch generator. The noise is drawn in chunks of
/// <see cref="ChunkEntries"/> entries, each from its own part of the stream, so that chunks can run on several threads
/// with the same result.
/// </summary>
internal static class NoiseKernels
{
    /// <summary>Entries per chunk (and per task when the draw is spread over threads).</summary>
    public const int ChunkEntries = 512;
    private const int Lanes = 8;

    /// <summary>
    /// Fills <paramref name="destination"/> (a contiguous CPU float32 or float64 tensor) with Sum-of-Gamma noise
    /// eps = sum_{i=1..s} g_i / i - (log s) / k, g_i ~ Gamma(1/k, 1) (see <see cref="SumOfGammaNoise"/>).
    /// </summary>
    public static void SumOfGamma(Tensor destination, double k, int s, ulong key)
    {
        long n = destination.numel();
        if (n == 0) return;
        int chunks = checked((int)((n + ChunkEntries - 1) / ChunkEntries));
        // About 20 vector operations per Gamma draw: work per chunk in the units of SolverParallelism (element operations).
        SolverParallelism.For(chunks, 20L * ChunkEntries * s, c => SumOfGammaChunk(destination, c, n, k, s, key));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumOfGammaChunk(Tensor destination, int chunk, long n, double k, int s, ulong key)
    {
        long first = (long)chunk * ChunkEntries;
        int m = (int)Math.Min(ChunkEntries, n - first);
        double[] draws = ArrayPool<double>.Shared.Rent(m * s + Lanes);
        Span<double> sums = stackalloc double[ChunkEntries];
        sums = sums[..m];
        try
        {
            Gamma(draws, m * s, 1.0 / k, key, (ulong)chunk << 32);
            // sums[e] = -(log s)/k + sum_{i=1..s} draws[(i - 1) m + e] / i.
            sums.Fill(-Math.Log(s) / k);
            for (int i = 1; i <= s; i++)
            {
                double w = 1.0 / i;
                var row = draws.AsSpan((i - 1) * m, m);
                int e = 0;
                for (; e + Lanes <= m; e += Lanes)
                    (Vector512.LoadUnsafe(ref sums[e]) + Vector512.LoadUnsafe(ref row[e]) * w).StoreUnsafe(ref sums[e]);
                for (; e < m; e++) sums[e] += row[e] * w;
            }
            Store(sums, destination, first);
        }
        finally { ArrayPool<double>.Shared.Return(draws); }
    }

    /// <summary>
    /// Fills <paramref name="destination"/> (a contiguous CPU float32 or float64 tensor) with Gumbel(0, 1) noise
    /// g = -log(-log U), U uniform on (0, 1) from word e of the stream for entry e (every draw finite: |g| &lt; 37).
    /// </summary>
    public static void Gumbel(Tensor destination, ulong key)
    {
        long n = destination.numel();
        if (n == 0) return;
        int chunks = checked((int)((n + ChunkEntries - 1) / ChunkEntries));
        SolverParallelism.For(chunks, 40L * ChunkEntries, c => GumbelChunk(destination, c, n, key));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GumbelChunk(Tensor destination, int chunk, long n, ulong key)
    {
        long first = (long)chunk * ChunkEntries;
        int m = (int)Math.Min(ChunkEntries, n - first);
        Span<double> g = stackalloc double[ChunkEntries];
        var state = CounterStream.Lanes(key, (ulong)first, 1);
        var step = Vector512.Create(unchecked(Lanes * CounterStream.Gamma));
        for (int e = 0; e < m; e += Lanes)
        {
            var u = CounterStream.Uniform(CounterStream.Mix(state));
            state += step;
            (-Vector512.Log(-Vector512.Log(u))).StoreUnsafe(ref g[0], (nuint)e);
        }
        Store(g[..m], destination, first);
    }

    /// <summary>
    /// Fills <paramref name="destination"/> (a contiguous CPU float32 or float64 tensor) with log U, U uniform on (0, 1)
    /// from word <paramref name="firstWord"/> + e of the stream for entry e: minus an Exponential(1) draw (every value
    /// finite: log U &gt;= -36.8).
    /// </summary>
    public static void LogUniform(Tensor destination, ulong key, ulong firstWord)
    {
        long n = destination.numel();
        if (n == 0) return;
        int chunks = checked((int)((n + ChunkEntries - 1) / ChunkEntries));
        SolverParallelism.For(chunks, 20L * ChunkEntries, c => LogUniformChunk(destination, c, n, key, firstWord));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LogUniformChunk(Tensor destination, int chunk, long n, ulong key, ulong firstWord)
    {
        long first = (long)chunk * ChunkEntries;
        int m = (int)Math.Min(ChunkEntries, n - first);
        Span<double> l = stackalloc double[ChunkEntries];
        var state = CounterStream.Lanes(key, firstWord + (ulong)first, 1);
        var step = Vector512.Create(unchecked(Lanes * CounterStream.Gamma));
        for (int e = 0; e < m; e += Lanes)
        {
            var u = CounterStream.Uniform(CounterStream.Mix(state));
            state += step;
            Vector512.Log(u).StoreUnsafe(ref l[0], (nuint)e);
        }
        Store(l[..m], destination, first);
    }

    /// <summary>Writes float64 values to entries [first, first + values.Length) of a contiguous CPU float32 or float64 tensor.</summary>
    internal static void Store(ReadOnlySpan<double> values, Tensor destination, long first)
    {
        if (destination.dtype == ScalarType.Float64)
        {
            values.CopyTo(MemoryMarshal.Cast<byte, double>(destination.bytes).Slice((int)first, values.Length));
            return;
        }
        var dst = MemoryMarshal.Cast<byte, float>(destination.bytes).Slice((int)first, values.Length);
        int e = 0;
        for (; e + 2 * Lanes <= values.Length; e += 2 * Lanes)
            Vector512.Narrow(Vector512.Create(values.Slice(e, Lanes)), Vector512.Create(values.Slice(e + Lanes, Lanes))).StoreUnsafe(ref dst[e]);
        for (; e < values.Length; e++) dst[e] = (float)values[e];
    }

    /// <summary>
    /// Writes <paramref name="count"/> independent Gamma(<paramref name="shape"/>, 1) draws to <paramref name="destination"/>
    /// (length &gt;= count + 8), from the words <paramref name="first"/>, <paramref name="first"/> + 1, ... of the stream
    /// <paramref name="key"/>.
    /// </summary>
    public static void Gamma(double[] destination, int count, double shape, ulong key, ulong first)
    {
        if (destination.Length < count + Lanes)
            throw new ArgumentException($"destination needs {count + Lanes} entries (got {destination.Length}).", nameof(destination));
        if (shape <= 1) GammaSmallShape(destination, count, shape, key, first);
        else GammaLargeShape(destination, count, shape, key, first);
    }

    /// <summary>
    /// Gamma(a), 0 &lt; a &lt;= 1, by Ahrens and Dieter's rejection algorithm GS ("Computer methods for sampling from gamma,
    /// beta, Poisson and binomial distributions", Computing 12, 1974): envelope x^(a-1) on (0, 1] and e^-x on (1, inf), of
    /// masses 1/a and 1/e. With b = 1 + a/e and p = b U1: if p &lt;= 1, x = p^(1/a), accepted when U2 &lt;= e^-x; else
    /// x = -log((b - p) / a) = 1 - log V, V = (b - p) / (b - 1) uniform, accepted when U2 &lt;= x^(a-1). Acceptance rate
    /// Gamma(a + 1) e / (e + a) (0.92 at a = 0.1, 0.97 at a = 1/30).
    /// <para>Candidate j takes words 2j (U1) and 2j + 1 (U2) from <paramref name="first"/> on; lane l of step t is
    /// candidate 8t + l, and the accepted ones fill the slots in candidate order. The test against e^-x first uses the
    /// bounds 1 - x + x^2/2 - x^3/6 &lt;= e^-x &lt;= that + x^4/24 and evaluates the exponential only when U2 falls between
    /// them; p^(1/a) is a product of squarings when 1/a is an integer (as for top-k, k = 1/a). The few candidates with
    /// p &gt; 1 (a / (e + a) of them) keep their slot and are decided together after the main loop; the slots of the
    /// rejected ones are then filled, in order, by a further run of the sampler on the next words. Which candidate fills
    /// which slot depends only on acceptance and branch events of other candidates, never on the value placed, so every
    /// slot holds an independent Gamma(a) draw.</para>
    /// </summary>
    /// <returns>The first word after those used.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong GammaSmallShape(double[] destination, int count, double a, ulong key, ulong first)
    {
        double b = 1 + a / Math.E, inverseShape = 1 / a;
        int power = inverseShape == Math.Round(inverseShape) && inverseShape <= 1 << 10 ? (int)inverseShape : 0;
        var state1 = CounterStream.Lanes(key, first, 2);
        var state2 = CounterStream.Lanes(key, first + 1, 2);
        var step = Vector512.Create(unchecked(2 * Lanes * CounterStream.Gamma));
        var one = Vector512<double>.One;
        var vb = Vector512.Create(b);
        var placeholder = Vector512.Create(-1.0);
        // The candidates with p > 1, in candidate order: their slot, p and U2.
        double[] sideSlot = ArrayPool<double>.Shared.Rent(count + 2 * Lanes);
        double[] sideP = ArrayPool<double>.Shared.Rent(count + 2 * Lanes);
        double[] sideU = ArrayPool<double>.Shared.Rent(count + 2 * Lanes);
        try
        {
            int pos = 0, pending = 0;
            ulong steps = 0;
            while (pos < count)
            {
                var u1 = CounterStream.Uniform(CounterStream.Mix(state1));
                var u2 = CounterStream.Uniform(CounterStream.Mix(state2));
                state1 += step;
                state2 += step;
                steps++;
                var p = u1 * vb;
                var low = Vector512.LessThanOrEqual(p, one);
                var x = power > 0 ? Power(p, power) : Vector512.Exp(Vector512.Log(p) * inverseShape);
                // 1 - x + x^2/2 - x^3/6 <= e^-x <= 1 - x + x^2/2 - x^3/6 + x^4/24 for x >= 0.
                var x2 = x * x;
                var lower = one - x + x2 * (Vector512.Create(0.5) - x * (1.0 / 6));
                var accept = low & Vector512.LessThanOrEqual(u2, lower);
                var unsure = low & ~accept & Vector512.LessThanOrEqual(u2, lower + x2 * x2 * (1.0 / 24));
                if (unsure != Vector512<double>.Zero)
                    accept |= unsure & Vector512.LessThanOrEqual(u2, Vector512.Exp(-x));
                // The p > 1 lanes go aside without a branch (a quarter of the vectors have one, too many to predict).
                var high = ~low;
                var keep = accept | high;
                uint highBits = (uint)high.ExtractMostSignificantBits(), keepBits = (uint)keep.ExtractMostSignificantBits();
                Compress(sideSlot, pending, Ranks(keep, keepBits) + Vector512.Create((double)pos), highBits, high);
                Compress(sideP, pending, p, highBits, high);
                pending += Compress(sideU, pending, u2, highBits, high);
                pos += Compress(destination, pos, Vector512.ConditionalSelect(low, x, placeholder), keepBits, keep);
            }
            ulong next = first + steps * 2 * Lanes;
            if (pending == 0) return next;
            // The candidates with p > 1: x = 1 - log V >= 1, accepted when U2 <= x^(a-1) (>= 1 + (a-1)(x-1), its tangent).
            for (int j = 0; j < pending; j += Lanes)
            {
                var p = Vector512.LoadUnsafe(ref sideP[0], (nuint)j);
                var u2 = Vector512.LoadUnsafe(ref sideU[0], (nuint)j);
                var v = (vb - p) * (1 / (b - 1));
                v = Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<double>.Zero), v, one); // lanes past the end
                var x = one - Vector512.Log(v);
                var ok = Vector512.LessThanOrEqual(u2, one + (x - one) * (a - 1))
                    | Vector512.LessThanOrEqual(u2, Vector512.Exp(Vector512.Log(x) * (a - 1)));
                Vector512.ConditionalSelect(ok, x, placeholder).StoreUnsafe(ref sideP[0], (nuint)j);
            }
            // Accepted: into their slot; rejected: the slot is refilled below (its index kept in sideU, already read).
            int holes = 0;
            for (int j = 0; j < pending; j++)
            {
                int slot = (int)sideSlot[j];
                if (slot >= count) break;
                if (sideP[j] >= 0) destination[slot] = sideP[j];
                else sideU[holes++] = slot;
            }
            if (holes == 0) return next;
            double[] refill = ArrayPool<double>.Shared.Rent(holes + Lanes);
            try
            {
                next = GammaSmallShape(refill, holes, a, key, next);
                for (int h = 0; h < holes; h++) destination[(int)sideU[h]] = refill[h];
            }
            finally { ArrayPool<double>.Shared.Return(refill); }
            return next;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(sideSlot);
            ArrayPool<double>.Shared.Return(sideP);
            ArrayPool<double>.Shared.Return(sideU);
        }
    }

    /// <summary>
    /// Gamma(a), a &gt; 1, by Marsaglia and Tsang ("A simple method for generating gamma variables", ACM TOMS 26, 2000):
    /// d = a - 1/3, c = 1 / sqrt(9 d), x = d (1 + c n)^3 for a standard normal n (Box-Muller), accepted when
    /// log U &lt; n^2/2 + d - d v + d log v, v = (1 + c n)^3 (first the squeeze U &lt; 1 - 0.0331 n^4). Candidate j takes
    /// words 3j, 3j + 1 (the normal) and 3j + 2 (U). Scalar: shapes above 1 (k &lt; 1) are not the structures I-MLE targets.
    /// </summary>
    private static void GammaLargeShape(double[] destination, int count, double a, ulong key, ulong first)
    {
        double d = a - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        ulong word = first;
        for (int i = 0; i < count;)
        {
            double r = Math.Sqrt(-2 * Math.Log(CounterStream.Uniform(CounterStream.Word(key, word))));
            double normal = r * Math.Cos(2 * Math.PI * CounterStream.Uniform(CounterStream.Word(key, word + 1)));
            double u = CounterStream.Uniform(CounterStream.Word(key, word + 2));
            word += 3;
            double t = 1 + c * normal;
            if (t <= 0) continue;
            double v = t * t * t, n2 = normal * normal;
            if (u < 1 - 0.0331 * n2 * n2 || Math.Log(u) < 0.5 * n2 + d * (1 - v + Math.Log(v)))
                destination[i++] = d * v;
        }
    }

    /// <summary>p^n for an integer n &gt;= 1 by binary exponentiation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Power(Vector512<double> p, int n)
    {
        var result = (n & 1) != 0 ? p : Vector512<double>.One;
        for (n >>= 1; n != 0; n >>= 1)
        {
            p *= p;
            if ((n & 1) != 0) result *= p;
        }
        return result;
    }

    /// <summary>Stores the lanes of <paramref name="x"/> selected by <paramref name="mask"/> (bits <paramref name="bits"/>)
    /// contiguously at <paramref name="pos"/>, in lane order; writes up to 8 entries; returns how many were kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Compress(double[] destination, int pos, Vector512<double> x, uint bits, Vector512<double> mask)
    {
        if (Avx512F.IsSupported)
        {
            Avx512F.Compress(Vector512<double>.Zero, mask, x).StoreUnsafe(ref destination[0], (nuint)pos);
            return BitOperations.PopCount(bits);
        }
        int kept = 0;
        for (; bits != 0; bits &= bits - 1) destination[pos + kept++] = x.GetElement(BitOperations.TrailingZeroCount(bits));
        return kept;
    }

    /// <summary>Lane l of a kept lane (bit l of <paramref name="bits"/>): the number of kept lanes before it; 0 elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Ranks(Vector512<double> mask, uint bits)
    {
        if (Avx512F.IsSupported) return Avx512F.Expand(Vector512<double>.Zero, mask, Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7));
        Span<double> ranks = stackalloc double[Lanes];
        int rank = 0;
        for (int l = 0; l < Lanes; l++) ranks[l] = (bits >> l & 1) != 0 ? rank++ : 0;
        return Vector512.Create((ReadOnlySpan<double>)ranks);
    }
}
