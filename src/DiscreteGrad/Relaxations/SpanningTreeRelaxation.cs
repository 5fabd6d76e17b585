using DiscreteGrad.Sampling;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Relaxations;

/// <summary>
/// The Gibbs distribution over the spanning trees of a complete undirected graph on n vertices with edge weights w
/// (edge list of the strict upper triangle, row-major, as <see cref="SpanningTreeLayout.EdgeList"/>):
/// p(T) = exp(sum_{e in T} w_e) / Z(w), computed with Kirchhoff's matrix-tree theorem. With A_ij = exp(w_ij) and the
/// Laplacian L = diag(A 1) - A, Z(w) = det(L_r), the determinant of L with the row and column of any one vertex r removed;
/// so log Z(w) = log det L_r(exp(w)) and the edge marginals are its gradient,
/// mu_e = P(e in T) = d log Z / d w_e = A_e (e_i - e_j)^T L_r^{-1} (e_i - e_j) for e = {i, j} (L_r^{-1} padded with zeros at r).
/// This is the relaxation of the spanning-tree stochastic softmax trick (Paulus, Choi, Tarlow, Krause and Maddison,
/// "Gradient Estimation with Stochastic Softmax Tricks", NeurIPS 2020: the exponential-family entropy relaxation, whose
/// solution is the marginal vector of this distribution).
/// <para>Numerics, as the reference implementation: A = exp(w - c) with c = max_e w_e (log Z gains (n - 1) c, the marginals
/// are unchanged), r = the smaller endpoint of the heaviest edge, and everything in float64; the result has the dtype of w.
/// The marginals are a differentiable function of w (their gradient is the Hessian of log Z), computed in closed form
/// from the inverse of L_r, not by a second backward pass.</para>
/// </summary>
public static class SpanningTreeRelaxation
{
    /// <summary>log Z(w) = log sum_T exp(sum_{e in T} w_e) over the spanning trees of K_n, for weights [B, m], m = n (n - 1) / 2, n &gt;= 2.</summary>
    /// <returns>[B], dtype of <paramref name="weights"/>, differentiable.</returns>
    public static Tensor LogPartition(Tensor weights)
    {
        using var scope = torch.NewDisposeScope();
        var (reduced, _, shift, n) = Reduced(weights);
        var logDet = torch.linalg.cholesky(reduced).diagonal(dim1: -2, dim2: -1).log().sum(-1).mul(2.0);
        return scope.MoveToOuter((logDet + shift.squeeze(-1) * (n - 1)).to(weights.dtype));
    }

    /// <summary>
    /// Edge marginals mu_e = P(e in T) = d log Z / d w_e of the spanning-tree distribution, for weights [B, m]; each row
    /// sums to n - 1 and every entry is in [0, 1]. Differentiable.
    /// </summary>
    /// <returns>[B, m], dtype of <paramref name="weights"/>.</returns>
    public static Tensor Marginals(Tensor weights)
    {
        using var scope = torch.NewDisposeScope();
        var (reduced, select, shift, n) = Reduced(weights);
        long batch = weights.shape[0];
        var inverse = torch.linalg.inv(reduced);                                           // [B, n-1, n-1]
        var padded = select.transpose(1, 2).matmul(inverse).matmul(select);                 // [B, n, n], zeros at r
        var resistance = padded.reshape(batch, n * n).matmul(EdgeBasis(n, padded.device).t());   // [B, m]: (e_i - e_j)^T L_r^+ (e_i - e_j)
        var a = (weights.to(ScalarType.Float64) - shift).exp();
        return scope.MoveToOuter((a * resistance).to(weights.dtype));
    }

