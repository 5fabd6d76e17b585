using static TorchSharp.torch;

namespace DiscreteGrad.Solvers;

/// <summary>How <see cref="MaximumSpanningTreeSolver"/> reads the edge weights of a complete undirected graph on n nodes.</summary>
public enum SpanningTreeLayout
{
    /// <summary>
    /// Weights [B, n, n], a symmetric matrix per instance (see <see cref="MaximumSpanningTreeSolver.AcceptAsymmetric"/>);
    /// the result is the symmetric 0/1 adjacency [B, n, n] of the tree (both (i, j) and (j, i) set, zero diagonal). The
    /// tree maximises &lt;W, Z&gt; = sum_{i&lt;j} (W_ij + W_ji) Z_ij, i.e. the weight of edge {i, j} is (W_ij + W_ji) / 2:
    /// for a symmetric W simply W_ij. The diagonal is ignored.
    /// </summary>
    Matrix,
    /// <summary>
    /// Weights [B, m] with m = n (n - 1) / 2: edge e is the e-th pair (i, j), i &lt; j, in row-major order of the strict upper
    /// triangle: (0,1), (0,2), ..., (0,n-1), (1,2), ..., (n-2,n-1). The result [B, m] marks the tree's edges.
    /// </summary>
    EdgeList,
}

/// <summary>
/// Maximum spanning tree of a complete undirected graph (Kruskal with union-find), a maximising MAP solver:
/// z = argmax_{z a spanning tree} &lt;w, z&gt;. Used for the latent interaction graphs of NRI in the AIMLE paper
/// (Minervini et al. 2023).
/// <para>Kruskal: edges in order of decreasing weight, ties by increasing edge index (<see cref="SpanningTreeLayout.EdgeList"/>
/// order), each taken when it joins two components (union-find with path halving and union by size), until n - 1 edges.
/// Weights must be finite. Runs on CPU arrays, batch items in parallel when the batch is large enough
/// (<see cref="SolverParallelism"/>).</para>
/// </summary>
public sealed class MaximumSpanningTreeSolver : IMapSolver
{
    /// <summary>
    /// Relative tolerance of the symmetry check of the <see cref="SpanningTreeLayout.Matrix"/> layout: an instance is
    /// symmetric when |W_ij - W_ji| &lt;= SymmetryTolerance * max_{k != l} |W_kl| for every i != j (1e-6, a few float32
    /// rounding errors of the instance's largest weight, so that a W computed as x x^T in another summation order passes).
    /// </summary>
    public const double SymmetryTolerance = 1e-6;

