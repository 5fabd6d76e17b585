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
    /// <summary>The IndeCateR surrogate for N independent categorical nodes, or a batch of such problems.</summary>
    /// <param name="logits">theta [N, K], or [..., N, K] for a batch of independent problems (the leading axes, e.g. the
    /// images of a VAE batch, each with their own N nodes), floating point and finite.</param>
    /// <param name="f">Maps one-hot states [M, ..., N, K] to values [M, ...] (called once, with M = S N K: every batch
    /// element's states are changed in the same row at the same time, so each batch element's value may only depend on
    /// its own nodes).</param>
    /// <param name="samples">Number S &gt;= 1 of samples D^(s) (ignored when <paramref name="sample"/> is given).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned samples [S, ..., N, K], one-hot over the last axis.</param>
    /// <returns>Surrogate [S, ...], the samples [S, ..., N, K], f(D^(s)) [S, ...], and as the signal the evaluations F
    /// [S, ..., N, K] (F_s[..., i, k] multiplies grad p_i(k)).</returns>
    public static ScoreFunctionResult Categorical(Tensor logits, Func<Tensor, Tensor> f, long samples = 1, Generator? generator = null,
        Tensor? sample = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.CategoricalLogits(logits);
        if (logits.dim() < 2)
            throw new ArgumentException($"logits must have shape [N, K] or [..., N, K] (got {logits.dim()} dimensions).", nameof(logits));
        Guard.AtLeast(samples, 1, nameof(samples));
        if (sample is not null)
        {
            Checks.OneHotSample(sample, logits, nameof(sample));
            if (sample.dim() != logits.dim() + 1)
                throw new ArgumentException($"sample must have shape [S, {string.Join(", ", logits.shape)}] (got {Checks.Show(sample.shape)}).", nameof(sample));
        }
        using var scope = torch.NewDisposeScope();
        var d = sample?.detach().to(logits.dtype, logits.device) ?? Samples.Categorical(logits, samples, generator);   // [S, ..., N, K]
        long s = d.shape[0], n = logits.shape[^2], k = logits.shape[^1];
        var batch = logits.shape.Take((int)logits.dim() - 2).ToArray();
        var ones = Enumerable.Repeat(1L, batch.Length).ToArray();
        long[] Shape(params long[][] parts) => parts.SelectMany(x => x).ToArray();
        // states[s, i, j, ...] = D^(s) with row i replaced by e_j: [S, N, K, ..., N, K].
        var row = torch.eye(n, dtype: d.dtype, device: d.device).view(Shape(new[] { 1L, n, 1 }, ones, new[] { n, 1L }));
        var value = torch.eye(k, dtype: d.dtype, device: d.device).view(Shape(new[] { 1L, 1, k }, ones, new[] { 1L, k }));
        var states = d.view(Shape(new[] { s, 1L, 1 }, batch, new[] { n, k })) * (1 - row) + row * value;
        long m = s * n * k;
        var fs = f(states.reshape(Shape(new[] { m }, batch, new[] { n, k })));
        var expected = Shape(new[] { m }, batch);
        if (!fs.shape.SequenceEqual(expected))
            throw new ArgumentException($"f must map states [M, ..., N, K] to values [M, ...] (expected {Checks.Show(expected)}; got {Checks.Show(fs.shape)}).", nameof(f));
        Checks.FloatingFinite(fs, "f");
        // F [S, ..., N, K]: the batch axes before the row and value axes.
        var evals = fs.view(Shape(new[] { s, n, k }, batch));
        if (batch.Length > 0) evals = evals.movedim(new long[] { 1, 2 }, new long[] { -2, -1 });
        var fd = (evals.select(-2, 0) * d.select(-2, 0)).sum(-1);                  // f(D^(s)), with f's own gradient path
        var g = (evals.detach() * logits.softmax(-1).unsqueeze(0)).sum(new long[] { -2, -1 });
        var surrogate = g - g.detach() + fd;
        return new ScoreFunctionResult(scope.MoveToOuter(surrogate), scope.MoveToOuter(d), scope.MoveToOuter(fd.detach()),
            scope.MoveToOuter(evals.detach()));
    }
}
