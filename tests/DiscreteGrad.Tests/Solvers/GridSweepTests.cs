using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Solvers;

/// <summary>
/// The SIMD sweep algorithm (the default) must return exactly Dijkstra's paths, ties included, for every batch size
/// (groups of lanes partly filled), grid shape, neighbourhood and dtype, and on the maps it hands to Dijkstra.
/// </summary>
public class GridSweepTests
{
    private static void AssertSameAsDijkstra(Tensor costs, GridNeighbourhood nb, int? sweepLimit = null, string what = "", int? bits = null)
    {
        var sweep = new GridShortestPathSolver(nb) { SweepLimit = sweepLimit, SweepVectorBits = bits }.Solve(costs);
        var dijkstra = new GridShortestPathSolver(nb, GridShortestPathAlgorithm.Dijkstra).Solve(costs);
        Assert.Equal(costs.dtype, sweep.dtype);
        var a = TorchAssert.ToArray(sweep);
        var b = TorchAssert.ToArray(dijkstra);
        int cells = checked((int)(costs.shape[1] * costs.shape[2]));
        for (int m = 0; m < costs.shape[0]; m++)
            Assert.True(a.AsSpan(m * cells, cells).SequenceEqual(b.AsSpan(m * cells, cells)),
                $"{what}: map {m} of {BatchShape(costs)} ({nb}, {bits?.ToString() ?? "default"} bits) differs from Dijkstra");
    }

    private static string BatchShape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    [Theory]
    [InlineData(GridNeighbourhood.Eight, ScalarType.Float32)]
    [InlineData(GridNeighbourhood.Eight, ScalarType.Float64)]
    [InlineData(GridNeighbourhood.Four, ScalarType.Float32)]
    [InlineData(GridNeighbourhood.Four, ScalarType.Float64)]
    public void Random_maps_of_every_shape_and_batch_size_give_dijkstras_paths(GridNeighbourhood nb, ScalarType dtype)
    {
        var gen = new Generator(2024);
        // An explicit Scalar kept alive by the using: an implicit one can be finalised by the GC while libtorch still reads
        // it (TorchSharp 0.107 does not dispose implicit Scalars), which showed once as "Unknown scalar type" under load.
        using var four = 4.0.ToScalar();
        foreach (var (h, w) in new[] { (12, 12), (18, 18), (30, 30), (7, 13), (13, 7), (1, 9), (9, 1), (2, 2), (1, 1) })
            foreach (int batch in new[] { 1, 3, 16, 19, 37 })
            {
                AssertSameAsDijkstra(rand(new long[] { batch, h, w }, generator: gen).to(dtype), nb, what: "U[0, 1)");
                // Wide range of magnitudes: rounding decides between near-equal paths.
                AssertSameAsDijkstra(exp(randn(new long[] { batch, h, w }, generator: gen).mul(four)).to(dtype), nb, what: "log-normal");
            }
    }

    [Theory]
    [InlineData(128)]
    [InlineData(256)]
    [InlineData(512)]
    [InlineData(1024)]
    public void Every_vector_width_gives_dijkstras_paths(int bits)
    {
        // Widths the CPU lacks run in .NET's software fallback: slow, but the same arithmetic.
        var gen = new Generator(31);
        foreach (var nb in new[] { GridNeighbourhood.Eight, GridNeighbourhood.Four })
        {
            AssertSameAsDijkstra(rand(new long[] { 21, 9, 11 }, generator: gen), nb, what: "U[0, 1)", bits: bits);
            AssertSameAsDijkstra(randint(1, 4, new long[] { 21, 8, 8 }, generator: gen).to(ScalarType.Float64), nb, what: "1..3", bits: bits);
            AssertSameAsDijkstra(randint(0, 2, new long[] { 5, 6, 6 }, generator: gen).to(ScalarType.Float64), nb, what: "0/1", bits: bits);
            AssertSameAsDijkstra(Serpentine(11, 3), nb, sweepLimit: 4, what: "maze", bits: bits);
        }
    }

    [Theory]
    [InlineData(GridNeighbourhood.Eight)]
    [InlineData(GridNeighbourhood.Four)]
    public void Positive_integer_costs_with_many_ties_give_dijkstras_paths(GridNeighbourhood nb)
    {
        // Costs 1..3 have no flat cell, so the sweep's own backtrack decides every tie (no Dijkstra fallback).
        var gen = new Generator(77);
        foreach (var (h, w) in new[] { (6, 6), (12, 12), (5, 17) })
            AssertSameAsDijkstra(randint(1, 4, new long[] { 40, h, w }, generator: gen).to(ScalarType.Float64), nb, what: "1..3");
    }

