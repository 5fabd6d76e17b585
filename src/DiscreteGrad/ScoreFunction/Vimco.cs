using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>What <see cref="Vimco.Surrogate"/> produces.</summary>
/// <param name="Surrogate">Shape [...] (the sample dimension reduced): forward value L, gradient the VIMCO estimate of
/// grad E[L]. L is a lower bound to MAXIMISE: minimise -Surrogate.mean().</param>
/// <param name="Bound">L = log (1/K) sum_k w_k, detached, shape [...].</param>
/// <param name="Signal">The per-sample learning signals L - L_{-j}, detached, shape [K, ...].</param>
/// <param name="Weights">The normalised importance weights wtilde_j = w_j / sum_k w_k, detached, shape [K, ...].</param>
public sealed record VimcoResult(Tensor Surrogate, Tensor Bound, Tensor Signal, Tensor Weights);

/// <summary>
/// VIMCO (Mnih and Rezende 2016, "Variational inference for Monte Carlo objectives") for the multi-sample bound
/// L = log (1/K) sum_k w_k with K &gt;= 2 samples z_1..K ~ q (log w_k = log p(x, z_k) - log q(z_k | x)). Its gradient is
/// <code>grad L = sum_j (L - L_{-j}) grad log q(z_j) + sum_j wtilde_j grad log w_j</code>
/// where L_{-j} = log (1/K) (sum_{i != j} w_i + exp(mean_{i != j} log w_i)) replaces w_j by the geometric mean of the other
/// weights (a baseline independent of z_j, so the estimator of grad E[L] is unbiased), and wtilde_j = w_j / sum_k w_k.
/// As a surrogate: sum_j sg(L - L_{-j}) (log q(z_j) - sg(log q(z_j))) + L, where autograd of L gives the pathwise part.
/// </summary>
public static class Vimco
{
    /// <summary>Builds the VIMCO surrogate.</summary>
    /// <param name="logWeights">log w [K, ...], K &gt;= 2 samples along dimension 0, differentiable (through log p and through
    /// log q, as in the bound).</param>
    /// <param name="logProb">log q(z_k) [K, ...], the score of each sample, differentiable with respect to q's parameters.</param>
    public static VimcoResult Surrogate(Tensor logWeights, Tensor logProb)
    {
        CheckWeights(logWeights);
        Guard.SameShape(logProb, logWeights, nameof(logProb), nameof(logWeights));
        Checks.FloatingFinite(logProb, nameof(logProb));
        using var scope = torch.NewDisposeScope();
        long k = logWeights.shape[0];
        var bound = torch.logsumexp(logWeights, 0) - Math.Log(k);
        var lw = logWeights.detach();
        var signal = SignalsOf(lw, bound.detach());
        var surrogate = (signal * (logProb - logProb.detach())).sum(dim: 0) + bound;
        var weights = lw.softmax(0);
        return new VimcoResult(scope.MoveToOuter(surrogate), scope.MoveToOuter(bound.detach()), scope.MoveToOuter(signal),
            scope.MoveToOuter(weights));
    }

    /// <summary>L = log (1/K) sum_k w_k over dimension 0, computed with logsumexp (differentiable).</summary>
    public static Tensor Bound(Tensor logWeights)
    {
        CheckWeights(logWeights);
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(torch.logsumexp(logWeights, 0) - Math.Log(logWeights.shape[0]));
    }

    /// <summary>The learning signals L - L_{-j} [K, ...] (detached).</summary>
    public static Tensor LearningSignals(Tensor logWeights)
    {
        CheckWeights(logWeights);
        using var scope = torch.NewDisposeScope();
        var lw = logWeights.detach();
        var bound = torch.logsumexp(lw, 0) - Math.Log(lw.shape[0]);
        return scope.MoveToOuter(SignalsOf(lw, bound));
    }

    private static Tensor SignalsOf(Tensor lw, Tensor bound)
    {
        long k = lw.shape[0];
        var meanOthers = (lw.sum(dim: 0, keepdim: true) - lw) / (k - 1);                   // [K, ...]
        // rep[j, i] = log w_i for i != j, and the geometric-mean stand-in for i == j: [K, K, ...].
        var eyeShape = new long[] { k, k }.Concat(Enumerable.Repeat(1L, (int)lw.dim() - 1)).ToArray();
        var eye = torch.eye(k, dtype: ScalarType.Bool, device: lw.device).reshape(eyeShape);
        var rep = torch.where(eye, meanOthers.unsqueeze(1), lw.unsqueeze(0));
        var boundMinus = torch.logsumexp(rep, 1) - Math.Log(k);                               // L_{-j}, [K, ...]
        return bound.unsqueeze(0) - boundMinus;
    }

    private static void CheckWeights(Tensor logWeights)
    {
        ArgumentNullException.ThrowIfNull(logWeights);
        Checks.SamplesAlongDim0(logWeights, 2, nameof(logWeights), "VIMCO");
        Checks.FloatingFinite(logWeights, nameof(logWeights));
    }
}
