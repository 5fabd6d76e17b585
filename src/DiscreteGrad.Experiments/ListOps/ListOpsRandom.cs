namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The seeded random source of the ListOps generator: SplitMix64 (Steele, Lea and Flood, "Fast Splittable
/// Pseudorandom Number Generators", 2014). Integer arithmetic only, so a data set depends on its seed alone, on every
/// platform, culture and .NET version. Uniforms in [0, 1) from the top 53 bits; integers in [0, n) by the
/// multiply-shift of the top 32 bits (bias below n / 2^32).
/// </summary>
public sealed class ListOpsRandom
{
    private ulong _state;

    /// <summary>Starts the stream at <paramref name="seed"/>.</summary>
    public ListOpsRandom(ulong seed) => _state = seed;

    /// <summary>A seed for stream <paramref name="stream"/> of the data set with seed <paramref name="seed"/> (a hash of both).</summary>
    public static ulong StreamSeed(long seed, long stream) => Mix(Mix((ulong)seed ^ 0x4C6973744F7073UL) + (ulong)stream);

    /// <summary>Next 64 random bits.</summary>
    public ulong NextBits()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextBits() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="n"/>), n &gt;= 1.</summary>
    public int NextInt(int n) => (int)(((NextBits() >> 32) * (ulong)n) >> 32);

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher-Yates).</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
