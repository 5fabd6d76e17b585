using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Polynomial;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

public class PolynomialTests
{
    private const double C = 0.45;

    private static Tensor RandomTheta(int n, ulong seed, double scale = 1.5)
    {
        using var g = new Generator(seed);
        return torch.randn(new long[] { n, 2 }, dtype: ScalarType.Float64, generator: g) * scale;
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(2.0)]
    [InlineData(3.0)]
    public void ClosedFormExpectedLossEqualsEnumeration(double p)
    {
        using var scope = torch.NewDisposeScope();
        var theta = RandomTheta(4, 11);
        var exact = Enumeration.Exact(theta, states => PolynomialObjective.StateValues(states, C, p));
        double closed = PolynomialObjective.ExpectedLoss(theta, C, p);
        Assert.Equal(exact.Value, closed, 1e-12);
        double excess = PolynomialObjective.ExpectedExcessLoss(theta, C, p);
        Assert.Equal(exact.Value - Math.Pow(C, p), excess, 1e-12);
        Assert.True(excess > 0);
        // The enumerated loss really depends on theta (the comparison is not between two constants).
        Assert.NotEqual(PolynomialObjective.ExpectedLoss(theta * 0, C, p), closed, 6);
    }

    [Fact]
    public void OptimumIsTargetToThePowerAndReachedWhenAllZ0()
    {
        foreach (var p in new[] { 1.5, 2.0, 3.0 })
        {
            Assert.Equal(Math.Pow(0.45, p), PolynomialObjective.Optimum(C, p), 15);
            using var scope = torch.NewDisposeScope();
            // theta_i = (-30, 30): q_i = softmax(theta_i)[0] ~ 1e-26, so every z_i = 0 almost surely.
            var theta = torch.tensor(new double[] { -30, 30, -30, 30 }, new long[] { 2, 2 }, ScalarType.Float64);
            Assert.Equal(Math.Pow(0.45, p), PolynomialObjective.ExpectedLoss(theta, C, p), 14);
        }
    }

    /// <summary>
    /// With z = Value[..., 0] and f quadratic (p = 2), ReinMax at tau = 1 is unbiased: its gradient averaged exactly over
    /// all pinned samples equals the enumerated gradient of E[f]. ST is not (its error is clearly non-zero), which shows the
    /// check is sharp and that the experiment's objective is wired to the estimator as intended.
    /// </summary>
    [Fact]
    public void ReinMaxExpectedGradientIsExactForP2()
    {
        using var scope = torch.NewDisposeScope();
        const int n = 3;
        var theta0 = RandomTheta(n, 5);
        var exact = Enumeration.Exact(theta0, states => PolynomialObjective.StateValues(states, C, 2));
        var states = Enumeration.JointStates(n, 2);
        var probs = Enumeration.LogProbabilities(theta0, states).exp();

        Tensor Expected(EstimatorKind kind)
        {
            var total = torch.zeros(n, 2, dtype: ScalarType.Float64);
            for (int s = 0; s < states.shape[0]; s++)
            {
                var theta = theta0.detach().clone().requires_grad_(true);
                var sample = Categorical.Sample(theta.unsqueeze(0), kind, new EstimatorOptions(Tau: 1.0), sample: states[s].unsqueeze(0));
                var loss = PolynomialObjective.Loss(sample.Value.select(-1, 0), C, 2);
                loss.backward();
                total += probs[s] * theta.grad!;
            }
            return total;
        }

        double reinMaxError = (Expected(EstimatorKind.ReinMax) - exact.Gradient).abs().max().ToDouble();
        double stError = (Expected(EstimatorKind.StraightThrough) - exact.Gradient).abs().max().ToDouble();
        Assert.True(reinMaxError < 1e-12, $"ReinMax error {reinMaxError}");
        Assert.True(stError > 1e-3, $"ST error {stError} (expected a visible bias)");
    }

    /// <summary>The expected ST gradient, averaged exactly over all pinned samples, vanishes at q* (and not at q = 1/2).</summary>
    [Theory]
    [InlineData(1.5)]
    [InlineData(2.0)]
    [InlineData(3.0)]
    public void StraightThroughExpectedGradientVanishesAtItsFixedPoint(double p)
    {
        using var scope = torch.NewDisposeScope();
        double qStar = PolynomialObjective.StraightThroughFixedPoint(C, p);
        if (p == 2.0) Assert.Equal(C, qStar, 15);
        double logit = Math.Log(qStar / (1 - qStar));
        var states = Enumeration.JointStates(2, 2);

        double MaxExpectedGradient(double theta0)
        {
            var theta = torch.tensor(new[] { theta0, 0, theta0, 0 }, new long[] { 2, 2 }, ScalarType.Float64);
            var probs = Enumeration.LogProbabilities(theta, states).exp();
            var total = torch.zeros(2, 2, dtype: ScalarType.Float64);
            for (int s = 0; s < states.shape[0]; s++)
            {
                var t = theta.detach().clone().requires_grad_(true);
                var sample = Categorical.Sample(t.unsqueeze(0), EstimatorKind.StraightThrough, sample: states[s].unsqueeze(0));
                PolynomialObjective.Loss(sample.Value.select(-1, 0), C, p).backward();
                total += probs[s] * t.grad!;
            }
            return total.abs().max().ToDouble();
        }

        Assert.True(MaxExpectedGradient(logit) < 1e-14, $"ST gradient at q* = {MaxExpectedGradient(logit)}");
        Assert.True(MaxExpectedGradient(0.0) > 1e-3);
        Assert.Equal(qStar, PolynomialObjective.MeanProbabilityOfOne(new[] { logit, 0, logit + 1e-300, 0 }), 14);
    }

