using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>The exact mean and total variance E||g - E g||^2 of an estimator over its (enumerated) randomness.</summary>
internal sealed record Moments(Tensor Mean, double Variance);

/// <summary>
/// Exact expectations of score-function estimators by enumeration: every joint state of the discrete samples (or every cell
/// of the uniform noise of ARM/DisARM) gets its own copy of the logits as a leaf, the estimator is applied to the whole batch
/// of states at once, and one backward pass gives every per-state gradient; the moments weight them by their probabilities.
/// </summary>
internal static class ExactKit
{
    public const ScalarType F64 = ScalarType.Float64;

    /// <summary>
    /// Moments of a categorical estimator over S i.i.d. samples of N nodes with logits [N, K]. <paramref name="surrogate"/>
    /// gets the per-state logits leaf [M, N, K] and the samples [S, M, N, K] (S leading, as the library's multi-sample
    /// layout) and returns the per-state surrogate [M] (already averaged over S).
    /// </summary>
    public static Moments Categorical(Tensor logits, int samples, Func<Tensor, Tensor, Tensor> surrogate)
    {
        long n = logits.shape[0], k = logits.shape[1];
        var joint = Enumeration.JointStates(samples * n, k, F64);                          // [M, S*N, K]
        long m = joint.shape[0];
        var states = joint.reshape(m, samples, n, k).permute(1, 0, 2, 3).contiguous();     // [S, M, N, K]
        var lp = (states * logits.log_softmax(-1)).sum(new long[] { 0, 2, 3 });            // [M]
        var leaf = logits.detach().unsqueeze(0).expand(m, n, k).clone().requires_grad_(true);
        var s = surrogate(leaf, states);
        var grads = torch.autograd.grad(new[] { s.sum() }, new[] { leaf })[0];
        return Weighted(lp.exp(), grads);
    }

    /// <summary>
    /// Moments of a Bernoulli estimator over z in {0, 1}^D (logits [D]); <paramref name="surrogate"/> gets the leaf [M, D] and
    /// the states [M, D] and returns [M].
    /// </summary>
    public static Moments Bernoulli(Tensor logits, Func<Tensor, Tensor, Tensor> surrogate)
    {
        long d = logits.shape[0];
        var z = BernoulliStates(d);                                                         // [M, D]
        long m = z.shape[0];
        var lp = (z * nn.functional.logsigmoid(logits) + (1 - z) * nn.functional.logsigmoid(-logits)).sum(1);
        var leaf = logits.detach().unsqueeze(0).expand(m, d).clone().requires_grad_(true);
        var s = surrogate(leaf, z);
        var grads = torch.autograd.grad(new[] { s.sum() }, new[] { leaf })[0];
        return Weighted(lp.exp(), grads);
    }

    /// <summary>All of {0, 1}^D as [2^D, D] (float64).</summary>
    public static Tensor BernoulliStates(long d) => Enumeration.JointStates(d, 2, F64).select(2, 0);

    /// <summary>The exact gradient of E_{z ~ Bernoulli(sigmoid(phi))}[f(z)] with respect to phi [D] (f: [M, D] to [M]).</summary>
    public static Tensor BernoulliExactGradient(Tensor phi, Func<Tensor, Tensor> f)
        => Enumeration.Exact(DiscreteGrad.Estimators.Bernoulli.TwoClassLogits(phi.detach()), s => f(s.select(2, 0))).Gradient.select(1, 0);

    /// <summary>
    /// The cells of the uniform noise u in [0, 1]^D on which ARM and DisARM are constant in the indicators: per coordinate the
    /// breakpoints {sigma(-phi), sigma(phi)}. Returns the midpoints [C, D], the lower and upper ends [C, D] and the volumes [C].
    /// </summary>
    public static (Tensor Mid, Tensor Lo, Tensor Hi, Tensor Volume) UniformCells(Tensor phi)
    {
        var p = phi.detach().to(F64);
        long d = p.shape[0];
        var edges = new double[d][];
        for (int i = 0; i < d; i++)
        {
            double a = 1 / (1 + Math.Exp(p[i].item<double>())), b = 1 - a;                  // sigma(-phi), sigma(phi)
            edges[i] = new[] { 0.0, Math.Min(a, b), Math.Max(a, b), 1.0 };
        }
        long cells = (long)Math.Pow(3, d);
        var lo = new double[cells, d];
        var hi = new double[cells, d];
        var vol = new double[cells];
        for (long c = 0; c < cells; c++)
        {
            long r = c;
            double v = 1;
            for (int i = 0; i < d; i++)
            {
                int j = (int)(r % 3); r /= 3;
                lo[c, i] = edges[i][j]; hi[c, i] = edges[i][j + 1];
                v *= hi[c, i] - lo[c, i];
            }
            vol[c] = v;
        }
        var tLo = tensor(lo); var tHi = tensor(hi);
        return ((tLo + tHi) / 2, tLo, tHi, tensor(vol));
    }

    public static Moments Weighted(Tensor p, Tensor grads)
    {
        var pw = p.reshape(new[] { p.shape[0] }.Concat(Enumerable.Repeat(1L, (int)grads.dim() - 1)).ToArray());
        var mean = (pw * grads).sum(dim: 0);
        double variance = (pw * (grads - mean).pow(2)).sum().item<double>();
        return new Moments(mean, variance);
    }

    public static double MaxAbsDiff(Tensor a, Tensor b) => (a.to(F64) - b.to(F64)).abs().max().item<double>();

    /// <summary>A generic non-polynomial f of N one-hot nodes (works on relaxed inputs too): [.., N, K] to [..].</summary>
    public static Func<Tensor, Tensor> Smooth(long n, long k, int seed, double offset = 0.0)
    {
        var gen = new Generator((ulong)seed);
        var c = randn(new long[] { n * k }, dtype: F64, generator: gen);
        var a = randn(new long[] { n * k, n * k }, dtype: F64, generator: gen) * 0.5;
        return z =>
        {
            var x = z.reshape(z.shape.Take((int)z.dim() - 2).Append(n * k).ToArray());
            return torch.sin(x.matmul(c)) + (x.matmul(a) * x).sum(-1).pow(2) * 0.3 + x.matmul(c).exp() * 0.1 + offset;
        };
    }
}
