using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// The exact k-subset distribution over the last axis of theta [..., n]: p_theta(z) = exp(&lt;theta, z&gt;) / Z_k(theta)
/// for z in {0,1}^n with exactly k ones, Z_k(theta) = sum_{|z| = k} exp(&lt;theta, z&gt;) = e_k(exp theta_1, ..., exp theta_n),
/// the k-th elementary symmetric polynomial. Its log-partition, exact marginals mu(theta) = E_p[z] = d log Z_k / d theta and
/// exact samples, by dynamic programming in log space, as in SIMPLE (Ahmed, Zeng, Niepert and Van den Broeck, "SIMPLE: A
/// Gradient Estimator for k-Subset Sampling", ICLR 2023), which computes the same quantities on the Bernoulli
/// parameterisation p(z | sum z = k) with p_i = sigmoid(theta_i) (the same distribution: prod p_i^z_i (1 - p_i)^(1 - z_i)
/// is exp(&lt;theta, z&gt;) times a constant).
/// <para>Tables: A_i[j] = log e_j(exp theta_1, ..., exp theta_i), "j of the first i items chosen", for 0 &lt;= j &lt;= min(i, k):
/// A_0[0] = 0, A_i[0] = 0, A_i[j] = logaddexp(A_{i-1}[j], A_{i-1}[j-1] + theta_i) (the first term absent for j = i). The
/// tables only hold the reachable entries (width min(i, k) + 1), so no -inf enters an operation and autograd through them
/// is finite everywhere. log Z_k = A_n[k]. The suffix tables C_m (the last m items) are the same recursion on the reversed
/// items, and mu_i = sum_j exp(A_{i-1}[j] + theta_i + C_{n-i}[k-1-j] - log Z_k), the sum running over the j that both tables
/// hold. O(n k) operations per row, batched over rows with tensor operations: n steps of [rows, k + 1] operations each.</para>
/// <para>Precision: the tables are computed in float64 whatever theta's dtype, and the results converted back. In float32
/// the log-domain entries, of the size of |log Z| (up to k max |theta|), would carry an absolute rounding error of
/// |log Z| x 6e-8, which becomes the relative error of the marginals: 1e-4 already at log Z = 1e3. The uniform draws of
/// <see cref="Sample"/> are float64 too, so a generator gives the same samples whatever theta's dtype.</para>
/// <para><see cref="Marginals"/> and <see cref="LogPartition"/> are differentiable: the backward pass of
/// <see cref="Marginals"/> is autograd through the tables, so the vector-Jacobian product is the exact Hessian-vector product
/// (d mu / d theta)^T g = Cov_p(z) g (up to rounding), which is what the SIMPLE estimator back-propagates.</para>
/// <para><see cref="Sample"/> draws exact samples by the tables' backward pass: with r = k ones left to place among the
/// first i items, z_i = 1 with probability exp(theta_i + A_{i-1}[r-1] - A_i[r]) = sigmoid(theta_i + A_{i-1}[r-1] - A_{i-1}[r])
/// (1 when r = i, 0 when r = 0), for i = n, ..., 1.</para>
/// </summary>
public static class KSubsetDistribution
{
    /// <summary>log Z_k(theta) = log sum_{|z| = k} exp(&lt;theta, z&gt;) over the last axis; differentiable (its gradient is <see cref="Marginals"/>).</summary>
    /// <param name="theta">Logits [..., n], floating point, finite, n &gt;= 1.</param>
    /// <param name="k">Subset size, in [1, n].</param>
    /// <returns>[...] (a scalar tensor for theta [n]).</returns>
    public static Tensor LogPartition(Tensor theta, int k)
    {
        var n = Check(theta, k);
        using var scope = torch.NewDisposeScope();
        var a = Tables(Rows(theta, n), k);
        var logZ = a[n].select(1, k);
        return scope.MoveToOuter(logZ.reshape(theta.shape[..^1]).to(theta.dtype));
    }

