using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>
/// IndeCateR (De Smet, Sansone and Zuidberg Dos Martires, "Differentiable Sampling of Categorical Distributions Using the
/// CatLog-Derivative Trick", NeurIPS 2023): the Rao-Blackwellised score-function estimator for N independent categoricals
/// D = (D_1, ..., D_N), D_i ~ Cat(p_i), p_i = softmax(theta_i). For each sample D^(s) and each dimension i, all K values
/// of D_i are enumerated with the other dimensions kept at the sample:
/// <code>grad_theta_i E[f(D)] ~= 1/S sum_s sum_k f(D^(s) with D_i := e_k) grad_theta_i p_i(k)</code>
/// which is unbiased (its expectation over D_{-i} is sum_k E[f | D_i = e_k] grad p_i(k), the exact gradient) and needs no
/// baseline (sum_k grad p_i(k) = 0). Cost: N K evaluations of f per sample, made in one batched call; f(D^(s)) itself is
/// one of them (D^(s) with D_1 := its own value), so no extra evaluation is spent on the forward value.
/// <para>As a surrogate (one <c>backward()</c> of its mean over S gives the estimator):
/// surrogate_s = G_s - sg(G_s) + f(D^(s)), G_s = sum_{i, k} sg(F_s[i, k]) p_i(k), F_s[i, k] = f(D^(s) with D_i := e_k).
/// Its forward value is f(D^(s)); parameters of f receive grad f(D^(s)) (the pathwise part).</para>
/// </summary>
public static class IndeCateR
{
    /// <summary>The IndeCateR surrogate for N independent categorical nodes.</summary>
    /// <param name="logits">theta [N, K], floating point and finite.</param>
    /// <param name="f">Maps one-hot states [M, N, K] to values [M] (called once, with M = S N K).</param>
    /// <param name="samples">Number S &gt;= 1 of samples D^(s) (ignored when <paramref name="sample"/> is given).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned samples [S, N, K], one-hot over the last axis.</param>
    /// <returns>Surrogate [S], the samples [S, N, K], f(D^(s)) [S], and as the signal the evaluations F [S, N, K]
    /// (F_s[i, k] multiplies grad p_i(k)).</returns>
    public static ScoreFunctionResult Categorical(Tensor logits, Func<Tensor, Tensor> f, long samples = 1, Generator? generator = null,
        Tensor? sample = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.CategoricalLogits(logits);
        if (logits.dim() != 2)
            throw new ArgumentException($"logits must have shape [N, K] (got {logits.dim()} dimensions).", nameof(logits));
        Guard.AtLeast(samples, 1, nameof(samples));
        if (sample is not null)
        {
            Checks.OneHotSample(sample, logits, nameof(sample));
            if (sample.dim() != 3)
                throw new ArgumentException($"sample must have shape [S, {logits.shape[0]}, {logits.shape[1]}] (got {Checks.Show(sample.shape)}).", nameof(sample));
        }
        using var scope = torch.NewDisposeScope();
        var d = sample?.detach().to(logits.dtype, logits.device) ?? Samples.Categorical(logits, samples, generator);   // [S, N, K]
        long s = d.shape[0], n = logits.shape[0], k = logits.shape[1];
        // states[s, i, j] = D^(s) with row i replaced by e_j: [S, N, K, N, K].
        var row = torch.eye(n, dtype: d.dtype, device: d.device).view(1, n, 1, n, 1);
        var value = torch.eye(k, dtype: d.dtype, device: d.device).view(1, 1, k, 1, k);
        var states = d.view(s, 1, 1, n, k) * (1 - row) + row * value;
        var fs = f(states.reshape(s * n * k, n, k));
        if (fs.dim() != 1 || fs.shape[0] != s * n * k)
            throw new ArgumentException($"f must map states [M, N, K] to values [M] (M = {s * n * k}; got {Checks.Show(fs.shape)}).", nameof(f));
        Checks.FloatingFinite(fs, "f");
        var evals = fs.view(s, n, k);
        var fd = (evals.select(1, 0) * d.select(1, 0)).sum(-1);                     // f(D^(s)), with f's own gradient path
        var g = (evals.detach() * logits.softmax(-1).unsqueeze(0)).sum(new long[] { 1, 2 });
        var surrogate = g - g.detach() + fd;
        return new ScoreFunctionResult(scope.MoveToOuter(surrogate), scope.MoveToOuter(d), scope.MoveToOuter(fd.detach()),
            scope.MoveToOuter(evals.detach()));
    }
}
