using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Warcraft;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public sealed class WarcraftTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-warcraft-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Generator_is_deterministic_per_seed_and_seeds_differ()
    {
        var a = WarcraftMapGenerator.Generate(12, 42);
        var b = WarcraftMapGenerator.Generate(12, 42);
        var c = WarcraftMapGenerator.Generate(12, 43);
        Assert.Equal(a.Cells, b.Cells);
        Assert.Equal(a.Image, b.Image);
        Assert.Equal(a.Path, b.Path);
        Assert.Equal(a.OptimalCost, b.OptimalCost);
        Assert.NotEqual(a.Image, c.Image);
        Assert.Equal(3 * 96 * 96, a.Image.Length);
        Assert.Equal(1.0, a.Path[0]);
        Assert.Equal(1.0, a.Path[^1]);
    }

    [Fact]
    public void Dataset_maps_do_not_depend_on_the_count_and_splits_differ()
    {
        using var five = WarcraftDataset.Generate(WarcraftSplit.Train, 6, 5);
        using var eight = WarcraftDataset.Generate(WarcraftSplit.Train, 6, 8);
        using var test = WarcraftDataset.Generate(WarcraftSplit.Test, 6, 5);
        Assert.True((five.Images == eight.Images.narrow(0, 0, 5)).all().item<bool>());
        Assert.True((five.Paths == eight.Paths.narrow(0, 0, 5)).all().item<bool>());
        Assert.False((five.Images == test.Images).all().item<bool>());
        Assert.Equal(new long[] { 5, 3, 48, 48 }, five.Images.shape);
        // The dataset's map i is the generator's map of seed MapSeed(SetSeed(split, N), i).
        var m3 = WarcraftMapGenerator.Generate(6, MapRandom.MapSeed(WarcraftDataset.SetSeed(WarcraftSplit.Train, 6), 3));
        Assert.Equal(m3.Image, five.Images[3].reshape(-1).data<byte>().ToArray());
        Assert.Equal(m3.OptimalCost, five.OptimalCosts[3].item<double>(), 12);
    }

    [Fact]
    public void Terrain_is_spatially_coherent_and_every_type_occurs()
    {
        long same = 0, pairs = 0;
        var counts = new long[TerrainTable.Count];
        for (ulong seed = 0; seed < 40; seed++)
        {
            var m = WarcraftMapGenerator.Generate(12, seed);
            for (int r = 0; r < 12; r++)
            for (int c = 0; c < 12; c++)
            {
                counts[(int)m.Cells[r * 12 + c]]++;
                if (c + 1 < 12) { pairs++; if (m.Cells[r * 12 + c] == m.Cells[r * 12 + c + 1]) same++; }
            }
        }
        Assert.All(counts, n => Assert.True(n > 0.05 * 40 * 144, $"a terrain type covers only {n} of {40 * 144} cells"));
        // Independent cells with these frequencies would agree with their right neighbour ~ 23 % of the time.
        double independent = counts.Sum(n => (double)n * n) / Math.Pow(counts.Sum(), 2);
        Assert.True((double)same / pairs > independent + 0.3, $"neighbours agree {(double)same / pairs:F3}, independent {independent:F3}");
    }

    private static double[] PatchMean(WarcraftMap m, int cell)
    {
        int p = m.PatchSize, side = m.Size * p, plane = side * side, r0 = cell / m.Size * p, c0 = cell % m.Size * p;
        var mean = new double[3];
        for (int ch = 0; ch < 3; ch++)
        {
            for (int y = 0; y < p; y++) for (int x = 0; x < p; x++) mean[ch] += m.Image[ch * plane + (r0 + y) * side + c0 + x];
            mean[ch] /= p * p * 255.0;
        }
        return mean;
    }

    [Fact]
    public void The_mean_colour_of_a_patch_identifies_its_terrain()
    {
        // Centroids of the patch means per terrain from 30 maps, then nearest-centroid on 30 other maps: every cell right.
        var sums = new double[TerrainTable.Count, 3];
        var n = new int[TerrainTable.Count];
        for (ulong seed = 100; seed < 130; seed++)
        {
            var m = WarcraftMapGenerator.Generate(12, seed);
            for (int k = 0; k < 144; k++)
            {
                var mean = PatchMean(m, k);
                int t = (int)m.Cells[k];
                n[t]++;
                for (int ch = 0; ch < 3; ch++) sums[t, ch] += mean[ch];
            }
        }
        Assert.All(n, x => Assert.True(x > 0));
        double worstOwn = 0, bestOther = double.PositiveInfinity;
        for (ulong seed = 500; seed < 530; seed++)
        {
            var m = WarcraftMapGenerator.Generate(12, seed);
            for (int k = 0; k < 144; k++)
            {
                var mean = PatchMean(m, k);
                var d = Enumerable.Range(0, TerrainTable.Count).Select(t =>
                    Math.Sqrt(Enumerable.Range(0, 3).Sum(ch => Math.Pow(mean[ch] - sums[t, ch] / n[t], 2)))).ToArray();
                int truth = (int)m.Cells[k];
                int nearest = Array.IndexOf(d, d.Min());
                Assert.Equal(truth, nearest);
                worstOwn = Math.Max(worstOwn, d[truth]);
                bestOther = Math.Min(bestOther, d.Where((_, t) => t != truth).Min());
            }
        }
        Assert.True(bestOther > 2 * worstOwn, $"own-centroid distance up to {worstOwn:F3}, other centroids from {bestOther:F3}");
    }

    /// <summary>Cheapest simple path (0,0) -&gt; (n-1,n-1) by depth-first enumeration of all simple 8-neighbourhood paths.</summary>
    private static double BruteForceCost(double[] c, int n)
    {
        var on = new bool[n * n];
        double best = double.PositiveInfinity;
        void Dfs(int u, double cost)
        {
            if (cost >= best) return;
            if (u == n * n - 1) { best = cost; return; }
            for (int dr = -1; dr <= 1; dr++)
            for (int dc = -1; dc <= 1; dc++)
            {
                int a = u / n + dr, b = u % n + dc;
                if ((dr == 0 && dc == 0) || a < 0 || a >= n || b < 0 || b >= n || on[a * n + b]) continue;
                on[a * n + b] = true;
                Dfs(a * n + b, cost + c[a * n + b]);
                on[a * n + b] = false;
            }
        }
        on[0] = true;
        Dfs(0, c[0]);
        return best;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void The_true_path_is_optimal_against_brute_force(int size)
    {
        for (ulong seed = 0; seed < 6; seed++)
        {
            var m = WarcraftMapGenerator.Generate(size, seed);
            var costs = m.Costs;
            double brute = BruteForceCost(costs, size);
            Assert.Equal(brute, m.OptimalCost, 9);
            Assert.Equal(m.OptimalCost, m.Path.Zip(costs, (z, c) => z * c).Sum(), 9);
            Assert.Equal(1.0, m.Path[0]);
            Assert.Equal(1.0, m.Path[^1]);
            Assert.NotEmpty(MapImage.Order(m.Path, size));   // the mask is a connected corner-to-corner walk
        }
    }

    [Fact]
    public void The_true_path_cost_matches_bellman_ford_on_full_size_maps()
    {
        for (ulong seed = 0; seed < 10; seed++)
        {
            var m = WarcraftMapGenerator.Generate(12, seed);
            var c = m.Costs;
            int n = 12, cells = n * n;
            var dist = Enumerable.Repeat(double.PositiveInfinity, cells).ToArray();
            dist[0] = c[0];
            for (bool changed = true; changed;)
            {
                changed = false;
                for (int u = 0; u < cells; u++)
                for (int dr = -1; dr <= 1; dr++)
                for (int dc = -1; dc <= 1; dc++)
                {
                    int a = u / n + dr, b = u % n + dc;
                    if ((dr == 0 && dc == 0) || a < 0 || a >= n || b < 0 || b >= n) continue;
                    double nd = dist[u] + c[a * n + b];
                    if (nd < dist[a * n + b] - 1e-12) { dist[a * n + b] = nd; changed = true; }
                }
            }
            Assert.Equal(dist[cells - 1], m.OptimalCost, 9);
        }
    }

    [Fact]
    public void Accuracy_counts_paths_whose_true_cost_is_optimal_including_ties()
    {
        // 3 x 3, 8-neighbourhood: the centre is expensive, so the two rims tie at cost 4; the diagonal costs 11.
        double[] c = { 1, 1, 1, 1, 9, 1, 1, 1, 1 };
        var costs = torch.tensor(c.Concat(c).Concat(c).Concat(c).ToArray(), new long[] { 4, 3, 3 }, ScalarType.Float64);
        float[] top = { 1, 1, 0, 0, 0, 1, 0, 0, 1 };       // (0,0) (0,1) (1,2) (2,2): 4
        float[] left = { 1, 0, 0, 1, 0, 0, 0, 1, 1 };      // (0,0) (1,0) (2,1) (2,2): 4
        float[] diagonal = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };  // 11
        float[] detour = { 1, 1, 1, 0, 0, 1, 0, 0, 1 };    // 5
        var paths = torch.tensor(top.Concat(left).Concat(diagonal).Concat(detour).ToArray(), new long[] { 4, 3, 3 });
        var optimal = torch.tensor(new double[] { 4, 4, 4, 4 });
        Assert.Equal(new[] { 4.0, 4.0, 11.0, 5.0 }, PathMetrics.PathCosts(paths, costs).data<double>().ToArray());
        Assert.Equal(0.5, PathMetrics.Accuracy(paths, costs, optimal), 12);
        // Hamming distances to the top path.
        var y = torch.tensor(top.Concat(top).Concat(top).Concat(top).ToArray(), new long[] { 4, 3, 3 });
        Assert.Equal(new[] { 0f, 4f, 3f, 1f }, PathMetrics.Hamming(paths, y).data<float>().ToArray());
    }

    [Fact]
    public void Optimality_uses_a_relative_tolerance_of_1e_minus_4()
    {
        Assert.True(PathMetrics.IsOptimal(10 * (1 + 0.9e-4), 10));
        Assert.True(PathMetrics.IsOptimal(10, 10));
        Assert.False(PathMetrics.IsOptimal(10 * (1 + 1.1e-4), 10));
        Assert.False(PathMetrics.IsOptimal(9.99, 10));
        Assert.Equal(2, PathMetrics.CountOptimal(new[] { 10.0, 20.0, 31.0 }, new[] { 10.0, 20.0, 30.0 }));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => PathMetrics.IsOptimal(1, 0));
        Assert.Equal("optimal", e.ParamName);
        Assert.Throws<ArgumentException>(() => PathMetrics.CountOptimal(new[] { 1.0 }, new[] { 1.0, 2.0 }));
    }

    public static TheoryData<string, Func<WarcraftConfig, WarcraftConfig>> BadConfigs => new()
    {
        { "--size", c => c with { Size = 1 } },
        { "PatchSize", c => c with { PatchSize = 6 } },
        { "--train-maps", c => c with { TrainMaps = 0 } },
        { "--val-maps", c => c with { ValidationMaps = 0 } },
        { "--test-maps", c => c with { TestMaps = 0 } },
        { "--epochs", c => c with { Epochs = 0 } },
        { "--batch", c => c with { BatchSize = 0 } },
        { "--lr", c => c with { LearningRate = 0 } },
        { "--lr", c => c with { LearningRate = double.NaN } },
        { "--channels", c => c with { Channels = 0 } },
        { "--depth", c => c with { Depth = -1 } },
        { "--lambda", c => c with { Lambda = -1 } },
        { "--noise-k", c => c with { NoiseK = -1 } },
        { "--noise-temperature", c => c with { NoiseTemperature = -0.5 } },
        { "--aimle-target", c => c with { AimleTargetNonZeros = -1 } },
        { "--aimle-step", c => c with { AimleStep = 0 } },
        { "--aimle-initial-beta", c => c with { AimleInitialBeta = -1 } },
        { "--evals-per-epoch", c => c with { EvalsPerEpoch = 0 } },
        { "--methods", c => c with { Method = (WarcraftMethod)7 } },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void Invalid_settings_throw_naming_the_option_or_for_a_check_across_settings_the_property(string name, Func<WarcraftConfig, WarcraftConfig> change)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => change(new WarcraftConfig()).Validate());
        Assert.Equal(name, e.ParamName);
        new WarcraftConfig().Validate();
    }

    [Fact]
    public void Bad_arguments_of_the_generator_throw()
    {
        Assert.Equal("size", Assert.ThrowsAny<ArgumentException>(() => WarcraftMapGenerator.Generate(1, 0)).ParamName);
        Assert.Equal("patchSize", Assert.ThrowsAny<ArgumentException>(() => WarcraftMapGenerator.Generate(4, 0, patchSize: 2)).ParamName);
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => WarcraftDataset.Generate(WarcraftSplit.Test, 4, 0)).ParamName);
    }

    [Theory]
    [InlineData(WarcraftMethod.Imle)]
    [InlineData(WarcraftMethod.Aimle)]
    [InlineData(WarcraftMethod.Direct)]
    public void A_tiny_run_trains_and_evaluates(WarcraftMethod method)
    {
        var config = new WarcraftConfig
        {
            Method = method, Size = 5, TrainMaps = 12, ValidationMaps = 6, TestMaps = 6, Epochs = 2, BatchSize = 6, Channels = 8,
            Depth = 1, AimleInitialBeta = 0.5,
        };
        using var train = WarcraftDataset.Generate(WarcraftSplit.Train, 5, 12);
        using var val = WarcraftDataset.Generate(WarcraftSplit.Validation, 5, 6);
        using var test = WarcraftDataset.Generate(WarcraftSplit.Test, 5, 6);
        var task = new WarcraftTask(config, train, val, test);
        var before = task.Net.parameters().Select(p => p.detach().clone()).ToList();
        var result = ExperimentRunner.Run(task, new RunnerOptions(Path.Combine(_dir, method.ToString()), LogEvery: 2, CheckpointEvery: 0, WriteReport: false));
        Assert.Equal(4, result.Steps);
        foreach (var k in new[] { "val_accuracy", "test_accuracy", "test_exact_match" })
            Assert.InRange(result.FinalEval[k], 0, 1);
        Assert.True(result.FinalEval["test_accuracy"] >= result.FinalEval["test_exact_match"]);
        // The gradient reached the CNN: its parameters moved.
        Assert.Contains(task.Net.parameters().Zip(before), pair => !(pair.First.detach() == pair.Second).all().item<bool>());
        if (method == WarcraftMethod.Aimle) Assert.Equal(4, task.Adaptive!.Updates);
        var z = task.PredictPaths(test.FloatImages(torch.arange(0, 6, dtype: ScalarType.Int64)));
        Assert.Equal(new long[] { 6, 5, 5 }, z.shape);
        Assert.True((z.sum(new long[] { 1, 2 }) >= 5).all().item<bool>());   // a corner-to-corner path has >= N cells
    }

    [Fact]
    public void A_resumed_AIMLE_run_equals_an_uninterrupted_one_adaptive_state_included()
    {
        var config = new WarcraftConfig
        {
            Method = WarcraftMethod.Aimle, Size = 5, TrainMaps = 12, ValidationMaps = 6, TestMaps = 6, Epochs = 2, BatchSize = 6,
            Channels = 8, Depth = 1, AimleInitialBeta = 0.5,
        };
        using var train = WarcraftDataset.Generate(WarcraftSplit.Train, 5, 12);
        using var val = WarcraftDataset.Generate(WarcraftSplit.Validation, 5, 6);
        using var test = WarcraftDataset.Generate(WarcraftSplit.Test, 5, 6);
        var straight = new WarcraftTask(config, train, val, test);
        ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(_dir, "straight"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false));
        string dir = Path.Combine(_dir, "resumed");
        ExperimentRunner.Run(new WarcraftTask(config, train, val, test), new RunnerOptions(dir, LogEvery: 1, CheckpointEvery: 0, WriteReport: false, StopAtStep: 2));
        var resumed = new WarcraftTask(config, train, val, test);
        var r = ExperimentRunner.Run(resumed, new RunnerOptions(dir, LogEvery: 1, CheckpointEvery: 0, WriteReport: false, Resume: true));
        Assert.Equal(2, r.StartStep);
        Assert.Equal((straight.Adaptive!.Beta, straight.Adaptive.NonZeroRate, straight.Adaptive.Updates),
            (resumed.Adaptive!.Beta, resumed.Adaptive.NonZeroRate, resumed.Adaptive.Updates));
        Assert.Equal(4, resumed.Adaptive.Updates);
        Assert.Equal(straight.Net.parameters().SelectMany(p => p.data<float>().ToArray()), resumed.Net.parameters().SelectMany(p => p.data<float>().ToArray()));
    }

    [Fact]
    public void Learning_rate_drops_at_60_and_80_percent_of_the_epochs()
    {
        var config = new WarcraftConfig { Size = 4, TrainMaps = 10, ValidationMaps = 2, TestMaps = 2, Epochs = 10, BatchSize = 5, Channels = 4, Depth = 0 };
        using var train = WarcraftDataset.Generate(WarcraftSplit.Train, 4, 10);
        using var other = WarcraftDataset.Generate(WarcraftSplit.Test, 4, 2);
        var task = new WarcraftTask(config, train, other, other);
        Assert.Equal(1e-3, task.LearningRateAt(11), 15);     // epoch 5
        Assert.Equal(1e-4, task.LearningRateAt(12), 15);     // epoch 6
        Assert.Equal(1e-5, task.LearningRateAt(16), 15);     // epoch 8
        Assert.Throws<ArgumentException>(() => new WarcraftTask(config with { Size = 5 }, train, other, other));
    }

    [Fact]
    public void Map_pictures_are_png_files_and_paths_are_ordered()
    {
        var m = WarcraftMapGenerator.Generate(6, 9);
        var order = MapImage.Order(m.Path, 6);
        Assert.Equal(0, order[0]);
        Assert.Equal(35, order[^1]);
        Assert.Equal((int)m.Path.Sum(), order.Count);
        for (int i = 1; i < order.Count; i++)
            Assert.True(Math.Abs(order[i] / 6 - order[i - 1] / 6) <= 1 && Math.Abs(order[i] % 6 - order[i - 1] % 6) <= 1);
        Assert.Empty(MapImage.Order(new double[36], 6));
        string png = Path.Combine(_dir, "m.png");
        MapImage.SavePng(png, m.Image, 6, 8, scale: 2, truePath: m.Path, predictedPath: m.Path);
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
        Assert.Throws<ArgumentException>(() => MapImage.SavePng(png, new byte[10], 6, 8));
    }
}