    /// <summary>
    /// max(w_e, max_f w_f - <paramref name="maxRange"/>) per row of [B, m] (the reference's clip_range: no weight lies
    /// further than maxRange below the heaviest, which bounds the condition number of L_r). maxRange = +inf is the identity.
    /// </summary>
    public static Tensor ClipRange(Tensor weights, double maxRange)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (!(maxRange > 0))
            throw new ArgumentOutOfRangeException(nameof(maxRange), maxRange, $"maxRange must be > 0 or +infinity (got {maxRange}).");
        if (double.IsPositiveInfinity(maxRange)) return weights.alias();
        using var scope = torch.NewDisposeScope();
        var top = weights.max(-1, keepdim: true).values.detach();
        return scope.MoveToOuter(torch.maximum(weights, top - maxRange));
    }

    /// <summary>Number of vertices n of a [B, m] edge-weight tensor (m = n (n - 1) / 2), validating its shape.</summary>
    public static int Vertices(Tensor weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.dim() != 2 || !weights.is_floating_point())
            throw new ArgumentException($"weights must be a floating tensor [B, m], m = n (n - 1) / 2 edges (got {BatchArrays.Shape(weights)} {weights.dtype}).", nameof(weights));
        return MaximumSpanningTreeSolver.NodesForEdges(weights.shape[1]);
    }

    /// <summary>
    /// The constant [m, n*n] matrix whose row e is the flattened (e_i - e_j)(e_i - e_j)^T of edge e = {i, j}: the
    /// Laplacian of edge weights a [B, m] is (a @ basis).view(B, n, n).
    /// </summary>
    public static Tensor EdgeBasis(int n, Device? device = null)
    {
        Guard.AtLeast(n, 2, nameof(n));
        int m = n * (n - 1) / 2;
        var b = new double[m * n * n];
        int e = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++, e++)
            {
                b[e * n * n + i * n + i] = 1;
                b[e * n * n + j * n + j] = 1;
                b[e * n * n + i * n + j] = -1;
                b[e * n * n + j * n + i] = -1;
            }
        var t = torch.tensor(b, new long[] { m, n * n }, dtype: ScalarType.Float64);
        return device is null || device.type == DeviceType.CPU ? t : t.to(device);
    }

    /// <summary>L_r [B, n-1, n-1] of A = exp(w - c) (float64), the selection S [B, n-1, n] with L_r = S L S^T, c [B, 1] and n.</summary>
    private static (Tensor Reduced, Tensor Select, Tensor Shift, int N) Reduced(Tensor weights)
    {
        int n = Vertices(weights);
        long batch = weights.shape[0];
        var w = weights.to(ScalarType.Float64);
        var (top, heaviest) = w.detach().max(-1, keepdim: true);
        var a = (w - top).exp();
        var laplacian = a.matmul(EdgeBasis(n, w.device)).reshape(batch, n, n);
        var removed = FirstEndpoint(n, w.device).index_select(0, heaviest.reshape(batch));   // [B]
        var select = Selections(n, w.device).index_select(0, removed);                       // [B, n-1, n]
        var reduced = select.matmul(laplacian).matmul(select.transpose(1, 2));
        return (reduced, select, top, n);
    }

    /// <summary>The smaller endpoint i of each edge e = {i, j} in edge-list order, [m] int64.</summary>
    private static Tensor FirstEndpoint(int n, Device device)
    {
        var first = new long[n * (n - 1) / 2];
        int e = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) first[e++] = i;
        return torch.tensor(first, device: device);
    }

    /// <summary>[n, n-1, n]: slice r selects every vertex but r, in order.</summary>
    private static Tensor Selections(int n, Device device)
    {
        var s = new double[n * (n - 1) * n];
        for (int r = 0; r < n; r++)
            for (int k = 0, v = 0; v < n; v++)
            {
                if (v == r) continue;
                s[(r * (n - 1) + k) * n + v] = 1;
                k++;
            }
        return torch.tensor(s, new long[] { n, n - 1, n }, dtype: ScalarType.Float64, device: device);
    }
}

/// <summary>What <see cref="SpanningTreeSst.Sample"/> returns, all [B, m] in edge-list order.</summary>
/// <param name="Output">What the downstream network sees: <paramref name="Hard"/> in value with the gradient of
/// <paramref name="Relaxed"/> (straight-through), or <paramref name="Relaxed"/> itself.</param>
/// <param name="Hard">The spanning tree Kruskal(logits + G), 0/1, no gradient.</param>
/// <param name="Relaxed">The relaxation mu(ClipRange((logits + G) / tau)), differentiable in the logits.</param>
/// <param name="Weights">The perturbed weights U = logits + G (detached).</param>
public sealed record SpanningTreeSstSample(Tensor Output, Tensor Hard, Tensor Relaxed, Tensor Weights);

