using DiscreteGrad.Experiments.Figures;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public sealed class FiguresTests : IDisposable
{
    // ---- figure-beta-toy -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void BetaZeroToyGradientIsSoftmaxMinusTarget(double tau)
    {
        using var scope = torch.NewDisposeScope();
        var rows = new[] { (0.0, 0.0), (1.5, -0.5), (-2.0, 3.0) };
        var theta = torch.tensor(rows.SelectMany(r => new[] { r.Item1, r.Item2 }).ToArray(), dtype: ScalarType.Float64).reshape(3, 2);
        var grad = BetaToy.Gradient(theta, tau, beta: 0, generator: null).data<double>().ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            // By hand: p_1 = 1 / (1 + exp((theta_2 - theta_1) / tau)), dL/dtheta = (p - (1, 0)) / tau.
            double p1 = 1 / (1 + Math.Exp((rows[i].Item2 - rows[i].Item1) / tau));
            Assert.Equal((p1 - 1) / tau, grad[2 * i], 12);
            Assert.Equal((1 - p1) / tau, grad[2 * i + 1], 12);
        }
    }

    [Fact]
    public void NoisyToyGradientIsSoftmaxOfPerturbedLogitsMinusTarget()
    {
        using var scope = torch.NewDisposeScope();
        const double beta = 2.0;
        var theta = torch.tensor(new[] { 0.3, -0.2, 2.0, 1.0, -1.0, 0.5, 0.0, 0.0 }, dtype: ScalarType.Float64).reshape(4, 2);
        using var g1 = new Generator(7);
        using var g2 = new Generator(7);
        var grad = BetaToy.Gradient(theta, 1.0, beta, g1).data<double>().ToArray();
        // Two classes: the perturbation of the difference, G_1 - G_2 ~ Logistic(0, 1), is drawn as logit(U), U clamped
        // into [tiny, 1 - eps/2] (one uniform per row).
        var fi = torch.finfo(ScalarType.Float64);
        var noise = torch.rand(new long[] { 4 }, dtype: ScalarType.Float64, generator: g2).clamp(fi.tiny, 1 - fi.eps / 2).logit()
            .data<double>().ToArray();
        var t = theta.data<double>().ToArray();
        for (int i = 0; i < 4; i++)
        {
            double a = t[2 * i] - t[2 * i + 1] + beta * noise[i];   // (theta_1 + beta G_1) - (theta_2 + beta G_2)
            double y1 = 1 / (1 + Math.Exp(-a));
            Assert.Equal(y1 - 1, grad[2 * i], 12);
            Assert.Equal(1 - y1, grad[2 * i + 1], 12);
        }
        // The noise matters: the same rows without noise give another gradient.
        var clean = BetaToy.Gradient(theta, 1.0, 0, null).data<double>().ToArray();
        Assert.True(clean.Zip(grad).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
    }

    [Fact]
    public void BetaZeroTraceFollowsTheHandComputedSgdRecursion()
    {
        var config = new BetaToyConfig { Betas = new[] { 0.0 }, Runs = 2, Steps = 50, LearningRate = 0.3 };
        var trace = BetaToy.Run(config)[0];
        // gap_{t+1} = gap_t + 2 lr (1 - sigmoid(gap_t)), |g_t| = sqrt(2) (1 - sigmoid(gap_t)).
        double gap = 0;
        for (int t = 0; t < config.Steps; t++)
        {
            double p1 = 1 / (1 + Math.Exp(-gap));
            for (int r = 0; r < config.Runs; r++)
            {
                Assert.Equal(gap, trace.ThetaGap[r, t], 10);
                Assert.Equal(p1, trace.Prob1[r, t], 10);
                Assert.Equal(Math.Sqrt(2) * (1 - p1), trace.GradNorm[r, t], 10);
            }
            gap += 2 * config.LearningRate * (1 - p1);
        }
    }

    [Fact]
    public void LargerBetaKeepsLargerGradientsLateInTraining()
    {
        var config = new BetaToyConfig { Betas = new[] { 0.0, 4.0 }, Runs = 32, Steps = 150, LearningRate = 0.3, Seed = 3 };
        var summaries = BetaToy.Run(config).Select(BetaToy.Summarize).ToArray();
        var (b0, b4) = (summaries[0], summaries[1]);
        // Measured with these settings: 0.0545 vs 0.0169 (3.2x). Saturation is deeper at beta = 4 (larger theta gap), yet its gradients are larger.
        Assert.True(b4.LateGradMean > 2 * b0.LateGradMean, $"late |g|: beta 4 {b4.LateGradMean}, beta 0 {b0.LateGradMean}");
        Assert.True(b4.FinalGapMean > b0.FinalGapMean);
        // Beta = 0 is deterministic (no spread over runs); beta = 4 is not.
        Assert.True(b0.EarlyGradStd < 1e-12);
        Assert.True(b4.EarlyGradStd > 1e-3);
    }

    [Fact]
    public void BinnedAveragesEachRunOverBinsThenOverRuns()
    {
        var values = new double[,] { { 1, 3, 5, 7, 9 }, { 3, 5, 7, 9, 11 } };
        var (x, mean, std) = BetaToyReport.Binned(values, 2);
        Assert.Equal(new[] { 0.5, 2.5, 4.0 }, x);
        Assert.Equal(new[] { 3.0, 7.0, 10.0 }, mean);
        Assert.All(std, s => Assert.Equal(Math.Sqrt(2), s, 12));
    }

    // ---- figure-simplex --------------------------------------------------------------------------------------------

    [Fact]
    public void SimplexSamplesLieOnTheSimplex()
    {
        foreach (var (tau, beta) in new[] { (10.0, 1.0), (0.1, 1.0), (1.0, 8.0), (0.05, 4.0) })
        {
            using var g = new Generator(5);
            var points = SimplexSamples.Sample(new[] { 2.0, 0.5, 1.0 }, tau, beta, 500, g);
            Assert.Equal(500, points.GetLength(0));
            Assert.Equal(3, points.GetLength(1));
            for (int i = 0; i < 500; i++)
            {
                Assert.True(points[i, 0] >= 0 && points[i, 1] >= 0 && points[i, 2] >= 0);
                Assert.Equal(1.0, points[i, 0] + points[i, 1] + points[i, 2], 6);
            }
        }
    }

    [Fact]
    public void SimplexNearCornerFractionRisesAsTauFallsAndBetaSpreadsCornersMoreEvenly()
    {
        var config = new SimplexConfig { Samples = 1000, Seed = 1 };
        var panels = SimplexSamples.Run(config);
        var tauRow = panels.Where(p => p.Setting.Row == "tau").OrderByDescending(p => p.Setting.Tau).ToArray();
        for (int i = 1; i < tauRow.Length; i++)
            Assert.True(tauRow[i].NearCornerFraction >= tauRow[i - 1].NearCornerFraction,
                $"tau {tauRow[i].Setting.Tau}: {tauRow[i].NearCornerFraction} vs tau {tauRow[i - 1].Setting.Tau}: {tauRow[i - 1].NearCornerFraction}");
        Assert.True(tauRow[^1].NearCornerFraction > 0.8);
        Assert.Equal(0.0, tauRow[0].NearCornerFraction);

        var betaRow = panels.Where(p => p.Setting.Row == "beta").OrderBy(p => p.Setting.Beta).ToArray();
        // beta = 0: every sample is softmax(theta); nothing near a corner.
        double z = Math.Exp(2) + Math.Exp(0.5) + Math.Exp(1);
        for (int i = 0; i < config.Samples; i++)
        {
            Assert.Equal(Math.Exp(2) / z, betaRow[0].Points[i, 0], 12);
            Assert.Equal(Math.Exp(0.5) / z, betaRow[0].Points[i, 1], 12);
        }
        Assert.Equal(0.0, betaRow[0].NearCornerFraction);
        // The most discrete panels of both rows: beta increase uses the corners more evenly than tau -> 0.
        Assert.True(betaRow[^1].NearCornerFraction > 0.5);
        Assert.True(betaRow[^1].CornerTvToUniform < tauRow[^1].CornerTvToUniform - 0.1,
            $"TV to uniform: beta {betaRow[^1].CornerTvToUniform}, tau {tauRow[^1].CornerTvToUniform}");
        // Shares are shares.
        foreach (var p in panels.Where(p => p.NearCornerFraction > 0))
            Assert.Equal(1.0, p.CornerShares.Sum(), 12);
    }

    [Fact]
    public void SimplexSummaryCountsCornersByHand()
    {
        var points = new double[,] { { 0.95, 0.03, 0.02 }, { 0.1, 0.85, 0.05 }, { 0.01, 0.01, 0.98 }, { 0.92, 0.04, 0.04 } };
        var panel = SimplexSamples.Summarize(new SimplexSetting(1, 1, "tau"), points, 0.9);
        Assert.Equal(0.75, panel.NearCornerFraction, 12);
        Assert.Equal(2 / 3.0, panel.CornerShares[0], 12);
        Assert.Equal(0.0, panel.CornerShares[1]);
        Assert.Equal(1 / 3.0, panel.CornerShares[2], 12);
        Assert.Equal(new[] { 0.5, 0.25, 0.25 }, panel.ArgmaxShares);
        Assert.Equal((0.95 + 0.85 + 0.98 + 0.92) / 4, panel.MeanMax, 12);
        Assert.Equal(0.5 * (1 / 3.0 + 1 / 3.0 + 0), panel.CornerTvToUniform, 12);
    }

    // ---- figure-temperature ----------------------------------------------------------------------------------------

    [Fact]
    public void TotalVariationByHand()
    {
        Assert.Equal(0.3, TemperatureExperiment.TotalVariation(new[] { 0.5, 0.5, 0.0 }, new[] { 0.2, 0.5, 0.3 }), 12);
        Assert.Equal(0.0, TemperatureExperiment.TotalVariation(new[] { 0.1, 0.9 }, new[] { 0.1, 0.9 }));
    }

    [Fact]
    public void TemperatureLimitsMatchSoftmaxAtLowTauAndUniformAtHighTau()
    {
        var config = new TemperatureConfig { Taus = new[] { 0.001, 1.0, 100.0 }, Seed = 2 };
        var results = TemperatureExperiment.Run(config);
        Assert.Equal(10, results.Scores.Length);
        Assert.Equal(1.0, results.Softmax.Sum(), 12);
        var (low, one, high) = (results.PerTau[0], results.PerTau[1], results.PerTau[2]);

        // tau -> 0: the mean soft sample is softmax(scores) up to Monte Carlo noise (a pure-noise TV is ~0.8 x NoiseLevel).
        double tvLow = TemperatureExperiment.TotalVariation(low.MeanSoft, results.Softmax);
        Assert.True(tvLow < 2 * low.NoiseLevel, $"TV {tvLow}, noise level {low.NoiseLevel}");
        Assert.True(low.MeanMax > 0.999);
        // tau = 1: the mean soft sample is measurably flatter than softmax (the check above is not vacuous).
        double tvOne = TemperatureExperiment.TotalVariation(one.MeanSoft, results.Softmax);
        Assert.True(tvOne > 5 * one.NoiseLevel, $"TV {tvOne}, noise level {one.NoiseLevel}");
        // tau large: uniform within 0.01 per category.
        Assert.All(high.MeanSoft, m => Assert.InRange(m, 0.09, 0.11));
        Assert.True(high.MeanMax < 0.11);

        // The argmax of a soft sample ignores tau (same noise at every tau); the tempered categorical at tau -> 0 is the argmax.
        Assert.Equal(low.ArgmaxShares, high.ArgmaxShares);
        int best = Array.IndexOf(results.Scores, results.Scores.Max());
        Assert.Equal(1.0, low.Tempered[best]);
        Assert.Equal(1.0, low.MeanSoft.Sum(), 9);
    }

    // ---- the three figures as one-cell grid experiments -----------------------------------------------------------

    private readonly string _dir = Directory.CreateTempSubdirectory("dg-fig-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    /// <summary>Each figure with tiny settings, the files its cell writes and a line its report section must hold.</summary>
    public static TheoryData<string> Figures => new() { "figure-beta-toy", "figure-simplex", "figure-temperature" };

    private static (IExperiment Experiment, Dictionary<string, string> Given, string[] Files, string Section) Tiny(string name) => name switch
    {
        "figure-beta-toy" => (new FigureBetaToyExperiment(), Given(("betas", "0,2"), ("runs", "4"), ("steps", "20")),
            new[] { "curves.csv", "summary.csv" }, @"| β | \|dL/dθ\| early |"),
        "figure-simplex" => (new FigureSimplexExperiment(), Given(("taus", "1,0.1"), ("betas", "0,4"), ("samples", "50")),
            new[] { "samples.csv", "summary.csv" }, "| row | τ | β | mean max p |"),
        _ => (new FigureTemperatureExperiment(), Given(("categories", "4"), ("samples", "100"), ("taus", "0.1,10")),
            new[] { "distributions.csv", "summary.csv" }, "| τ | TV(mean soft, softmax) |"),
    };

    [Theory]
    [MemberData(nameof(Figures))]
    public void A_figure_runs_as_one_cell_in_process_and_its_report_shows_the_figure_the_table_and_the_reading(string name)
    {
        var (experiment, given, files, section) = Tiny(name);
        string grid = Path.Combine(_dir, name);
        var cells = experiment.Plan(given, null);
        var cell = Assert.Single(cells);
        Assert.Equal("run", cell.Key);
        var (launch, outcomes) = GridRunner.Run(experiment, cells, new GridOptions(grid, $"discretegrad {name}"), new InProcessBackend(new[] { experiment }));
        Assert.True(launch.Completed);
        var o = Assert.Single(outcomes);
        Assert.Equal("done", o.State);
        foreach (var f in files.Append(name + ".png").Append(FigureOutput.ResultFile)) Assert.True(File.Exists(Path.Combine(o.Directory, f)), f);
        // The table: one row, every declared metric filled from the cell's eval record.
        var (header, rows) = GridReport.Table(experiment, outcomes);
        Assert.Equal(2 + experiment.Metrics.Count, header.Length);
        Assert.All(Assert.Single(rows).Skip(2), v => Assert.NotEqual("-", v));
        // The report: the cell's figure copied beside report.md and linked, the section's table and reading.
        GridReport.Write(experiment, grid, Path.Combine(_dir, "docs", name + "-tiny.md"));
        string md = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.StartsWith("# Figure: ", md);
        Assert.Contains($"]({name}.png)", md);
        Assert.Contains(section, md);
        Assert.Contains("Reading (computed from the table)", md);
        Assert.Equal(File.ReadAllBytes(Path.Combine(o.Directory, name + ".png")), File.ReadAllBytes(Path.Combine(grid, name + ".png")));
        // With --docs the figure is named after the markdown file.
        Assert.Contains($"]({name}-tiny.png)", File.ReadAllText(Path.Combine(_dir, "docs", name + "-tiny.md")));
        Assert.True(File.Exists(Path.Combine(_dir, "docs", name + "-tiny.png")));
    }

    /// <summary>What the beta toy's cell keeps for its report is exactly what the computation gives.</summary>
    [Fact]
    public void The_beta_toy_cell_keeps_the_summaries_of_the_computation()
    {
        var experiment = new FigureBetaToyExperiment();
        string grid = Path.Combine(_dir, "beta");
        var cells = experiment.Plan(Given(("betas", "0,1"), ("runs", "3"), ("steps", "30"), ("seed", "4")), null);
        var (_, outcomes) = GridRunner.Run(experiment, cells, new GridOptions(grid), new InProcessBackend(new IExperiment[] { experiment }));
        var kept = FigureOutput.ReadResult<BetaToySummary[]>(outcomes[0].Directory);
        var direct = BetaToy.Run(new BetaToyConfig { Betas = new[] { 0.0, 1.0 }, Runs = 3, Steps = 30, Seed = 4 }).Select(BetaToy.Summarize).ToArray();
        Assert.Equal(direct, kept);
        Assert.Equal(direct[1].LateGradMean / direct[0].LateGradMean, outcomes[0].FinalEval["late_grad_ratio"]);
    }

    [Fact]
    public void Bad_figure_settings_are_one_line_naming_the_option_and_the_allowed_range()
    {
        string Error(IExperiment e, params (string, string)[] kv) => Assert.Throws<SettingException>(() => e.Plan(Given(kv), null)).Message;
        Assert.Equal("--betas must be a finite number in [0, 1000] (got '-1').", Error(new FigureBetaToyExperiment(), ("betas", "0,-1")));
        Assert.Equal("--betas: 1 is listed twice.", Error(new FigureBetaToyExperiment(), ("betas", "1,0,1")));
        Assert.Equal("--steps must be an integer in [1, 10000000] (got '0').", Error(new FigureBetaToyExperiment(), ("steps", "0")));
        Assert.Equal("--theta: must list exactly 3 logits (got 2).", Error(new FigureSimplexExperiment(), ("theta", "1,2")));
        Assert.Equal("--threshold must be a finite number in [0.3333333333333333, 0.999999] (got '0.2').", Error(new FigureSimplexExperiment(), ("threshold", "0.2")));
        Assert.Equal("--taus must be a finite number in (0, 1000000] (got '0').", Error(new FigureTemperatureExperiment(), ("taus", "1,0")));
        Assert.Equal("--categories must be an integer in [2, 10000] (got '1').", Error(new FigureTemperatureExperiment(), ("categories", "1")));
    }
}