    /// <summary>Vertical serpentine: walls of cost 1000 in every other column, with gaps alternately at the bottom and top.</summary>
    private static Tensor Serpentine(int n, int batch)
    {
        var c = new double[batch * n * n];
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < n; r++)
                for (int col = 0; col < n; col++)
                {
                    bool wall = col % 2 == 1 && r != (col % 4 == 1 ? n - 1 : 0);
                    c[(b * n + r) * n + col] = wall ? 1000 : 1 + 0.01 * ((b + r * 7 + col * 3) % 5);
                }
        return tensor(c, new long[] { batch, n, n });
    }

    [Theory]
    [InlineData(GridNeighbourhood.Four)]
    [InlineData(GridNeighbourhood.Eight)]
    public void Mazes_that_need_many_sweeps_are_solved_within_or_past_the_sweep_limit(GridNeighbourhood nb)
    {
        var maze = Serpentine(15, 5);
        // The path turns 7 times between down and up: the default limit (23) lets the sweeps settle; with a limit of 2
        // or 5 every map goes to Dijkstra. All give Dijkstra's path, which snakes through every gap.
        AssertSameAsDijkstra(maze, nb, what: "default limit");
        AssertSameAsDijkstra(maze, nb, sweepLimit: 2, what: "limit 2");
        AssertSameAsDijkstra(maze, nb, sweepLimit: 5, what: "limit 5");
        var z = new GridShortestPathSolver(nb) { SweepLimit = 2 }.Solve(maze);
        var walls = (maze >= 1000).to(ScalarType.Float64);
        Assert.Equal(0.0, (z * walls).sum().item<double>()); // never through a wall
        Assert.True(z.sum(new long[] { 1, 2 }).min().item<double>() >= 8 * 12); // down or up all 8 corridors
    }

    [Fact]
    public void Zero_costs_and_overflowing_costs_fall_back_to_dijkstra()
    {
        var gen = new Generator(5);
        // Zero costs make cells "flat" (as close as a neighbour): Dijkstra's order there depends on its queue.
        var zeros = randint(0, 2, new long[] { 21, 9, 9 }, generator: gen).to(ScalarType.Float64);
        AssertSameAsDijkstra(zeros, GridNeighbourhood.Eight, what: "0/1 costs");
        AssertSameAsDijkstra(zeros, GridNeighbourhood.Four, what: "0/1 costs");
        // A tiny cost lost in rounding next to a large distance is flat too.
        var tiny = rand(new long[] { 9, 6, 6 }, generator: gen).to(ScalarType.Float64) * 1e20;
        tiny[.., 3, 3] = 1e-10;
        AssertSameAsDijkstra(tiny, GridNeighbourhood.Eight, what: "absorbed cost");
        // Distances that overflow to infinity.
        var huge = full(new long[] { 3, 4, 4 }, double.MaxValue / 3, ScalarType.Float64);
        AssertSameAsDijkstra(huge, GridNeighbourhood.Eight, what: "overflow");
    }

    [Fact]
    public void Bad_sweep_limits_vector_widths_and_algorithms_are_rejected_naming_the_parameter()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new GridShortestPathSolver { SweepLimit = 1 });
        Assert.Equal("SweepLimit", e.ParamName);
        Assert.Contains(">= 2", e.Message);
        var a = Assert.Throws<ArgumentOutOfRangeException>(() => new GridShortestPathSolver(GridNeighbourhood.Four, (GridShortestPathAlgorithm)9));
        Assert.Equal("algorithm", a.ParamName);
        Assert.Equal(8 + 15, GridShortestPathSolver.DefaultSweepLimit(15, 15));
        var bits = Assert.Throws<ArgumentOutOfRangeException>(() => new GridShortestPathSolver { SweepVectorBits = 64 });
        Assert.Equal("SweepVectorBits", bits.ParamName);
        Assert.Equal(GridShortestPathSolver.DefaultSweepVectorBits / 64, GridShortestPathSolver.SweepLanes);
        // Small batches and huge grids get narrower groups; a full batch on a Warcraft-sized grid gets the default.
        int best = GridShortestPathSolver.DefaultSweepVectorBits;
        Assert.Equal(best, GridShortestPathSolver.SweepVectorBitsFor(256, 30, 30));
        Assert.Equal(128, GridShortestPathSolver.SweepVectorBitsFor(1, 30, 30));
        Assert.Equal(128, GridShortestPathSolver.SweepVectorBitsFor(2, 30, 30));
        Assert.Equal(Math.Min(best, 256), GridShortestPathSolver.SweepVectorBitsFor(3, 30, 30));
        Assert.Equal(128, GridShortestPathSolver.SweepVectorBitsFor(256, 2000, 2000));
        // A grid too large to index (checked before any allocation: the tensor is a zero-copy view of one row).
        var huge = zeros(new long[] { 1, 1, 20000 }).expand(1, 20000, 20000);
        var big = Assert.Throws<ArgumentException>(() => new GridShortestPathSolver().Solve(huge));
        Assert.Equal("weights", big.ParamName);
    }
}