    [Theory]
    [InlineData(EstimatorKind.ReinMax)]
    [InlineData(EstimatorKind.StraightThroughGumbel)]
    [InlineData(EstimatorKind.GappedStraightThrough)]
    [InlineData(EstimatorKind.GumbelRao)]
    public void SameSeedGivesBitIdenticalTheta(EstimatorKind kind)
    {
        var config = new PolynomialConfig
        {
            Steps = 50, LogEvery = 10, Batch = kind == EstimatorKind.GumbelRao ? 16 : 64, Estimators = new[] { kind },
            Powers = new[] { 2.0 },
        };
        var spec = new PolynomialRunSpec(kind, 2.0, 7);
        var a = PolynomialRunner.Run(config, spec);
        var b = PolynomialRunner.Run(config, spec);
        var other = PolynomialRunner.Run(config, spec with { Seed = 8 });
        Assert.Equal(a.FinalTheta, b.FinalTheta);                   // exact equality, element by element
        Assert.Equal(a.Curve, b.Curve);
        Assert.NotEqual(a.FinalTheta, other.FinalTheta);
        Assert.Equal(128 * 2, a.FinalTheta.Length);
        Assert.Contains(a.FinalTheta, v => Math.Abs(v) > 0.01);     // theta moved out of the U(-0.01, 0.01) start
    }

    [Fact]
    public void ResultsDoNotDependOnThreadsOrOrder()
    {
        var config = new PolynomialConfig
        {
            Steps = 30, LogEvery = 10, Seeds = 2, Estimators = new[] { EstimatorKind.ReinMax, EstimatorKind.StraightThrough },
            Powers = new[] { 1.5, 3.0 },
        };
        var one = PolynomialExperiment.Run(config with { Threads = 1 });
        var two = PolynomialExperiment.Run(config with { Threads = 2 });
        Assert.Equal(8, one.Runs.Count);
        for (int i = 0; i < one.Runs.Count; i++)
        {
            Assert.Equal(one.Runs[i].Spec, two.Runs[i].Spec);
            Assert.Equal(one.Runs[i].FinalTheta, two.Runs[i].FinalTheta);
            Assert.Equal(one.Runs[i].Curve, two.Runs[i].Curve);
        }
        Assert.Equal(
            PolynomialExperiment.Grid(config).Select(s => (s.Estimator, s.Power, s.Seed)),
            one.Runs.Select(r => (r.Spec.Estimator, r.Spec.Power, r.Spec.Seed)));
    }

    [Fact]
    public void ShortReinMaxRunLowersTheExactExpectedLoss()
    {
        var config = new PolynomialConfig { Steps = 300, Batch = 64, LogEvery = 50, Estimators = new[] { EstimatorKind.ReinMax }, Powers = new[] { 3.0 } };
        var r = PolynomialRunner.Run(config, new PolynomialRunSpec(EstimatorKind.ReinMax, 3.0, 0));
        // Initial theta ~ 0: q ~ 1/2 and E[f] ~ (0.55^3 + 0.45^3) / 2.
        Assert.Equal((Math.Pow(0.55, 3) + Math.Pow(0.45, 3)) / 2, r.InitialExactLoss, 3);
        Assert.True(r.FinalExactLoss < r.InitialExactLoss, $"{r.FinalExactLoss} !< {r.InitialExactLoss}");
        double initialExcess = r.Curve[0].ExcessLoss;
        Assert.True(r.FinalExcessLoss < 0.9 * initialExcess, $"excess {r.FinalExcessLoss} vs initial {initialExcess}");
        // Curve points at 0, 50, ..., 300, each with the exact loss equal to optimum + excess.
        Assert.Equal(Enumerable.Range(0, 7).Select(i => i * 50), r.Curve.Select(pt => pt.Step));
        foreach (var pt in r.Curve) Assert.Equal(Math.Pow(C, 3) + pt.ExcessLoss, pt.ExactLoss, 12);
        Assert.Equal(r.FinalExactLoss, r.Curve[^1].ExactLoss);
        // Training losses are averages of |z - c|^3 over 64 x 128 binary draws: within [0.45^3, 0.55^3].
        Assert.All(r.Curve, pt => Assert.InRange(pt.TrainLoss, Math.Pow(0.45, 3), Math.Pow(0.55, 3)));
        Assert.InRange(r.FinalTrainLoss, Math.Pow(0.45, 3), Math.Pow(0.55, 3));
    }

