using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.KSubsetVae;
using DiscreteGrad.Imle;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using TorchSharp;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public sealed class ImleGradientsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-imle-").FullName;
    private static readonly ImleGradientsExperiment Experiment = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly double[] Theta4 = { 0.3, -1.2, 0.8, 0.05 };
    private static readonly double[] B4 = { 0.9, 0.1, 1.4, 0.5 };

    /// <summary>The six 2-subsets of 4 items, written out by hand, in lexicographic order.</summary>
    private static readonly double[][] Subsets42 =
    {
        new double[] { 1, 1, 0, 0 }, new double[] { 1, 0, 1, 0 }, new double[] { 1, 0, 0, 1 },
        new double[] { 0, 1, 1, 0 }, new double[] { 0, 1, 0, 1 }, new double[] { 0, 0, 1, 1 },
    };

    /// <summary>E_p[||z - b||^2] by the textbook formula over the hand-written states.</summary>
    private static double BruteExpectedLoss(double[] theta, double[] b)
    {
        var w = Subsets42.Select(z => Math.Exp(z.Zip(theta, (x, t) => x * t).Sum())).ToArray();
        double zsum = w.Sum();
        return Subsets42.Select((z, i) => w[i] / zsum * z.Zip(b, (x, y) => (x - y) * (x - y)).Sum()).Sum();
    }

    [Fact]
    public void States_are_all_k_subsets_in_lexicographic_order()
    {
        using var f = new KSubsetFamily(4, 2);
        Assert.Equal(6, f.Count);
        for (int s = 0; s < 6; s++) Assert.Equal(Subsets42[s], f.State(s));
        using var big = new KSubsetFamily(20, 10);
        Assert.Equal(184756, big.Count);
        Assert.True((big.States.sum(dim: 1) == 10).all().item<bool>());
        // All rows distinct: the sum of distinct binary codes of the rows equals the sum of their codes.
        var codes = torch.tensor(Enumerable.Range(0, 20).Select(i => (double)(1L << i)).ToArray(), dtype: torch.ScalarType.Float64);
        var rowCodes = big.States.matmul(codes);
        Assert.Equal(184756, rowCodes.unique().Item1.shape[0]);
    }

    [Fact]
    public void Expected_loss_and_gradient_equal_brute_force_and_central_differences()
    {
        using var f = new KSubsetFamily(4, 2);
        var (value, grad) = f.ExpectedLoss(Theta4, B4);
        Assert.Equal(BruteExpectedLoss(Theta4, B4), value, 12);
        const double h = 1e-5;
        for (int i = 0; i < 4; i++)
        {
            var up = (double[])Theta4.Clone();
            var down = (double[])Theta4.Clone();
            up[i] += h;
            down[i] -= h;
            double fd = (BruteExpectedLoss(up, B4) - BruteExpectedLoss(down, B4)) / (2 * h);
            Assert.True(Math.Abs(fd - grad[i]) < 1e-8, $"coordinate {i}: enumerated {grad[i]}, central difference {fd}");
        }
        // min over the six states, by hand: the loss is 2 + |b|^2 - 2 <z, b>, smallest for z on the two largest b (items 0 and 2).
        Assert.Equal(Subsets42[1].Zip(B4, (x, y) => (x - y) * (x - y)).Sum(), f.MinimumLoss(B4), 12);
    }

    [Fact]
    public void Expected_loss_matches_the_marginals_identity_on_n20()
    {
        // ||z||^2 = k for every state, so E[L] = k + |b|^2 - 2 <mu, b> and grad E = -2 Cov(z) b: two independent routes.
        using var f = new KSubsetFamily(10, 5);
        var (theta, b) = ImleGradientsStudy.Problem(10, 7);
        var mu = f.Marginals(theta);
        double expected = 5 + b.Sum(x => x * x) - 2 * mu.Zip(b, (m, y) => m * y).Sum();
        var (value, grad) = f.ExpectedLoss(theta, b);
        Assert.Equal(expected, value, 10);
        var p = f.Probabilities(theta);
        var covB = new double[10];
        for (int s = 0; s < f.Count; s++)
        {
            var z = f.State(s);
            double zb = z.Zip(b, (x, y) => x * y).Sum() - mu.Zip(b, (x, y) => x * y).Sum();
            for (int i = 0; i < 10; i++) covB[i] += p[s] * (z[i] - mu[i]) * zb;
        }
        for (int i = 0; i < 10; i++) Assert.Equal(-2 * covB[i], grad[i], 10);
    }

    [Fact]
    public void Exact_sampling_score_function_is_unbiased_within_its_standard_error()
    {
        using var f = new KSubsetFamily(4, 2);
        var est = new TopKGradientEstimator(f);
        var exact = f.ExpectedLoss(Theta4, B4).Gradient;
        var gen = new torch.Generator(11);
        const int reps = 400, samples = 50;
        AssertUnbiased(Enumerable.Range(0, reps).Select(_ => est.Estimate(GradientMethod.ScoreFunctionExact, Theta4, B4, samples, 0, null, gen)).ToArray(), exact);
    }

    /// <summary>Each coordinate's mean over the draws is within 4 standard errors of <paramref name="expected"/>.</summary>
    private static void AssertUnbiased(double[][] draws, double[] expected)
    {
        int reps = draws.Length;
        for (int i = 0; i < expected.Length; i++)
        {
            var xs = draws.Select(d => d[i]).ToArray();
            double mean = xs.Average(), se = Math.Sqrt(xs.Select(x => (x - mean) * (x - mean)).Sum() / (reps - 1) / reps);
            Assert.True(Math.Abs(mean - expected[i]) < 4 * se, $"coordinate {i}: mean {mean}, expected {expected[i]}, se {se}");
        }
    }

    [Fact]
    public void Every_estimator_returns_a_finite_gradient_and_the_exact_method_returns_the_enumerated_one()
    {
        using var f = new KSubsetFamily(6, 3);
        var est = new TopKGradientEstimator(f);
        var (theta, b) = ImleGradientsStudy.Problem(6, 3);
        var gen = new torch.Generator(5);
        var adaptive = new AdaptiveImleTarget(1, 1e-3, 0.5);
        foreach (var m in GradientMethods.Estimators)
        {
            var g = est.Estimate(m, theta, b, 20, 0.5, adaptive, gen);
            Assert.Equal(6, g.Length);
            Assert.All(g, x => Assert.True(double.IsFinite(x)));
        }
        Assert.Equal(f.ExpectedLoss(theta, b).Gradient, est.Estimate(GradientMethod.Exact, theta, b, 1, 1, null, gen));
        Assert.Throws<ArgumentNullException>(() => est.Estimate(GradientMethod.AimleCentral, theta, b, 2, 1, null, gen));
    }

    [Fact]
    public void Simple_estimate_is_unbiased_for_the_Hessian_times_the_expected_upstream_gradient()
    {
        // E[Cov(z) 2 (z_s - b)] = 2 Cov(z) (mu - b) over exact samples, Cov(z) and mu from the six enumerated states.
        using var f = new KSubsetFamily(4, 2);
        var est = new TopKGradientEstimator(f, ImleNoise.Gumbel);
        var p = f.Probabilities(Theta4);
        var mu = f.Marginals(Theta4);
        var expected = new double[4];
        for (int s = 0; s < f.Count; s++)
        {
            var z = f.State(s);
            double c = Enumerable.Range(0, 4).Sum(j => (z[j] - mu[j]) * 2 * (mu[j] - B4[j]));
            for (int i = 0; i < 4; i++) expected[i] += p[s] * (z[i] - mu[i]) * c;
        }
        var gen = new torch.Generator(3);
        const int reps = 300, samples = 20;
        AssertUnbiased(Enumerable.Range(0, reps).Select(_ => est.Estimate(GradientMethod.Simple, Theta4, B4, samples, 0, null, gen)).ToArray(), expected);
    }

    [Fact]
    public void The_linear_lambda_grid_is_the_references_linspace_and_lambda_zero_gives_the_zero_estimate()
    {
        var config = new ImleGradientsConfig { LambdaSpacing = LambdaSpacing.Linear, LambdaMin = 0, LambdaMax = 100, LambdaCount = 1001 };
        config.Validate();
        var l = config.Lambdas;
        Assert.Equal(1001, l.Count);
        Assert.Equal(0, l[0]);
        Assert.Equal(0.1, l[1], 15);
        Assert.Equal(50, l[500], 12);
        Assert.Equal(100, l[^1]);
        using var f = new KSubsetFamily(4, 2);
        var est = new TopKGradientEstimator(f, ImleNoise.Gumbel);
        Assert.Equal(new double[4], est.Estimate(GradientMethod.ImleCentral, Theta4, B4, 10, 0, null, new torch.Generator(1)));
        Assert.Equal(0, TopKGradientEstimator.Cosine(est.Estimate(GradientMethod.ImleForward, Theta4, B4, 10, 0, null, new torch.Generator(1)), f.ExpectedLoss(Theta4, B4).Gradient));
    }

    [Fact]
    public void Straight_through_estimate_is_the_mean_upstream_gradient_of_its_samples()
    {
        // With theta far apart the perturbed top-k is deterministic: z = top-k(theta), and STE's estimate is 2 (z - b).
        using var f = new KSubsetFamily(4, 2);
        var est = new TopKGradientEstimator(f);
        var theta = new double[] { 100, -100, 100, -100 };
        var g = est.Estimate(GradientMethod.StraightThrough, theta, B4, 8, 0, null, new torch.Generator(1));
        var expected = new[] { 2 * (1 - B4[0]), 2 * (0 - B4[1]), 2 * (1 - B4[2]), 2 * (0 - B4[3]) };
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], g[i], 10);
    }

    [Fact]
    public void Cosine_is_scale_free_and_zero_for_a_zero_estimate()
    {
        Assert.Equal(1.0, TopKGradientEstimator.Cosine(new double[] { 1, 2 }, new double[] { 3, 6 }), 12);
        Assert.Equal(-1.0, TopKGradientEstimator.Cosine(new double[] { 1, 2 }, new double[] { -2, -4 }), 12);
        Assert.Equal(0.0, TopKGradientEstimator.Cosine(new double[] { 0, 0 }, new double[] { 1, 1 }));
        Assert.Equal(0.0, TopKGradientEstimator.Cosine(new double[] { 1, 0 }, new double[] { 0, 1 }), 12);
    }

    [Fact]
    public void Gradient_descent_on_the_exact_gradient_never_increases_the_gap()
    {
        using var f = new KSubsetFamily(6, 3);
        var est = new TopKGradientEstimator(f);
        var (theta, b) = ImleGradientsStudy.Problem(6, 0);
        var config = new ImleGradientsConfig { SgdSteps = 30, SgdLearningRate = 0.05, SgdMomentum = 0 };
        var gap = ImleGradientsStudy.Optimise(f, est, GradientMethod.Exact, theta, b, f.MinimumLoss(b), config,
            new AdaptiveImleTarget(), new torch.Generator(0));
        Assert.Equal(31, gap.Length);
        Assert.All(gap, x => Assert.True(x >= -1e-12));
        for (int t = 1; t < gap.Length; t++) Assert.True(gap[t] <= gap[t - 1] + 1e-12, $"step {t}: {gap[t]} > {gap[t - 1]}");
        Assert.True(gap[^1] < gap[0]);
    }

    private static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    /// <summary>A tiny study: 4 choose 2, three seeds, lambdas 0.1 and 1, eight samples, three SGD steps, two runs.</summary>
    private static readonly (string, string)[] Tiny =
    {
        ("cases", "4x2"), ("seeds", "3"), ("lambda-min", "0.1"), ("lambda-max", "1"), ("lambdas-per-decade", "1"), ("samples", "8"),
        ("warmup", "2"), ("sgd-steps", "3"), ("sgd-runs", "2"),
    };

    private (IReadOnlyList<CellOutcome> Outcomes, string Grid) RunGrid(string name, params (string, string)[] extra)
    {
        string grid = Path.Combine(_dir, name);
        var cells = Experiment.Plan(Given(Tiny.Concat(extra).ToArray()), null);
        var (launch, outcomes) = GridRunner.Run(Experiment, cells, new GridOptions(grid, "discretegrad imle-gradients"), new InProcessBackend(new IExperiment[] { Experiment }));
        Assert.True(launch.Completed);
        Assert.All(outcomes, o => Assert.Equal("done", o.State));
        return (outcomes, grid);
    }

    [Fact]
    public void A_tiny_grid_of_every_method_runs_in_process_and_reports_its_table_figure_and_reading()
    {
        var (outcomes, grid) = RunGrid("all");
        Assert.Equal(2 * GradientMethods.Estimators.Length, outcomes.Count);        // both noises
        foreach (var o in outcomes)
        {
            var r = ImleGradientsExperiment.ReadCell(o.Directory);
            bool fixedLambda = GradientMethods.UsesFixedLambda(r.Method);
            Assert.Equal(fixedLambda ? new[] { 0.1, 1.0 } : Array.Empty<double>(), r.Lambdas);
            Assert.Equal(fixedLambda ? 2 : 1, r.Cosine.Count);
            Assert.All(r.Cosine, c => Assert.InRange(c.Mean, -1 - 1e-12, 1 + 1e-12));
            bool adaptive = r.Method is GradientMethod.AimleForward or GradientMethod.AimleCentral;
            Assert.Equal(adaptive, r.AimleLambda is not null);
            Assert.Equal(adaptive, r.AimleTrajectory is not null);
            Assert.Equal(adaptive, File.Exists(Path.Combine(o.Directory, "aimle.csv")));
            if (r.AimleTrajectory is { } path)
            {
                Assert.Equal(3, path.Lambda.Count);                              // two warm-up passes and the measured one
                Assert.Equal(r.AimleLambda!.Value.Mean, path.Lambda[^1].Mean, 12);
                Assert.Equal(0, path.Lambda[0].Mean);                             // beta starts at 0: no perturbation, no gradient
                Assert.Equal(1e-3, path.Beta[0].Mean, 12);                        // ... and the rate 0.9 < 1 raises beta by one step
                Assert.Equal(0.9, path.NonZeroRate[0].Mean, 12);
                Assert.Equal(0, path.Cosine![0].Mean);                           // the zero estimate of pass 1
                Assert.Equal(r.Cosine[0].Mean, path.Cosine[^1].Mean, 12);       // the measured pass is the last
            }
            Assert.Equal(4, r.Gap.Count);                                  // steps 0 .. 3
            Assert.All(r.ExactGap, g => Assert.Equal(0, g.Se));            // the exact gradient draws no noise
            var cosine = File.ReadAllLines(Path.Combine(o.Directory, "cosine.csv"));
            Assert.Equal(1 + r.Cosine.Count, cosine.Length);
            Assert.Equal(1 + 2 * 4, File.ReadAllLines(Path.Combine(o.Directory, "sgd.csv")).Length);
            // The table's number is the cell's best cosine.
            Assert.Equal(r.Best.Cosine.Mean, o.FinalEval["cosine"]);
        }
        // Every cell of a case starts SGD from the same problem, so the exact-gradient curve is the same in all of them.
        var exact = outcomes.Select(o => ImleGradientsExperiment.ReadCell(o.Directory).ExactGap).ToList();
        Assert.All(exact, e => Assert.Equal(exact[0], e));
        var (header, rows) = GridReport.Table(Experiment, outcomes);
        Assert.Equal(new[] { "run", "cells", "cosine (best λ)", "cosine SE", "best λ", "AIMLE λ", "final gap", "final gap SE", "exact-gradient final gap" }, header);
        Assert.Equal(GradientMethods.Estimators.SelectMany(m => new[] { "gumbel", "sog" }.Select(noise => $"n = 4, k = 2, {GradientMethods.Label(m)}, {noise} noise")),
            rows.Select(r => r[0]));
        Assert.All(rows, r => Assert.Equal("1", r[1]));                     // one cell per row: the noises are not pooled
        var ste = rows.Where(r => r[0].Contains(", STE,", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, ste.Count);
        Assert.All(ste, r => Assert.Equal("-", r[4]));     // STE has no lambda
        GridReport.Write(Experiment, grid, Path.Combine(_dir, "docs", "imle.md"));
        var md = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.Contains("## n = 4, k = 2, Gumbel(0, 1) noise (6 states)", md);
        Assert.Contains("## n = 4, k = 2, Sum-of-Gamma(k = 2, 10 terms) noise (6 states)", md);
        Assert.Contains("![n = 4, k = 2, gumbel](imle-gradients-gumbel-n4-k2.png)", md);
        Assert.Contains("| λ | I-MLE forward | I-MLE central |", md);
        Assert.Contains("| method | cosine | λ |", md);
        Assert.Contains("AIMLE's adaptation at the same θ", md);
        Assert.Contains("Reading (computed from the tables)", md);
        Assert.Contains("- I-MLE central beats I-MLE forward at ", md);
        Assert.Contains("- AIMLE central (", md);
        Assert.Contains("- SIMPLE: ", md);
        Assert.True(File.Exists(Path.Combine(grid, "imle-gradients-sog-n4-k2.png")));
        Assert.Contains("](imle-gumbel-n4-k2.png)", File.ReadAllText(Path.Combine(_dir, "docs", "imle.md")));   // named after the markdown file
        Assert.True(File.Exists(Path.Combine(_dir, "docs", "imle-gumbel-n4-k2.png")));
    }

    /// <summary>A method's cell draws the same noise whatever else the grid holds, so it is the same alone or among others.</summary>
    [Fact]
    public void A_methods_cell_does_not_depend_on_the_other_methods_of_the_grid()
    {
        var (alone, _) = RunGrid("alone", ("methods", "aimle-central"));
        var (among, _) = RunGrid("among", ("methods", "ste,aimle-central"));
        string Result(CellOutcome o) => File.ReadAllText(Path.Combine(o.Directory, ImleGradientsExperiment.ResultFile)).Split("\"Seconds\"")[0];
        alone = alone.Where(o => o.Cell.Key.EndsWith("noise-gumbel", StringComparison.Ordinal)).ToList();
        among = among.Where(o => o.Cell.Key.EndsWith("noise-gumbel", StringComparison.Ordinal)).ToList();
        Assert.Equal(Result(alone.Single()), Result(among.Single(o => o.Cell.Key == "case-4x2_method-aimle-central_noise-gumbel")));
        Assert.Equal(File.ReadAllText(Path.Combine(alone[0].Directory, "cosine.csv")), File.ReadAllText(Path.Combine(among[1].Directory, "cosine.csv")));
        Assert.Equal(File.ReadAllText(Path.Combine(alone[0].Directory, "sgd.csv")), File.ReadAllText(Path.Combine(among[1].Directory, "sgd.csv")));
    }

    /// <summary>
    /// The exact expected loss is the same whatever the alignment of the managed arrays it reads (the family copies them
    /// into libtorch's aligned memory before the matrix product), so a cell's numbers do not depend on what the process
    /// allocated before it.
    /// </summary>
    [Fact]
    public void The_exact_expected_loss_does_not_depend_on_the_alignment_of_the_arrays()
    {
        var (theta, b) = ImleGradientsStudy.Problem(10, 0);
        var values = new List<(double, double[])>();
        for (int pad = 0; pad < 8; pad++)
        {
            var padding = new byte[pad * 8 + 1];                           // shifts the next allocations by 8-byte steps
            var t = theta.ToArray();
            using var f = new KSubsetFamily(10, 5);
            values.Add(f.ExpectedLoss(t, b));
            GC.KeepAlive(padding);
        }
        Assert.All(values, v => Assert.Equal(values[0].Item1, v.Item1));
        Assert.All(values, v => Assert.Equal(values[0].Item2, v.Item2));
    }

    [Fact]
    public void Bad_settings_are_one_line_naming_the_option_and_the_allowed_range()
    {
        string Error(params (string, string)[] kv) => Assert.Throws<SettingException>(() => Experiment.Plan(Given(kv), null)).Message;
        Assert.Equal("--seeds must be an integer in [1, 100000] (got '0').", Error(("seeds", "0")));
        Assert.Equal("--cases: '5x5' is not NxK with 2 <= N <= 24 and 1 <= K < N (e.g. 20x10).", Error(("cases", "10x5,5x5")));
        Assert.Equal("--methods: unknown value 'exact'; allowed: imle-forward, imle-central, aimle-forward, aimle-central, ste, sfe-exact, sfe-pam, simple.",
            Error(("methods", "exact")));
        Assert.Equal("--noises: unknown value 'normal'; allowed: sog, gumbel.", Error(("noises", "normal")));
        Assert.Equal("--lambda-min must be a finite number in [0, 1000000] (got '-1').", Error(("lambda-min", "-1")));
        Assert.Equal("--lambda-min: must be > 0 with --lambda-spacing log (got 0).", Error(("lambda-min", "0")));
        Assert.Equal("--lambda-count must be an integer in [2, 100000] (got '1').", Error(("lambda-count", "1")));
        // Cross-setting checks name the option.
        Assert.Equal("--lambda-max: must be >= --lambda-min = 1 (got 0.5).", Error(("lambda-min", "1"), ("lambda-max", "0.5")));
        Assert.Equal("--sgd-momentum: must be < 1 (got 1).", Error(("sgd-momentum", "1")));
        Assert.Equal("k", Assert.ThrowsAny<ArgumentException>(() => new KSubsetFamily(4, 5)).ParamName);
        using var f = new KSubsetFamily(4, 2);
        Assert.Equal("theta", Assert.ThrowsAny<ArgumentException>(() => f.Probabilities(new double[3])).ParamName);
    }

    [Fact]
    public void The_declaration_defaults_to_both_cases_and_every_method_and_keys_round_trip()
    {
        var cells = Experiment.Plan(Given(), null);
        Assert.Equal(2 * 2 * GradientMethods.Estimators.Length, cells.Count);
        Assert.Equal("case-20x10_method-imle-forward_noise-gumbel", cells[0].Key);
        Assert.Equal("case-10x5_method-simple_noise-sog", cells[^1].Key);
        var config = GridSpec<ImleGradientsConfig>.FromSettings(cells[^1].Settings);
        Assert.Equal((10, 5, GradientMethod.Simple, KSubsetNoise.SumOfGamma), (config.N, config.K, config.Method, config.Noise));
        // The default lambda grid: 17 points, 4 per decade, from 1e-2 to 1e2.
        Assert.Equal(17, config.Lambdas.Count);
        Assert.Equal(0.01, config.Lambdas[0]);
        Assert.Equal(100, config.Lambdas[^1], 12);
        foreach (var m in Enum.GetValues<GradientMethod>())
        {
            Assert.True(GradientMethods.TryParse(GradientMethods.Key(m), out var back));
            Assert.Equal(m, back);
        }
        Assert.False(GradientMethods.TryParse("nope", out _));
    }
}
