using DiscreteGrad.Sampling;
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
    public abstract Tensor Sample(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null);

    private sealed class NoNoise : ImleNoise
    {
        public override bool IsZero => true;
        public override Tensor Sample(long[] shape, Generator? generator, ScalarType dtype, Device? device)
            => torch.zeros(shape, dtype: dtype, device: device);
        public override string ToString() => "None";
    }

    private sealed class GumbelNoise : ImleNoise
    {
        public override Tensor Sample(long[] shape, Generator? generator, ScalarType dtype, Device? device)
            => Sampling.Gumbel.Sample(shape, 1.0, generator, dtype, device);
        public override string ToString() => "Gumbel(0, 1)";
    }
}

/// <summary>
/// Sum-of-Gamma noise (Niepert et al. 2021): eps = (sum_{i=1..s} G_i - log s) / k with G_i ~ Gamma(shape 1/k, rate i/k).
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
    public override Tensor Sample(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
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