    /// <summary>
    /// The exact marginals mu(theta)_i = p_theta(z_i = 1) over the last axis (they sum to k); differentiable, the
    /// vector-Jacobian product being the exact Hessian of log Z_k times the vector.
    /// </summary>
    /// <param name="theta">Logits [..., n], floating point, finite, n &gt;= 1.</param>
    /// <param name="k">Subset size, in [1, n].</param>
    /// <returns>mu [..., n], theta's dtype and device.</returns>
    public static Tensor Marginals(Tensor theta, int k)
    {
        var n = Check(theta, k);
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(RowMarginals(Rows(theta, n), k).reshape(theta.shape).to(theta.dtype));
    }

    /// <summary>
    /// Exact samples of p_theta over the last axis: <paramref name="samples"/> draws per row of theta [B, ..., n], stacked
    /// as [B*S, ..., n] with sample s of instance b at row b*S + s (the layout of <see cref="SampleLayout.Stacked"/>);
    /// 0/1 in theta's dtype, exactly k ones per row. No gradient.
    /// </summary>
    /// <param name="theta">Logits [B, ..., n] (or [n]: then [S, n]), floating point, finite.</param>
    /// <param name="k">Subset size, in [1, n].</param>
    /// <param name="samples">Samples S &gt;= 1 per instance.</param>
    /// <param name="generator">Random source of the uniform draws (null: TorchSharp's default generator).</param>
    public static Tensor Sample(Tensor theta, int k, int samples = 1, Generator? generator = null)
    {
        var n = Check(theta, k);
        Guard.AtLeast(samples, 1, nameof(samples));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var t = theta.dim() == 1 ? theta.unsqueeze(0) : theta;
        var shape = t.shape.ToArray();
        shape[0] *= samples;
        // Rows of one instance are contiguous, so repeating each row S times gives the stacked order b*S + s.
        var z = SampleRows(Rows(t.detach(), n), k, samples, generator);
        return scope.MoveToOuter(z.reshape(shape).to(theta.dtype));
    }

