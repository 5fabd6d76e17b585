using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>
/// The exponential family over k-subsets of n items, p_theta(z) = exp(&lt;z, theta&gt;) / sum_{z'} exp(&lt;z', theta&gt;) for
/// z in {0,1}^n with exactly k ones, enumerated exactly (all C(n, k) states), with the quadratic loss L(z) = ||z - b||^2 of
/// AIMLE's synthetic study (Minervini et al., AAAI 2023, section 5.1; their code: aaai23/synth/distributions.py TopK and
/// utils.expect_obj).
/// <para>Exact expected loss E(theta) = sum_z p_theta(z) L(z) and its gradient, the score-function identity evaluated
/// exactly: grad E = sum_z p_theta(z) (L(z) - E) z = Cov_p(z, L(z)). This is the "true gradient" the estimators are compared
/// with: the top-k MAP of theta + noise is I-MLE's model of a sample of this p_theta (exact for top-1 with Gumbel noise,
/// an approximation otherwise).</para>
/// <para>States are rows of a float64 [C(n, k), n] 0/1 matrix in lexicographic order of the chosen index sets.</para>
/// </summary>
public sealed class KSubsetFamily : IDisposable
{
    /// <summary>Largest number of states enumerated (C(24, 12) = 2704156; the study uses C(20, 10) = 184756).</summary>
    public const long MaxStates = 3_000_000;

    private readonly double[] _states;