    /// <summary>Creates the solver.</summary>
    /// <param name="layout">Input and output layout (default <see cref="SpanningTreeLayout.Matrix"/>).</param>
    /// <param name="acceptAsymmetric">Matrix layout: false (default) refuses a W that is not symmetric within
    /// <see cref="SymmetryTolerance"/>; true reads any W as its symmetric part (W + W^T) / 2, which keeps the solver the exact
    /// MAP of &lt;W, Z&gt; over symmetric adjacencies Z, as I-MLE needs when per-entry noise or the target step
    /// theta - lambda dz makes W asymmetric.</param>
    public MaximumSpanningTreeSolver(SpanningTreeLayout layout = SpanningTreeLayout.Matrix, bool acceptAsymmetric = false)
    {
        if (layout is not (SpanningTreeLayout.Matrix or SpanningTreeLayout.EdgeList))
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "layout must be Matrix or EdgeList.");
        Layout = layout;
        AcceptAsymmetric = acceptAsymmetric;
    }

    /// <summary>Input and output layout.</summary>
    public SpanningTreeLayout Layout { get; }

    /// <summary>Whether an asymmetric matrix is read as its symmetric part (true) or refused (false).</summary>
    public bool AcceptAsymmetric { get; }

    /// <summary>Number of nodes n for m = n (n - 1) / 2 edges; throws when m is not of that form with n &gt;= 2.</summary>
    public static int NodesForEdges(long m)
    {
        long n = (long)Math.Round((1 + Math.Sqrt(1 + 8.0 * m)) / 2);
        if (m < 1 || n * (n - 1) / 2 != m)
            throw new ArgumentException(
                $"weights must have shape [B, m] with m = n (n - 1) / 2 edges for some n >= 2 (got m = {m}).", "weights");
        return checked((int)n);
    }

    /// <inheritdoc />
    public Tensor Solve(Tensor weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int n;
        if (Layout == SpanningTreeLayout.Matrix)
        {
            if (weights.dim() != 3 || weights.shape[1] != weights.shape[2] || weights.shape[1] < 1)
                throw new ArgumentException($"weights must have shape [B, n, n] with n >= 1 (got {BatchArrays.Shape(weights)}).", nameof(weights));
            n = checked((int)weights.shape[1]);
        }
        else
        {
            if (weights.dim() != 2)
                throw new ArgumentException($"weights must have shape [B, m], m = n (n - 1) / 2 (got {BatchArrays.Shape(weights)}).", nameof(weights));
            n = NodesForEdges(weights.shape[1]);
        }
        int batch = checked((int)weights.shape[0]);
        var w = BatchArrays.Read(weights, nameof(weights));
        BatchArrays.RequireFinite(w, nameof(weights));
        if (Layout == SpanningTreeLayout.Matrix && !AcceptAsymmetric) RequireSymmetric(w, batch, n);
        var z = new double[w.Length];
        int m = n * (n - 1) / 2;
        int stride = Layout == SpanningTreeLayout.Matrix ? n * n : m;
        bool matrix = Layout == SpanningTreeLayout.Matrix;
        long work = (long)m * Math.Max(1, (long)Math.Log2(m + 1));
        SolverParallelism.For(batch, work, b =>
        {
            int offset = b * stride;
            var edgeWeights = new double[m];
            int e = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++, e++)
                    edgeWeights[e] = matrix ? (w[offset + i * n + j] + w[offset + j * n + i]) / 2 : w[offset + e];
            var chosen = Kruskal(edgeWeights, n);
            e = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++, e++)
                {
                    if (!chosen[e]) continue;
                    if (matrix) { z[offset + i * n + j] = 1; z[offset + j * n + i] = 1; }
                    else z[offset + e] = 1;
                }
        });
        return BatchArrays.Write(z, weights);
    }

    /// <summary>Throws naming weights when an instance of [B, n, n] is not symmetric within <see cref="SymmetryTolerance"/>.</summary>
    private static void RequireSymmetric(double[] w, int batch, int n)
    {
        for (int b = 0; b < batch; b++)
        {
            int offset = b * n * n;
            double scale = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (i != j) scale = Math.Max(scale, Math.Abs(w[offset + i * n + j]));
            double tol = SymmetryTolerance * scale;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                {
                    double a = w[offset + i * n + j], c = w[offset + j * n + i];
                    if (Math.Abs(a - c) > tol)
                        throw new ArgumentException(
                            $"weights must be symmetric in the Matrix layout (|W_ij - W_ji| <= {SymmetryTolerance} * max |W|); instance {b} has "
                            + $"W[{i}, {j}] = {a} but W[{j}, {i}] = {c}. Pass acceptAsymmetric: true to read W as (W + W^T) / 2.", "weights");
                }
        }
    }

    /// <summary>Kruskal on the edge list of a complete graph on n nodes (upper-triangle row-major order).</summary>
    internal static bool[] Kruskal(double[] edgeWeights, int n)
    {
        int m = edgeWeights.Length;
        var ends = new (int I, int J)[m];
        int e = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) ends[e++] = (i, j);
        var order = new int[m];
        for (int i = 0; i < m; i++) order[i] = i;
        Array.Sort(order, (a, c) =>
        {
            int byWeight = edgeWeights[c].CompareTo(edgeWeights[a]);
            return byWeight != 0 ? byWeight : a.CompareTo(c);
        });
        var parent = new int[n];
        var size = new int[n];
        for (int i = 0; i < n; i++) { parent[i] = i; size[i] = 1; }
        int Find(int x)
        {
            while (parent[x] != x) { parent[x] = parent[parent[x]]; x = parent[x]; }
            return x;
        }
        var chosen = new bool[m];
        int taken = 0;
        foreach (int edge in order)
        {
            if (taken == n - 1) break;
            int a = Find(ends[edge].I), b = Find(ends[edge].J);
            if (a == b) continue;
            if (size[a] < size[b]) (a, b) = (b, a);
            parent[b] = a;
            size[a] += size[b];
            chosen[edge] = true;
            taken++;
        }
        return chosen;
    }
}
