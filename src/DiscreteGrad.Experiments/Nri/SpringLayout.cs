namespace DiscreteGrad.Experiments.Nri;

/// <summary>
/// The Fruchterman-Reingold spring layout exactly as networkx's <c>spring_layout(G, pos=pos, iterations=I,
/// threshold=h, center=0)</c> computes it for graphs under 500 vertices (its dense <c>_fruchterman_reingold</c>, then
/// <c>rescale_layout</c>; Fruchterman and Reingold, "Graph Drawing by Force-directed Placement", Software: Practice and
/// Experience, 1991). With k = sqrt(1 / n) and the temperature t = 0.1 max(range of x, range of y), each iteration moves
/// vertex i by t along its displacement
/// d_i = sum_j (p_i - p_j) (k^2 / r_ij^2 - A_ij r_ij / k), r_ij = max(|p_i - p_j|, 0.01),
/// i.e. p_i += d_i t / |d_i| (with |d_i| read as 0.1 when below 0.01), then t -= t_0 / (I + 1), stopping early when
/// |delta p|_F / n &lt; h. Afterwards the layout is re-centred and rescaled: p -= mean(p), p *= 1 / max |p_ic|.
/// <para>The short-displacement rule is the one of the networkx releases of 2020, when the SST paper's data were made
/// (|d_i| &lt; 0.01 read as 0.1); networkx 3.5 and later clip |d_i| to at least 0.01 instead (networkx issue 8113). The two
/// differ only for a vertex whose net force is below 0.01, which the graphs here practically never have.</para>
/// </summary>
public static class SpringLayout
{
    /// <summary>networkx's minimum distance between two vertices and the displacement length below which 0.1 is used.</summary>
    public const double MinimumDistance = 0.01;

    /// <summary>
    /// One call of spring_layout on positions <paramref name="positions"/> [n * dim] (vertex-major), in place.
    /// </summary>
    /// <param name="positions">Positions p [n * dim], vertex i at [i * dim, (i + 1) * dim); overwritten by the new layout.</param>
    /// <param name="adjacency">Symmetric adjacency A [n * n] (edge weights; 0: no edge).</param>
    /// <param name="n">Vertices, &gt;= 2.</param>
    /// <param name="dim">Dimensions, &gt;= 2 (the temperature reads the first two, as networkx).</param>
    /// <param name="iterations">Iterations I &gt;= 1 of the call.</param>
    /// <param name="threshold">Early-stopping threshold h &gt;= 0 (the SST data script: 1e-10).</param>
    public static void Apply(double[] positions, double[] adjacency, int n, int dim = 2, int iterations = 1, double threshold = 1e-10)
    {
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(adjacency);
        Guard.AtLeast(n, 2, nameof(n));
        Guard.AtLeast(dim, 2, nameof(dim));
        Guard.AtLeast(iterations, 1, nameof(iterations));
        Guard.NonNegative(threshold, nameof(threshold));
        if (positions.Length != n * dim)
            throw new ArgumentException($"positions must have n * dim = {n * dim} entries (got {positions.Length}).", nameof(positions));
        if (adjacency.Length != n * n)
            throw new ArgumentException($"adjacency must have n * n = {n * n} entries (got {adjacency.Length}).", nameof(adjacency));

        double k = Math.Sqrt(1.0 / n);
        double t = 0.1 * Math.Max(Range(positions, n, dim, 0), Range(positions, n, dim, 1));
        double dt = t / (iterations + 1);
        var displacement = new double[n * dim];
        var delta = new double[dim];
        for (int it = 0; it < iterations; it++)
        {
            Array.Clear(displacement);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    if (i == j) continue;              // delta = 0: no contribution (networkx clips r to 0.01 and multiplies by 0)
                    double r2 = 0;
                    for (int c = 0; c < dim; c++)
                    {
                        delta[c] = positions[i * dim + c] - positions[j * dim + c];
                        r2 += delta[c] * delta[c];
                    }
                    double r = Math.Max(Math.Sqrt(r2), MinimumDistance);
                    double force = k * k / (r * r) - adjacency[i * n + j] * r / k;
                    for (int c = 0; c < dim; c++) displacement[i * dim + c] += delta[c] * force;
                }
            double moved = 0;
            for (int i = 0; i < n; i++)
            {
                double length = 0;
                for (int c = 0; c < dim; c++) length += displacement[i * dim + c] * displacement[i * dim + c];
                length = Math.Sqrt(length);
                if (length < MinimumDistance) length = 0.1;
                for (int c = 0; c < dim; c++)
                {
                    double step = displacement[i * dim + c] * t / length;
                    positions[i * dim + c] += step;
                    moved += step * step;
                }
            }
            t -= dt;
            if (Math.Sqrt(moved) / n < threshold) break;
        }
        Rescale(positions, n, dim);
    }

    /// <summary>networkx's rescale_layout with scale 1: subtract the mean of every coordinate, divide all by max |p_ic| (when &gt; 0).</summary>
    public static void Rescale(double[] positions, int n, int dim)
    {
        ArgumentNullException.ThrowIfNull(positions);
        for (int c = 0; c < dim; c++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += positions[i * dim + c];
            mean /= n;
            for (int i = 0; i < n; i++) positions[i * dim + c] -= mean;
        }
        double lim = 0;
        for (int i = 0; i < n * dim; i++) lim = Math.Max(lim, Math.Abs(positions[i]));
        if (lim > 0)
        {
            double factor = 1.0 / lim;                 // networkx: pos *= scale / lim
            for (int i = 0; i < n * dim; i++) positions[i] *= factor;
        }
    }

    private static double Range(double[] positions, int n, int dim, int c)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            lo = Math.Min(lo, positions[i * dim + c]);
            hi = Math.Max(hi, positions[i * dim + c]);
        }
        return hi - lo;
    }
}