    [Fact]
    public void NonFiniteLossStopsTheRunNamingTheStep()
    {
        // |z - 1e6|^16 = 1e96 overflows float32: the first loss is +inf.
        var config = new PolynomialConfig { Steps = 10, LogEvery = 5, Target = 1e6, Powers = new[] { 16.0 }, Estimators = new[] { EstimatorKind.StraightThrough } };
        var ex = Assert.Throws<PolynomialDivergenceException>(() =>
            PolynomialRunner.Run(config, new PolynomialRunSpec(EstimatorKind.StraightThrough, 16.0, 0)));
        Assert.Equal(0, ex.Step);
        Assert.Contains("step 0", ex.Message);
        Assert.True(double.IsInfinity(ex.Loss));
        // The grid surfaces the same exception (not an AggregateException).
        Assert.Throws<PolynomialDivergenceException>(() => PolynomialExperiment.Run(config with { Threads = 2 }));
    }

    [Theory]
    [InlineData("steps")]
    [InlineData("log-every")]
    [InlineData("tau")]
    [InlineData("powers")]
    [InlineData("estimators")]
    [InlineData("device")]
    public void InvalidSettingsAreRejectedNamingTheOption(string option)
    {
        var bad = option switch
        {
            "steps" => new PolynomialConfig { Steps = 0 },
            "log-every" => new PolynomialConfig { Steps = 100, LogEvery = 101 },
            "tau" => new PolynomialConfig { Tau = 0 },
            "powers" => new PolynomialConfig { Powers = new[] { 2.0, double.NaN } },
            "estimators" => new PolynomialConfig { Estimators = new[] { EstimatorKind.ReinMax, EstimatorKind.ReinMax } },
            _ => new PolynomialConfig { Device = "tpu" },
        };
        var ex = Assert.ThrowsAny<ArgumentException>(bad.Validate);
        Assert.Equal(option, ex.ParamName);
        new PolynomialConfig().Validate();   // the defaults are valid
    }

    [Fact]
    public void ReportWritesCsvsPlotsAndMarkdown()
    {
        var config = new PolynomialConfig
        {
            Steps = 20, LogEvery = 10, Seeds = 2, Estimators = new[] { EstimatorKind.ReinMax, EstimatorKind.StraightThrough },
            Powers = new[] { 2.0 }, Threads = 2,
        };
        var results = PolynomialExperiment.Run(config);
        var dir = Path.Combine(Path.GetTempPath(), "dg-poly-" + Guid.NewGuid().ToString("N"));
        try
        {
            var md = Path.Combine(dir, "docs", "poly.md");
            var files = PolynomialReport.WriteAll(results, Path.Combine(dir, "out"), md, "discretegrad polynomial --steps 20", "short smoke run");
            var curves = File.ReadAllLines(files.CurvesCsv);
            Assert.Equal("step,estimator,p,seed,train_loss,exact_loss,excess_loss", curves[0]);
            Assert.Equal(1 + 2 * 2 * 3, curves.Length);              // 2 estimators x 2 seeds x steps {0, 10, 20}
            Assert.StartsWith("0,ReinMax,2,0,", curves[1]);
            Assert.Equal(1 + 4, File.ReadAllLines(files.FinalCsv).Length);
            Assert.Equal(1 + 2, File.ReadAllLines(files.SummaryCsv).Length);
            var png = Assert.Single(files.DocsPlots);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png).Take(4).ToArray());
            var text = File.ReadAllText(md);
            Assert.Contains("discretegrad polynomial --steps 20", text);
            Assert.Contains("](poly-p2.png)", text);          // PNGs are named after the markdown file
            Assert.EndsWith("poly-p2.png", png);
            Assert.Contains("**Note.** short smoke run", text);
            var summary = results.Cell(EstimatorKind.ReinMax, 2.0);
            Assert.Contains(PolynomialReport.MeanStd(summary.ExactMean, summary.ExactStd), text);
            Assert.Contains("| optimum | 0.202500 |", text);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void EstimatorNamesRoundTrip()
    {
        foreach (var kind in EstimatorNames.ReinMaxPaperSet)
        {
            Assert.True(EstimatorNames.TryParse(EstimatorNames.Key(kind), out var parsed));
            Assert.Equal(kind, parsed);
        }
        Assert.True(EstimatorNames.TryParse("GR-MCK", out var gr));
        Assert.Equal(EstimatorKind.GumbelRao, gr);
        Assert.False(EstimatorNames.TryParse("reinforce", out _));
    }
}
