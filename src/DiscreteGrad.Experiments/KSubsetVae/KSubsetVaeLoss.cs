using DiscreteGrad.Imle;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.KSubsetVae;

/// <summary>The terms of the loss of one batch.</summary>
/// <param name="Training">The training objective (scalar): mean over examples of (sum over the S samples of the BCE + KL).</param>
/// <param name="Bce">BCE per example and sample [B, S] (summed over pixels).</param>
/// <param name="Kl">KL per example [B] (summed over blocks).</param>
public sealed record KSubsetVaeLossTerms(Tensor Training, Tensor Bce, Tensor Kl);

/// <summary>
/// Loss of the k-subset discrete VAE, as the reference (torch-adaptive-imle, cli/vae-cli.py, <c>gumbel_loss</c>):
/// <list type="bullet">
/// <item>BCE(b, s) = sum_pixels BCEWithLogits(reconstruction_{b*S+s}, x_b), on the grey levels x in [0, 1];</item>
/// <item>KL(b) = sum_m sum_n q_{b,m,n} (log q_{b,m,n} - log(1/N)), q_{b,m} = softmax of block m's logits: the KL of each
/// block's softmax to the uniform distribution over its N entries (the reference's choice for k-subsets too; it is not the
/// KL of the k-subset distribution, whose marginals sum to k);</item>
/// <item>or, with <see cref="KSubsetKl.KSubset"/>, the exact KL of each block's k-subset distribution
/// q(z) ∝ exp(&lt;theta_{b,m}, z&gt;), |z| = k, to the uniform distribution over the C(N, k) subsets: log C(N, k) - H(q) with
/// H(q) = log Z_k(theta) - &lt;theta, mu(theta)&gt; (<see cref="KSubsetDistribution"/>), the KL of the SIMPLE paper's discrete
/// VAE (Ahmed et al., ICLR 2023, their DVAE notebook);</item>
/// <item>training objective = mean_b (sum_s BCE(b, s) + KL(b)). The S reconstruction terms are summed, as the reference
/// does; since the I-MLE layer averages its S per-sample estimates, the encoder then receives an estimate of the gradient
/// of mean_s BCE + KL.</item>
/// </list>
/// </summary>
public static class KSubsetVaeLoss
{
    /// <summary>Computes the loss terms.</summary>
    /// <param name="logits">Encoder logits [B, M*N].</param>
    /// <param name="reconstruction">Pixel logits [B*S, D], row b*S + s.</param>
    /// <param name="x">Images [B, D] in [0, 1].</param>
    /// <param name="blocks">Number of blocks M.</param>
    /// <param name="categories">Entries per block N.</param>
    /// <param name="kl">Which KL term (default: the categorical one of the AIMLE reference).</param>
    /// <param name="k">Ones per block (for <see cref="KSubsetKl.KSubset"/>).</param>
    public static KSubsetVaeLossTerms Compute(Tensor logits, Tensor reconstruction, Tensor x, int blocks, int categories,
        KSubsetKl kl = KSubsetKl.Categorical, int k = 1)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(reconstruction);
        ArgumentNullException.ThrowIfNull(x);
        long b = x.shape[0];
        if (reconstruction.shape[0] % b != 0 || reconstruction.shape[1] != x.shape[1])
            throw new ArgumentException($"reconstruction must have shape [B*S, {x.shape[1]}] for B = {b} (got [{string.Join(", ", reconstruction.shape)}]).",
                nameof(reconstruction));
        long s = reconstruction.shape[0] / b;
        var target = s == 1 ? x : x.repeat_interleave(s, 0);
        var bce = nn.functional.binary_cross_entropy_with_logits(reconstruction, target, reduction: nn.Reduction.None)
            .sum(dim: 1).reshape(b, s);
        var klTerm = kl == KSubsetKl.KSubset ? SubsetKl(logits, blocks, categories, k) : Kl(logits, blocks, categories);
        var training = bce.sum(dim: 1).mean() + klTerm.mean();
        return new KSubsetVaeLossTerms(training, bce, klTerm);
    }

    /// <summary>KL(b) = sum_m KL(softmax(theta_{b,m}) || uniform(N)) for logits [B, M*N]; returns [B].</summary>
    public static Tensor Kl(Tensor logits, int blocks, int categories)
    {
        ArgumentNullException.ThrowIfNull(logits);
        Guard.AtLeast(blocks, 1, nameof(blocks));
        Guard.AtLeast(categories, 2, nameof(categories));
        if (logits.dim() != 2 || logits.shape[1] != (long)blocks * categories)
            throw new ArgumentException($"logits must have shape [B, {blocks * categories}] (got [{string.Join(", ", logits.shape)}]).", nameof(logits));
        var logq = nn.functional.log_softmax(logits.reshape(logits.shape[0], blocks, categories), -1);
        return (logq.exp() * (logq + Math.Log(categories))).sum(new long[] { 1, 2 });
    }

    /// <summary>
    /// KL(b) = sum_m [log C(N, k) - H(q_{b,m})] for logits [B, M*N]: the exact KL of each block's k-subset distribution
    /// q ∝ exp(&lt;theta, z&gt;), |z| = k, to the uniform one, with H(q) = log Z_k(theta) - &lt;theta, mu(theta)&gt;; returns [B].
    /// </summary>
    public static Tensor SubsetKl(Tensor logits, int blocks, int categories, int k)
    {
        ArgumentNullException.ThrowIfNull(logits);
        Guard.AtLeast(blocks, 1, nameof(blocks));
        Guard.AtLeast(categories, 2, nameof(categories));
        if (k < 1 || k > categories) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, categories = {categories}] (got {k}).");
        if (logits.dim() != 2 || logits.shape[1] != (long)blocks * categories)
            throw new ArgumentException($"logits must have shape [B, {blocks * categories}] (got [{string.Join(", ", logits.shape)}]).", nameof(logits));
        var theta = logits.reshape(logits.shape[0], blocks, categories);
        var entropy = KSubsetDistribution.LogPartition(theta, k) - (theta * KSubsetDistribution.Marginals(theta, k)).sum(-1);   // [B, M]
        return (LogBinomial(categories, k) - entropy).sum(1);
    }

    /// <summary>log C(n, k), summed in logs.</summary>
    private static double LogBinomial(int n, int k)
    {
        double r = 0;
        for (int i = 1; i <= k; i++) r += Math.Log(n - k + i) - Math.Log(i);
        return r;
    }
}
