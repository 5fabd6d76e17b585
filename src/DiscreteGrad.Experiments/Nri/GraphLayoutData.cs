using DiscreteGrad.Experiments.Warcraft;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Nri;

/// <summary>The three splits of the graph-layout data; each has its own random stream.</summary>
public enum GraphLayoutSplit
{
    /// <summary>Training trajectories.</summary>
    Train,
    /// <summary>Validation trajectories.</summary>
    Valid,
    /// <summary>Test trajectories.</summary>
    Test,
}

/// <summary>
/// Graph-layout trajectories of the SST paper's NRI experiment (Paulus et al. 2020, data_scripts/generate_graph_layout_dataset.py of
/// choidami/sst): per trajectory, i.i.d. Gumbel(0, 1) weights on the m = n (n - 1) / 2 undirected edges of K_n, the true
/// interaction graph = their maximum spanning tree (Kruskal), initial positions N(0, 1)^{n x dim}, then T calls of
/// <see cref="SpringLayout.Apply"/> with one iteration each (networkx's spring_layout, threshold 1e-10, centre 0), every
/// call's result recorded (the script's num_timeskip = 1: the first frame is after one call, not the initial positions).
/// Trajectory g of a split draws from its own SplitMix64 stream, seeded by (data seed, split, g): first the m Gumbels (edge-list
/// order), then the n * dim normals, so a trajectory depends on its seed and index alone.
/// </summary>
public sealed class GraphLayoutData : IDisposable
{
    private GraphLayoutData(Tensor positions, Tensor edges, int vertices, int timesteps, int dims)
    {
        Positions = positions;
        Edges = edges;
        Vertices = vertices;
        Timesteps = timesteps;
        Dims = dims;
    }

    /// <summary>Positions [N, n, T, dim] float32 (the references' feature layout: trajectory, vertex, frame, coordinate).</summary>
    public Tensor Positions { get; private set; }
    /// <summary>The true trees [N, m] float32 0/1, edge-list order (<see cref="SpanningTreeLayout.EdgeList"/>).</summary>
    public Tensor Edges { get; }
    /// <summary>Vertices n.</summary>
    public int Vertices { get; }
    /// <summary>Frames T.</summary>
    public int Timesteps { get; }
    /// <summary>Dimensions.</summary>
    public int Dims { get; }
    /// <summary>Trajectories N.</summary>
    public long Count => Positions.shape[0];

    /// <summary>Generates <paramref name="count"/> trajectories of <paramref name="split"/>.</summary>
    /// <param name="split">Which split (its own random streams).</param>
    /// <param name="count">Trajectories N &gt;= 1.</param>
    /// <param name="vertices">Vertices n &gt;= 2.</param>
    /// <param name="timesteps">Frames T &gt;= 1.</param>
    /// <param name="dataSeed">Seed of the data set.</param>
    /// <param name="dims">Dimensions (&gt;= 2).</param>
    public static GraphLayoutData Generate(GraphLayoutSplit split, int count, int vertices, int timesteps, long dataSeed, int dims = 2)
    {
        Guard.AtLeast(count, 1, nameof(count));
        Guard.AtLeast(vertices, 2, nameof(vertices));
        Guard.AtLeast(timesteps, 1, nameof(timesteps));
        Guard.AtLeast(dims, 2, nameof(dims));
        if (!Enum.IsDefined(split)) throw new ArgumentOutOfRangeException(nameof(split), split, "split must be Train, Valid or Test.");
        int n = vertices, m = n * (n - 1) / 2;
        var gumbels = new double[(long)count * m];
        var initial = new double[(long)count * n * dims];
        for (int g = 0; g < count; g++)
        {
            var rng = new MapRandom(TrajectorySeed(dataSeed, split, g));
            for (int e = 0; e < m; e++) gumbels[(long)g * m + e] = Gumbel(rng);
            for (int i = 0; i < n * dims; i++) initial[(long)g * n * dims + i] = rng.NextGaussian();
        }
        double[] trees;
        using (var w = torch.tensor(gumbels, new long[] { count, m }, dtype: ScalarType.Float64))
        using (var z = new MaximumSpanningTreeSolver(SpanningTreeLayout.EdgeList).Solve(w))
            trees = z.data<double>().ToArray();

        var frames = new float[(long)count * n * timesteps * dims];
        for (int g = 0; g < count; g++)
        {
            var adjacency = Adjacency(trees.AsSpan(g * m, m), n);
            var pos = initial.AsSpan(g * n * dims, n * dims).ToArray();
            for (int t = 0; t < timesteps; t++)
            {
                SpringLayout.Apply(pos, adjacency, n, dims, iterations: 1, threshold: 1e-10);
                for (int i = 0; i < n; i++)
                    for (int c = 0; c < dims; c++)
                        frames[(((long)g * n + i) * timesteps + t) * dims + c] = (float)pos[i * dims + c];
            }
        }
        var positions = torch.tensor(frames, new long[] { count, n, timesteps, dims });
        var edges = torch.tensor(trees.Select(x => (float)x).ToArray(), new long[] { count, m });
        return new GraphLayoutData(positions, edges, n, timesteps, dims);
    }

    /// <summary>The seed of trajectory <paramref name="index"/> of <paramref name="split"/> (a hash of the three).</summary>
    public static ulong TrajectorySeed(long dataSeed, GraphLayoutSplit split, long index) =>
        MapRandom.MapSeed(unchecked((long)MapRandom.MapSeed(dataSeed, 1 + (int)split)), index);

    /// <summary>The symmetric 0/1 adjacency [n * n] of an edge-list indicator [m].</summary>
    public static double[] Adjacency(ReadOnlySpan<double> edgeList, int n)
    {
        var a = new double[n * n];
        int e = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++, e++)
                if (edgeList[e] != 0) a[i * n + j] = a[j * n + i] = edgeList[e];
        return a;
    }

    /// <summary>
    /// Maps every position to (x - min) * 2 / (max - min) - 1 with the training set's min and max over all coordinates
    /// (the references' normalisation to [-1, 1]); returns (min, max) used.
    /// </summary>
    public void Normalise(double min, double max)
    {
        if (!(max > min)) throw new ArgumentOutOfRangeException(nameof(max), max, $"max must exceed min = {min} (got {max}).");
        var old = Positions;
        Positions = ((old - min) * (2.0 / (max - min)) - 1.0).DetachFromDisposeScope();
        old.Dispose();
    }

    /// <summary>The smallest and largest coordinate.</summary>
    public (double Min, double Max) Extent() => (Positions.min().ToDouble(), Positions.max().ToDouble());

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        Positions.Dispose();
        Edges.Dispose();
    }

    /// <summary>Gumbel(0, 1) = -log(-log U) with U uniform on the open interval (0, 1) (the midpoint of a 2^-53 grid cell).</summary>
    private static double Gumbel(MapRandom rng)
    {
        double u = ((rng.NextBits() >> 11) + 0.5) * (1.0 / (1UL << 53));
        return -Math.Log(-Math.Log(u));
    }
}