    /// <summary>Checks theta and k; returns n (the size of the last axis).</summary>
    internal static long Check(Tensor theta, int k)
    {
        ArgumentNullException.ThrowIfNull(theta, nameof(theta));
        if (!theta.is_floating_point())
            throw new ArgumentException($"theta must be a floating-point tensor (got {theta.dtype}).", nameof(theta));
        if (theta.dim() < 1 || theta.shape[^1] < 1)
            throw new ArgumentException($"theta must have shape [..., n] with n >= 1 (got [{string.Join(", ", theta.shape)}]).", nameof(theta));
        long n = theta.shape[^1];
        if (k < 1 || k > n)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, n = {n}] (got {k}).");
        Guard.Finite(theta, nameof(theta));
        return n;
    }

    /// <summary>theta [..., n] as float64 rows [R, n] (differentiable): the tables are always computed in float64.</summary>
    private static Tensor Rows(Tensor theta, long n)
    {
        var rows = theta.reshape(-1, n);
        return rows.dtype == ScalarType.Float64 ? rows : rows.to(ScalarType.Float64);
    }

    /// <summary>The prefix tables A_0 .. A_n of rows [R, n] (A_i [R, min(i, k) + 1]), differentiable.</summary>
    internal static Tensor[] Tables(Tensor rows, int k)
    {
        long r = rows.shape[0], n = rows.shape[1];
        var a = new Tensor[n + 1];
        var zero = torch.zeros(new[] { r, 1L }, dtype: rows.dtype, device: rows.device);
        a[0] = zero;
        for (int i = 1; i <= n; i++)
        {
            var prev = a[i - 1];
            long w = prev.shape[1];                                  // min(i - 1, k) + 1
            var t = rows.narrow(1, i - 1, 1);                       // theta_i [R, 1]
            var parts = new List<Tensor>(3) { zero };
            if (w > 1) parts.Add(torch.logaddexp(prev.narrow(1, 1, w - 1), prev.narrow(1, 0, w - 1) + t));
            if (i <= k) parts.Add(prev.narrow(1, w - 1, 1) + t);    // j = i: all of the first i items chosen
            a[i] = torch.cat(parts, 1);
        }
        return a;
    }

    /// <summary>mu of rows [R, n]: the masked combination of the prefix and suffix tables (see the class remarks).</summary>
    internal static Tensor RowMarginals(Tensor rows, int k)
    {
        long r = rows.shape[0], n = rows.shape[1];
        if (k == n) return rows - rows + torch.ones_like(rows);    // every item chosen: mu = 1, Hessian 0 (kept in the graph)
        var a = Tables(rows, k);
        var c = Tables(rows.flip(1), k);
        var logZ = a[n].narrow(1, k, 1);                            // [R, 1]
        // Pad each table to width k + 1 (finite zeros, masked out below) and stack: [R, n, k + 1].
        Tensor Padded(Tensor[] tables, int first) => torch.stack(
            Enumerable.Range(first, (int)n).Select(i => tables[i].shape[1] == k + 1
                ? tables[i]
                : torch.cat(new[] { tables[i], torch.zeros(new[] { r, k + 1 - tables[i].shape[1] }, dtype: rows.dtype, device: rows.device) }, 1)).ToArray(), 1);
        var prefix = Padded(a, 0).narrow(2, 0, k);                 // [R, n, k]: A_{i-1}[j] for item i (0-based i: A_i), j < k
        var suffix = Padded(c, 0).narrow(2, 0, k).flip(1, 2);      // [R, n, k]: C_{n-1-i}[k-1-j]
        var mask = Feasible(n, k, rows.device);                     // [n, k]: j <= i and k - 1 - j <= n - 1 - i
        using var negInf = double.NegativeInfinity.ToScalar();
        var terms = (prefix + suffix).masked_fill(mask.logical_not(), negInf);
        var log = torch.logsumexp(terms, 2) + rows - logZ;          // log mu_i [R, n]
        return log.exp();
    }

    private static Tensor Feasible(long n, int k, Device device)
    {
        var feasible = new bool[n * k];
        for (long i = 0; i < n; i++)
            for (long j = 0; j < k; j++) feasible[i * k + j] = j <= i && j >= i - (n - k);
        return torch.tensor(feasible, new[] { n, (long)k }, device: device);
    }

    /// <summary>
    /// Exact samples of rows [R, n] by the tables' backward pass, S per row, [R*S, n] with sample s of row q at q*S + s
    /// (no gradient). The tables are computed once per row and repeated for its samples.
    /// </summary>
    internal static Tensor SampleRows(Tensor rows, int k, int samples, Generator? generator)
    {
        long n = rows.shape[1];
        // Explicit scalars, disposed at the end: an implicit one (a double or long where TorchSharp wants a Scalar) can be
        // finalised by the garbage collector while the native call that received it still runs.
        using var negInf = double.NegativeInfinity.ToScalar();
        using var zero = 0L.ToScalar();
        using var one = 1L.ToScalar();
        using var count = ((long)k).ToScalar();
        var a = Tables(rows, k);
        // A_i padded with -inf to width k + 1 (unreachable entries j > i), then repeated for the samples: [R*S, k + 1] each.
        var padded = a.Select(t =>
        {
            var p = t.shape[1] == k + 1 ? t
                : torch.cat(new[] { t, torch.full(new[] { t.shape[0], k + 1 - t.shape[1] }, negInf, dtype: rows.dtype, device: rows.device) }, 1);
            return samples == 1 ? p : p.repeat_interleave(samples, 0);
        }).ToArray();
        if (samples > 1) rows = rows.repeat_interleave(samples, 0);
        long r = rows.shape[0];
        var u = torch.rand(new[] { r, n }, dtype: rows.dtype, device: rows.device, generator: generator);
        var z = torch.zeros(new[] { r, n }, dtype: rows.dtype, device: rows.device);
        var left = torch.full(new[] { r, 1L }, count, dtype: ScalarType.Int64, device: rows.device);
        for (long i = n; i >= 1; i--)
        {
            var prev = padded[i - 1];
            var take = prev.gather(1, (left - one).clamp_min(zero));   // A_{i-1}[r - 1]
            var skip = prev.gather(1, left);                         // A_{i-1}[r] (-inf when r > i - 1: the item must be taken)
            var logit = rows.narrow(1, i - 1, 1) + take - skip;
            var chosen = (u.narrow(1, i - 1, 1) < torch.sigmoid(logit)).logical_and(left.gt(zero));
            z.narrow(1, i - 1, 1).copy_(chosen);
            left = left - chosen.to(ScalarType.Int64);
        }
        return z;
    }
}
