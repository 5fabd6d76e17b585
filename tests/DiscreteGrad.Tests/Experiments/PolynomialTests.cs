using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Polynomial;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public sealed class PolynomialTests : IDisposable
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

    /// <summary>
    /// A relaxed value that lands exactly on a target (possible in float32: 63.5 / 128 is a float) keeps the objective's
    /// first and second derivatives finite at p = 1.5, as RELAX's variance gradient needs (it differentiates twice); the
    /// plain |u|^p gave NaN there. Elsewhere the values and first derivatives equal the plain |u|^p bit for bit.
    /// </summary>
    [Fact]
    public void The_objective_has_finite_second_derivatives_where_a_relaxed_value_hits_its_target()
    {
        var targets = torch.tensor(new float[] { 63.5f / 128, 0.45f, 0.1f });
        var z = torch.tensor(new float[] { 63.5f / 128, 0.7f, 0.0999f }).requires_grad_(true);
        var f = PolynomialObjective.Values(z.unsqueeze(0), targets, 1.5).sum();
        var g = torch.autograd.grad(new[] { f }, new[] { z }, retain_graph: true, create_graph: true)[0];
        var h = torch.autograd.grad(new[] { (g * g).sum() }, new[] { z })[0];
        Assert.True(g.isfinite().all().item<bool>() && h.isfinite().all().item<bool>(), $"g {g.str()} h {h.str()}");
        Assert.Equal(0f, g[0].item<float>());
        // Away from the target: the plain formula, bit for bit, value and derivative.
        var z2 = z.detach().narrow(0, 1, 2).clone().requires_grad_(true);
        var t2 = targets.narrow(0, 1, 2);
        var ours = PolynomialObjective.Values(z2.unsqueeze(0), t2, 1.5).sum();
        var ourGrad = torch.autograd.grad(new[] { ours }, new[] { z2 })[0];
        var plain = (z2 - t2).abs().pow(1.5).mean().sum();
        var plainGrad = torch.autograd.grad(new[] { plain }, new[] { z2 })[0];
        Assert.Equal(plain.item<float>(), ours.item<float>());
        Assert.Equal(TorchAssert.ToArray(plainGrad.to(ScalarType.Float64)), TorchAssert.ToArray(ourGrad.to(ScalarType.Float64)));
        // Before the clamp: the second derivative at the target was NaN.
        var z3 = torch.tensor(new float[] { 63.5f / 128 }).requires_grad_(true);
        var g3 = torch.autograd.grad(new[] { (z3 - 63.5f / 128).abs().pow(1.5).sum() }, new[] { z3 }, retain_graph: true, create_graph: true)[0];
        Assert.False(torch.autograd.grad(new[] { (g3 * g3).sum() }, new[] { z3 })[0].isfinite().all().item<bool>());
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

    private readonly string _dir = Directory.CreateTempSubdirectory("dg-poly-").FullName;
    private static readonly PolynomialExperiment Experiment = new();

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A curve point: steps done, loss of the batch drawn at that theta, exact E[f], E[f] - min f.</summary>
    private sealed record Point(long Step, double TrainLoss, double ExactLoss, double ExcessLoss);

    /// <summary>
    /// The experiment's training loop written out by hand, as it ran before it became runner cells: forward passes at
    /// steps 0 .. Steps, the curve recorded at every LogEvery-th and at the last one (which only evaluates), an Adam
    /// update after every other one, the final training loss the mean of the last Window step losses.
    /// </summary>
    private static (List<Point> Curve, double FinalTrain, double[] Theta) PlainLoop(PolynomialConfig config)
    {
        double c = config.Target, p = config.Power;
        using var generator = new Generator((ulong)config.Seed);
        TorchSharp.Modules.Parameter theta;
        using (var init = torch.NewDisposeScope())
        {
            var u = torch.rand(new long[] { config.Dimension, 2 }, dtype: config.DType, generator: generator);
            theta = new TorchSharp.Modules.Parameter(u.mul(2 * config.InitRange).sub_(config.InitRange), requires_grad: true);
            init.MoveToOuter(theta);
        }
        using var thetaScope = theta;
        using var optimizer = torch.optim.Adam(new[] { theta }, config.LearningRate);
        var curve = new List<Point>();
        double windowSum = 0;
        for (int step = 0; step <= config.Steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var sample = Categorical.Sample(theta.unsqueeze(0).expand(config.Batch, config.Dimension, 2), PolynomialEstimators.PathwiseKind(config.Estimator)!.Value,
                config.EstimatorOptions, generator: generator);
            var loss = PolynomialObjective.Loss(sample.Value.select(-1, 0), c, p);
            double value = loss.ToDouble();
            if (step % config.LogEvery == 0 || step == config.Steps)
                curve.Add(new Point(step, value, PolynomialObjective.ExpectedLoss(theta, c, p), PolynomialObjective.ExpectedExcessLoss(theta, c, p)));
            if (step == config.Steps) break;
            if (step >= config.Steps - config.Window) windowSum += value;
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        return (curve, windowSum / config.Window, theta.detach().to(ScalarType.Float64).data<double>().ToArray());
    }

    private (List<Point> Curve, IReadOnlyDictionary<string, double> Final, double[] Theta, RunResult Result) Train(PolynomialConfig config, string name,
        long? stopAt = null, bool resume = false, long checkpointEvery = 0)
    {
        using var task = new PolynomialTask(config, torch.CPU);
        var result = ExperimentRunner.Run(task, new RunnerOptions(Path.Combine(_dir, name), LogEvery: config.LogEvery, CheckpointEvery: checkpointEvery,
            Resume: resume, WriteReport: false, StopAtStep: stopAt));
        var evals = result.Records.Where(r => r.Kind == "eval").ToList();
        var curve = evals.Select(r => new Point(r.Step, r.Metrics["train_loss"], r.Metrics["exact_loss"], r.Metrics["excess_loss"])).ToList();
        return (curve, evals[^1].Metrics, task.ThetaValues(), result);
    }

    /// <summary>
    /// The runner cell reproduces the plain loop bit for bit for every estimator: the same curve (the batch loss at a
    /// logged step is drawn from a copy of the generator, and the step then draws that very batch), the same final
    /// training loss and the same final theta; another seed gives another theta.
    /// </summary>
    [Theory]
    [InlineData(PolynomialEstimator.StraightThrough)]
    [InlineData(PolynomialEstimator.StraightThroughGumbel)]
    [InlineData(PolynomialEstimator.GappedStraightThrough)]
    [InlineData(PolynomialEstimator.GumbelRao)]
    [InlineData(PolynomialEstimator.ReinMax)]
    [InlineData(PolynomialEstimator.GumbelSoftmax)]
    [InlineData(PolynomialEstimator.Zgr)]
    [InlineData(PolynomialEstimator.DecoupledStraightThroughGumbel)]
    [InlineData(PolynomialEstimator.DecoupledGumbelSoftmax)]
    public void The_runner_cell_reproduces_the_plain_training_loop_bit_for_bit(PolynomialEstimator kind)
    {
        var config = new PolynomialConfig
        {
            Estimator = kind, Power = 2.0, Seed = 7, Steps = 45, LogEvery = 10, FinalWindow = 20,
            Batch = kind == PolynomialEstimator.GumbelRao ? 8 : 64, GumbelRaoK = 10,
        };
        var plain = PlainLoop(config);
        var cell = Train(config, "a");
        Assert.Equal(new long[] { 0, 10, 20, 30, 40, 45 }, cell.Curve.Select(p => p.Step));
        Assert.Equal(plain.Curve, cell.Curve);                       // exact equality of every double
        Assert.Equal(plain.FinalTrain, cell.Final["final_train_loss"]);
        Assert.Equal(plain.Theta, cell.Theta);
        Assert.Equal(PolynomialObjective.MeanProbabilityOfOne(plain.Theta), cell.Final["mean_q"]);
        Assert.Contains(cell.Theta, v => Math.Abs(v) > 0.01);         // theta moved out of the U(-0.01, 0.01) start
        Assert.NotEqual(cell.Theta, Train(config with { Seed = 8 }, "b").Theta);
    }

    /// <summary>A run stopped inside the final-loss window and resumed equals a straight run (curve, final loss, theta).</summary>
    [Fact]
    public void A_stopped_and_resumed_cell_equals_a_straight_one()
    {
        var config = new PolynomialConfig { Estimator = PolynomialEstimator.ReinMax, Power = 3.0, Seed = 2, Steps = 40, LogEvery = 10, FinalWindow = 30 };
        ResumedEqualsStraight(config, "reinmax", stopAt: 25, checkpointEvery: 10);
    }

    /// <summary>Trains straight, then stopped at <paramref name="stopAt"/> and resumed: curve, final loss and theta must be equal.</summary>
    private void ResumedEqualsStraight(PolynomialConfig config, string name, long stopAt, long checkpointEvery)
    {
        var straight = Train(config, $"straight-{name}");
        var first = Train(config, $"resumed-{name}", stopAt: stopAt, checkpointEvery: checkpointEvery);
        Assert.Equal(stopAt, first.Result.Steps);
        var rest = Train(config, $"resumed-{name}", resume: true);
        Assert.Equal(stopAt, rest.Result.StartStep);
        Assert.Equal(straight.Curve, rest.Curve);
        Assert.Equal(straight.Final["final_train_loss"], rest.Final["final_train_loss"]);
        Assert.Equal(straight.Theta, rest.Theta);
    }

    /// <summary>The evaluation before the first step is written once, also when a run without a checkpoint is resumed.</summary>
    [Fact]
    public void The_initial_evaluation_is_recorded_once()
    {
        var config = new PolynomialConfig { Estimator = PolynomialEstimator.StraightThrough, Power = 2.0, Steps = 20, LogEvery = 10 };
        var once = Train(config, "once");
        string dir = Path.Combine(_dir, "once");
        File.Delete(Path.Combine(dir, CheckpointStore.PointerFile));
        Directory.Delete(Path.Combine(dir, "checkpoints"), true);
        var again = Train(config, "once", resume: true);
        Assert.Equal(0, again.Result.StartStep);
        Assert.Equal(new long[] { 0, 10, 20 }, again.Curve.Select(p => p.Step));
        Assert.Equal(once.Curve, again.Curve);
    }

    [Fact]
    public void ShortReinMaxRunLowersTheExactExpectedLoss()
    {
        var config = new PolynomialConfig { Steps = 300, Batch = 64, LogEvery = 50, Estimator = PolynomialEstimator.ReinMax, Power = 3.0 };
        var r = Train(config, "short");
        // Initial theta ~ 0: q ~ 1/2 and E[f] ~ (0.55^3 + 0.45^3) / 2.
        Assert.Equal((Math.Pow(0.55, 3) + Math.Pow(0.45, 3)) / 2, r.Curve[0].ExactLoss, 3);
        Assert.True(r.Curve[^1].ExactLoss < r.Curve[0].ExactLoss, $"{r.Curve[^1].ExactLoss} !< {r.Curve[0].ExactLoss}");
        Assert.True(r.Curve[^1].ExcessLoss < 0.9 * r.Curve[0].ExcessLoss, $"excess {r.Curve[^1].ExcessLoss} vs initial {r.Curve[0].ExcessLoss}");
        // Curve points at 0, 50, ..., 300, each with the exact loss equal to optimum + excess.
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i * 50), r.Curve.Select(pt => pt.Step));
        foreach (var pt in r.Curve) Assert.Equal(Math.Pow(C, 3) + pt.ExcessLoss, pt.ExactLoss, 12);
        // Training losses are averages of |z - c|^3 over 64 x 128 binary draws: within [0.45^3, 0.55^3].
        Assert.All(r.Curve, pt => Assert.InRange(pt.TrainLoss, Math.Pow(0.45, 3), Math.Pow(0.55, 3)));
        Assert.InRange(r.Final["final_train_loss"], Math.Pow(0.45, 3), Math.Pow(0.55, 3));
    }

    [Fact]
    public void NonFiniteLossStopsTheRunNamingTheStep()
    {
        // |z - 1e6|^16 = 1e96 overflows float32: the first batch's loss is +inf, found by the evaluation before step 0.
        var config = new PolynomialConfig { Steps = 10, LogEvery = 5, Target = 1e6, Power = 16.0, Estimator = PolynomialEstimator.StraightThrough };
        var ex = Assert.Throws<NonFiniteLossException>(() => Train(config, "inf"));
        Assert.Equal(0, ex.Step);
        Assert.Contains("stopped at step 0", ex.Message);
        Assert.Contains("the loss of the batch drawn after 0 steps is Infinity", ex.Message);
    }

    private static Dictionary<string, string> Given(params (string Key, string Value)[] kv) => kv.ToDictionary(x => x.Key, x => x.Value);

    private static string PlanError(params (string Key, string Value)[] kv) =>
        Assert.Throws<SettingException>(() => Experiment.Plan(Given(kv), null)).Message;

    [Fact]
    public void The_declaration_defaults_to_the_papers_grid_and_binds_the_former_options()
    {
        var cells = Experiment.Plan(Given(), null);
        Assert.Equal(5 * 3 * 3, cells.Count);                        // five estimators x p in {1.5, 2, 3} x seeds 0, 1, 2
        Assert.Equal("estimator-st_power-1.5_seed-0", cells[0].Key);
        Assert.Equal("estimator-reinmax_power-3_seed-2", cells[^1].Key);
        Assert.Equal(new[] { "ST, p = 1.5 seed 0", "ST, p = 1.5 seed 1" }, cells.Take(2).Select(c => c.Label));
        Assert.Equal("8000", cells[0].Settings["steps"]);
        cells = Experiment.Plan(Given(("estimators", "reinmax,GR-MCK"), ("powers", "2"), ("seeds", "1"), ("steps", "500"), ("log-every", "50")), null);
        Assert.Equal(new[] { "estimator-reinmax_power-2_seed-0", "estimator-grmck_power-2_seed-0" }, cells.Select(c => c.Key));
        var config = GridSpec<PolynomialConfig>.FromSettings(cells[1].Settings);
        Assert.Equal(PolynomialEstimator.GumbelRao, config.Estimator);
        Assert.Equal((500, 50, 0), (config.Steps, config.LogEvery, config.Seed));
        Assert.Equal(torch.ScalarType.Float64, GridSpec<PolynomialConfig>.FromSettings(Experiment.Plan(Given(("dtype", "float64")), null)[0].Settings).DType);
    }

    [Fact]
    public void Bad_settings_are_one_line_naming_the_option_and_the_allowed_range()
    {
        Assert.Equal("--powers must be a finite number in (0, 16] (got '0').", PlanError(("powers", "2,0")));
        Assert.Equal("--steps must be an integer in [1, 100000000] (got '0').", PlanError(("steps", "0")));
        Assert.Equal("--tau must be a finite number in (0, 1000000] (got '-1').", PlanError(("tau", "-1")));
        Assert.Equal("--estimators: unknown value 'nvil'; allowed: all, pathwise, score-function, st, stgs, gst, grmck, reinmax, gs, zgr, dstgs, dgs, "
                     + "reinforce, rloo, arm, disarm, indecater, muprop, rebar, relax.", PlanError(("estimators", "st,nvil")));
        Assert.Equal("--target-vectors: unknown value 'linear'; allowed: constant, ramp.", PlanError(("target-vectors", "linear")));
        // ARM and DisARM draw batch / 2 antithetic pairs: an odd batch leaves them out of a grid, and a grid of them alone is refused.
        Assert.Contains("--batch 63: DisARM draws batch / 2 antithetic pairs: the batch must be even (got 63)", PlanError(("estimators", "disarm"), ("batch", "63")));
        Assert.Equal("--estimators: 'reinmax' is listed twice (every grid cell must differ).", PlanError(("estimators", "reinmax,reinmax")));
        Assert.Equal("--dtype: unknown value 'int8'; allowed: float32, float64.", PlanError(("dtype", "int8")));
        // The cross-setting check names the option.
        Assert.Equal("--log-every: must be at most --steps = 100 (got 101).", PlanError(("steps", "100"), ("log-every", "101")));
    }

    [Fact]
    public void A_tiny_grid_runs_in_process_and_reports_the_table_the_curves_and_a_plot_per_power()
    {
        string grid = Path.Combine(_dir, "grid");
        var cells = Experiment.Plan(Given(("estimators", "st,reinmax"), ("powers", "2"), ("seeds", "2"), ("steps", "20"), ("log-every", "10")), null);
        var catalog = new IExperiment[] { Experiment };
        var (launch, outcomes) = GridRunner.Run(Experiment, cells, new GridOptions(grid, "discretegrad polynomial --steps 20"), new InProcessBackend(catalog));
        Assert.True(launch.Completed);
        Assert.All(outcomes, o => Assert.Equal("done", o.State));
        var (header, rows) = GridReport.Table(Experiment, outcomes);
        Assert.Equal(new[] { "run", "seeds", "E[loss]", "E[loss] - optimum", "train loss (final window)", "mean P(z_i = 1)", "ms / step" }, header);
        Assert.Equal(new[] { "ST, p = 2", "ReinMax, p = 2" }, rows.Select(r => r[0]));
        foreach (var (row, estimator) in rows.Zip(new[] { "ST", "ReinMax" }))
        {
            // Each cell's final.csv holds its final exact loss; the row is their mean +- sample std.
            var finals = outcomes.Where(o => o.Cell.Group == row[0]).Select(o => File.ReadAllLines(Path.Combine(o.Directory, "final.csv"))).ToList();
            Assert.All(finals, f => Assert.StartsWith($"{estimator},2,", f[1]));
            var exact = finals.Select(f => double.Parse(f[1].Split(',')[5], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal("2", row[1]);
            Assert.Equal(GridReport.MeanStd(exact, "F6"), row[2]);
            Assert.Contains(" +- ", row[2]);
        }
        var curves = File.ReadAllLines(Path.Combine(outcomes[0].Directory, "curves.csv"));
        Assert.Equal("step,estimator,p,seed,train_loss,exact_loss,excess_loss,target", curves[0]);
        Assert.Equal(new[] { "0", "10", "20" }, curves.Skip(1).Select(l => l.Split(',')[0]));
        var written = GridReport.Write(Experiment, grid, Path.Combine(_dir, "docs", "poly.md"));
        string md = File.ReadAllText(Path.Combine(grid, "report.md"));
        Assert.Contains("![p = 2](polynomial-p2.png)", md);
        Assert.Contains("| 2 | 0.202500 | 0.4500 |", md);                // optimum 0.45^2 and the ST fixed point q* = c for p = 2
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(grid, "polynomial-p2.png")).Take(4).ToArray());
        Assert.Contains("](poly-p2.png)", File.ReadAllText(Path.Combine(_dir, "docs", "poly.md")));   // named after the markdown file
        Assert.True(File.Exists(Path.Combine(_dir, "docs", "poly-p2.png")));
        Assert.Contains(Path.Combine(_dir, "docs", "poly.md"), written);
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

    /// <summary>The ramp target vector's closed forms (expected loss, excess, optimum) equal the enumeration over the 2^N states.</summary>
    [Theory]
    [InlineData(1.5)]
    [InlineData(3.0)]
    public void Ramp_targets_closed_forms_equal_enumeration(double p)
    {
        using var scope = torch.NewDisposeScope();
        var theta = RandomTheta(5, 13);
        var targets = PolynomialObjective.Targets(TargetVector.Ramp, C, 5);
        Assert.Equal(new[] { 0.1, 0.3, 0.5, 0.7, 0.9 }, targets.Select(c => Math.Round(c, 12)));
        var c = torch.tensor(targets, dtype: ScalarType.Float64);
        var exact = Enumeration.Exact(theta, states => PolynomialObjective.Values(states.select(-1, 0), c, p));
        Assert.Equal(exact.Value, PolynomialObjective.ExpectedLoss(theta, targets, p), 12);
        // The optimum: every z_i at its better value; the excess is the enumerated loss minus it, and positive.
        var all = PolynomialObjective.Values(Enumeration.JointStates(5, 2).select(-1, 0), c, p);
        Assert.Equal(all.min().ToDouble(), PolynomialObjective.Optimum(targets, p), 12);
        Assert.Equal(exact.Value - PolynomialObjective.Optimum(targets, p), PolynomialObjective.ExpectedExcessLoss(theta, targets, p), 12);
        // The constant vector reproduces the scalar forms.
        var constant = PolynomialObjective.Targets(TargetVector.Constant, C, 5);
        Assert.Equal(PolynomialObjective.ExpectedLoss(theta, C, p), PolynomialObjective.ExpectedLoss(theta, constant, p), 14);
    }

    public static TheoryData<PolynomialEstimator, TargetVector> ScoreFunctionRuns()
    {
        var data = new TheoryData<PolynomialEstimator, TargetVector>();
        foreach (var e in new[] { PolynomialEstimator.Reinforce, PolynomialEstimator.Rloo, PolynomialEstimator.Arm, PolynomialEstimator.DisArm,
                     PolynomialEstimator.IndeCateR, PolynomialEstimator.MuProp, PolynomialEstimator.Rebar, PolynomialEstimator.Relax })
        foreach (var v in new[] { TargetVector.Constant, TargetVector.Ramp })
            data.Add(e, v);
        return data;
    }

    /// <summary>
    /// Each score-function estimator trains theta on both target vectors: 60 Adam steps at lr 0.05 take the exact excess loss
    /// below 60% of its start (see below for three exceptions) (the start is q = 1/2 everywhere; with the ramp half the coordinates must rise, half fall), and
    /// its training loss is f at hard samples (within f's range). REBAR and RELAX also train their control variate.
    /// (MuProp's residual term has no baseline and REBAR / RELAX start from an untrained control variate: with the constant
    /// target, whose excess starts at only 0.05, they are slow, so there they run 240 steps and the bound is 90%.)
    /// </summary>
    [Theory]
    [MemberData(nameof(ScoreFunctionRuns))]
    public void Score_function_estimators_lower_the_exact_loss(PolynomialEstimator e, TargetVector vector)
    {
        bool slow = vector == TargetVector.Constant && e is PolynomialEstimator.MuProp or PolynomialEstimator.Rebar or PolynomialEstimator.Relax;
        var config = new PolynomialConfig
        {
            Estimator = e, TargetVector = vector, Power = 2.0, Seed = 3, Steps = slow ? 240 : 60, LogEvery = 30, LearningRate = 0.05, Dimension = 16, Batch = 16,
        };
        using var task = new PolynomialTask(config, torch.CPU);
        var control = task.Model.parameters().Skip(1).Select(p => p.detach().clone()).ToList();
        Assert.Equal(e is PolynomialEstimator.Rebar or PolynomialEstimator.Relax, control.Count > 0);
        var result = ExperimentRunner.Run(task, new RunnerOptions(Path.Combine(_dir, $"{e}-{vector}"), LogEvery: 30, CheckpointEvery: 0, WriteReport: false));
        var evals = result.Records.Where(r => r.Kind == "eval").ToList();
        double bound = slow ? 0.9 : 0.6;
        Assert.True(evals[^1].Metrics["excess_loss"] < bound * evals[0].Metrics["excess_loss"],
            $"{e} {vector}: excess {evals[^1].Metrics["excess_loss"]} from {evals[0].Metrics["excess_loss"]}");
        double lo = config.Targets.Select(c => PolynomialObjective.Optimum(c, 2)).Min(), hi = config.Targets.Select(c => Math.Max(c * c, (1 - c) * (1 - c))).Max();
        Assert.All(result.Records.Where(r => r.Kind == "train"), r => Assert.InRange(r.Metrics["loss"], lo, hi));
        var after = task.Model.parameters().Skip(1).ToList();
        Assert.All(control.Zip(after), t => Assert.False(t.First.eq(t.Second).all().item<bool>(), $"{e}: a control-variate parameter did not move"));
    }

    /// <summary>The moving average of REINFORCE and the control variate of RELAX are checkpointed: a stopped and resumed
    /// run equals a straight one bit for bit (curve, final loss, theta).</summary>
    [Theory]
    [InlineData(PolynomialEstimator.Reinforce)]
    [InlineData(PolynomialEstimator.Relax)]
    public void Stopped_and_resumed_score_function_cells_equal_straight_ones(PolynomialEstimator e)
    {
        var config = new PolynomialConfig { Estimator = e, TargetVector = TargetVector.Ramp, Power = 1.5, Seed = 4, Steps = 30, LogEvery = 10, FinalWindow = 20, Dimension = 16, Batch = 8 };
        ResumedEqualsStraight(config, e.ToString(), stopAt: 15, checkpointEvery: 5);
    }

    /// <summary>The target-vector axis leaves the constant vector's cell folders as they were (grids run before it resume);
    /// the ramp's carry it.</summary>
    [Fact]
    public void The_target_vector_axis_keeps_the_constant_cells_folder_names()
    {
        var cells = Experiment.Plan(Given(("estimators", "reinmax,reinforce"), ("powers", "2"), ("seeds", "1"), ("target-vectors", "constant,ramp")), null);
        Assert.Equal(new[]
        {
            "estimator-reinmax_power-2_seed-0", "estimator-reinmax_power-2_target-vector-ramp_seed-0",
            "estimator-reinforce_power-2_seed-0", "estimator-reinforce_power-2_target-vector-ramp_seed-0",
        }, cells.Select(c => c.Key));
        Assert.Equal(new[] { "ReinMax, p = 2", "ReinMax, p = 2, ramp c", "REINFORCE+MA, p = 2", "REINFORCE+MA, p = 2, ramp c" }, cells.Select(c => c.Group));
        Assert.Equal(9, Experiment.Plan(Given(("estimators", "pathwise"), ("powers", "2"), ("seeds", "1")), null).Count);
        Assert.Equal(new[] { "reinforce", "rloo", "disarm", "indecater", "relax" },
            Experiment.Plan(Given(("estimators", "score-function"), ("powers", "2"), ("seeds", "1")), null).Select(c => c.Settings["estimators"]));
    }
}