    /// <summary>Enumerates all k-subsets of n items.</summary>
    /// <param name="n">Number of items, in [1, 30].</param>
    /// <param name="k">Subset size, in [1, n].</param>
    public KSubsetFamily(int n, int k)
    {
        if (n < 1 || n > 30) throw new ArgumentOutOfRangeException(nameof(n), n, $"n must be in [1, 30] (got {n}).");
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in [1, n = {n}] (got {k}).");
        long count = Binomial(n, k);
        if (count > MaxStates)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"C({n}, {k}) = {count} states exceeds {MaxStates}; choose a smaller n or k.");
        N = n;
        K = k;
        Count = count;
        _states = new double[count * n];
        var idx = Enumerable.Range(0, k).ToArray();
        for (long s = 0; s < count; s++)
        {
            foreach (int i in idx) _states[s * n + i] = 1.0;
            // Next combination in lexicographic order.
            int j = k - 1;
            while (j >= 0 && idx[j] == n - k + j) j--;
            if (j < 0) break;
            idx[j]++;
            for (int t = j + 1; t < k; t++) idx[t] = idx[t - 1] + 1;
        }
        States = Owned(_states, new long[] { count, n });
    }

    /// <summary>Number of items n.</summary>
    public int N { get; }
    /// <summary>Subset size k.</summary>
    public int K { get; }
    /// <summary>Number of states C(n, k).</summary>
    public long Count { get; }
    /// <summary>All states, float64 [C(n, k), n].</summary>
    public Tensor States { get; }

    /// <summary>Binomial coefficient C(n, k) (exact for the sizes used here).</summary>
    public static long Binomial(int n, int k)
    {
        long r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }

    private double[]? _lossTarget, _lossCache;

    /// <summary>The loss L(z) = ||z - b||^2 of every state, [C(n, k)] (the last b's losses are cached; do not modify).</summary>
    public double[] Losses(double[] b)
    {
        Check(b, nameof(b));
        if (_lossTarget is not null && _lossTarget.AsSpan().SequenceEqual(b)) return _lossCache!;
        var l = new double[Count];
        for (long s = 0; s < Count; s++)
        {
            double acc = 0;
            for (int i = 0; i < N; i++)
            {
                double d = _states[s * N + i] - b[i];
                acc += d * d;
            }
            l[s] = acc;
        }
        (_lossTarget, _lossCache) = ((double[])b.Clone(), l);
        return l;
    }

    /// <summary>min_z L(z) over the k-subsets: the optimum of the optimisation curves.</summary>
    public double MinimumLoss(double[] b) => Losses(b).Min();

    /// <summary>p_theta(z) for every state, [C(n, k)] (softmax of the scores &lt;z, theta&gt;).</summary>
    public double[] Probabilities(double[] theta)
    {
        Check(theta, nameof(theta));
        using var scope = torch.NewDisposeScope();
        using var t = Owned(theta, new long[] { theta.Length });
        return torch.softmax(States.matmul(t), 0).data<double>().ToArray();
    }

    /// <summary>The marginals mu(theta) = E_p[z], [n].</summary>
    public double[] Marginals(double[] theta)
    {
        Check(theta, nameof(theta));
        using var scope = torch.NewDisposeScope();
        using var t = Owned(theta, new long[] { theta.Length });
        return torch.softmax(States.matmul(t), 0).matmul(States).data<double>().ToArray();
    }

    /// <summary>
    /// Exact E_p[L] and its gradient sum_z p(z) (L(z) - E) z with respect to theta, as tensor products over the states
    /// (no managed array of C(n, k) entries per call: in the SGD curves, where this runs every step, such arrays went to
    /// the large-object heap and made the collector run often).
    /// </summary>
    public (double Value, double[] Gradient) ExpectedLoss(double[] theta, double[] b)
    {
        Check(theta, nameof(theta));
        var l = LossTensor(b);
        using var scope = torch.NewDisposeScope();
        using var t = Owned(theta, new long[] { theta.Length });
        var p = torch.softmax(States.matmul(t), 0);
        var e = p.dot(l);
        var g = States.t().matmul(p * (l - e));
        return (e.item<double>(), g.data<double>().ToArray());
    }

    private Tensor? _lossTensor;
    private double[]? _lossTensorTarget;

    /// <summary>The losses of <see cref="Losses"/> as a float64 tensor [C(n, k)] (the last b's, cached).</summary>
    private Tensor LossTensor(double[] b)
    {
        var l = Losses(b);
        if (_lossTensor is not null && _lossTensorTarget is not null && _lossTensorTarget.AsSpan().SequenceEqual(b)) return _lossTensor;
        _lossTensor?.Dispose();
        _lossTensor = Owned(l, new long[] { Count }).DetachFromDisposeScope();   // a cache: no caller's scope may free it
        _lossTensorTarget = (double[])b.Clone();
        return _lossTensor;
    }

    /// <summary>Exact samples of p_theta: <paramref name="count"/> states, float64 [count, n].</summary>
    public Tensor Sample(double[] theta, int count, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be >= 1 (got {count}).");
        using var scope = torch.NewDisposeScope();
        using var p = Owned(Probabilities(theta), new long[] { Count });
        var idx = torch.multinomial(p, count, replacement: true, generator: generator);
        return scope.MoveToOuter(States.index_select(0, idx));
    }

    /// <summary>Row <paramref name="index"/> of <see cref="States"/> as an array.</summary>
    public double[] State(long index)
    {
        if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {Count}).");
        return _states.AsSpan((int)(index * N), N).ToArray();
    }

    private void Check(double[] v, string name)
    {
        ArgumentNullException.ThrowIfNull(v, name);
        if (v.Length != N) throw new ArgumentException($"{name} must have n = {N} entries (got {v.Length}).", name);
        foreach (var x in v)
            if (!double.IsFinite(x)) throw new ArgumentException($"{name} must be finite (got {x}).", name);
    }

    /// <summary>
    /// A float64 tensor with a copy of <paramref name="values"/> in libtorch's own (64-byte aligned) memory. A tensor made
    /// straight from a managed array uses the array's memory, whose alignment depends on what the process allocated
    /// before; matrix products over it can then round differently from run to run (in the last bit).
    /// </summary>
    public static Tensor Owned(double[] values, long[] shape)
    {
        using var view = torch.tensor(values, shape, dtype: ScalarType.Float64);
        return view.clone();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        States.Dispose();
        _lossTensor?.Dispose();
    }
}