/// <summary>
/// The spanning-tree stochastic softmax trick (Paulus, Choi, Tarlow, Krause and Maddison, "Gradient Estimation with
/// Stochastic Softmax Tricks", NeurIPS 2020) over the edges of K_n: U = theta + G with G ~ Gumbel(0, 1) per undirected
/// edge; the hard sample is the maximum spanning tree of U (Kruskal, <see cref="MaximumSpanningTreeSolver"/>); the
/// relaxation is the marginal vector of the spanning-tree distribution at ClipRange(U / tau, maxRange)
/// (<see cref="SpanningTreeRelaxation.Marginals"/>), which tends to the hard tree as tau -&gt; 0.
/// With <see cref="StraightThrough"/> the output is hard + (relaxed - stop_gradient(relaxed)): the tree in the forward
/// pass, the relaxation's gradient in the backward pass (the reference's hard_with_grad); otherwise the relaxation.
/// </summary>
public sealed class SpanningTreeSst
{
    private readonly MaximumSpanningTreeSolver _kruskal = new(SpanningTreeLayout.EdgeList);

    /// <summary>Creates the estimator.</summary>
    /// <param name="temperature">tau &gt; 0 of the relaxation.</param>
    /// <param name="maxRange">Clip range of U / tau below its maximum (&gt; 0; +inf: no clipping; the reference's NRI runs use 15).</param>
    /// <param name="straightThrough">True: the hard tree forward, the relaxation's gradient backward; false: the relaxation.</param>
    public SpanningTreeSst(double temperature, double maxRange = double.PositiveInfinity, bool straightThrough = true)
    {
        Guard.Temperature(temperature, nameof(temperature));
        if (!(maxRange > 0))
            throw new ArgumentOutOfRangeException(nameof(maxRange), maxRange, $"maxRange must be > 0 or +infinity (got {maxRange}).");
        Temperature = temperature;
        MaxRange = maxRange;
        StraightThrough = straightThrough;
    }

    /// <summary>tau of the relaxation.</summary>
    public double Temperature { get; }
    /// <summary>Clip range of U / tau.</summary>
    public double MaxRange { get; }
    /// <summary>Whether the output is the hard tree with the relaxation's gradient.</summary>
    public bool StraightThrough { get; }

    /// <summary>Draws one sample per row of <paramref name="logits"/> [B, m].</summary>
    /// <param name="logits">Edge logits theta [B, m], m = n (n - 1) / 2, finite.</param>
    /// <param name="generator">Source of the Gumbel noise (null: TorchSharp's default generator).</param>
    /// <param name="noise">Pinned Gumbel noise G [B, m] instead of a draw (for tests and common random numbers).</param>
    public SpanningTreeSstSample Sample(Tensor logits, Generator? generator = null, Tensor? noise = null)
    {
        SpanningTreeRelaxation.Vertices(logits);
        Guard.Finite(logits, nameof(logits));
        if (noise is not null) Guard.SameShape(noise, logits, nameof(noise));
        using var scope = torch.NewDisposeScope();
        var g = noise ?? Gumbel.Sample(logits.shape, 1.0, generator, logits.dtype, logits.device);
        var u = logits + g;
        Tensor hard;
        using (torch.no_grad()) hard = _kruskal.Solve(u.detach());
        var relaxed = SpanningTreeRelaxation.Marginals(SpanningTreeRelaxation.ClipRange(u / Temperature, MaxRange));
        var output = StraightThrough ? hard + (relaxed - relaxed.detach()) : relaxed;
        return new SpanningTreeSstSample(scope.MoveToOuter(output), scope.MoveToOuter(hard), scope.MoveToOuter(relaxed), scope.MoveToOuter(u.detach()));
    }
}
