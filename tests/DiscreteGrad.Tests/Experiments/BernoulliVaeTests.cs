using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.BernoulliVae;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.ScoreFunction;
using DiscreteGrad.Tests.ScoreFunction;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public sealed class BernoulliVaeTests
{
    private const int Pixels = 5, Hidden = 4, Latent = 3;

    /// <summary>A tiny fp64 VAE with a non-zero prior, seeded.</summary>
    private static BernoulliVaeModel Tiny(int? baselineHidden = null, BernoulliVaeEstimator? relax = null)
    {
        torch.manual_seed(7);
        var control = relax is { } r ? new RelaxControl(false, 1, Latent, r == BernoulliVaeEstimator.Relax ? 4 : null) : null;
        var m = new BernoulliVaeModel(Pixels, Hidden, Latent, baselineHidden, control);
        m.to(ScalarType.Float64);
        using (torch.no_grad()) m.PriorLogits.copy_(torch.tensor(new[] { 0.7, -1.2, 0.3 }, dtype: ScalarType.Float64));
        return m;
    }

    private static Tensor Image() => torch.tensor(new double[] { 1, 0, 1, 1, 0 }, dtype: ScalarType.Float64).reshape(1, Pixels);
    private static Tensor Phi() => torch.tensor(new[] { 0.4, -0.9, 1.3 }, dtype: ScalarType.Float64);

    /// <summary>-ELBO(x) = sum_z q(z)(-log p(x|z) - log p(z) + log q(z)) by enumerating the 2^3 codes.</summary>
    private static double EnumeratedNegElbo(BernoulliVaeModel m, Tensor x, Tensor phi)
    {
        var z = ExactKit.BernoulliStates(Latent);                                   // [8, 3]
        var lq = LogProb.Bernoulli(phi, z, 1);                                       // [8]
        var nll = m.NegLogLikelihood(x, z.unsqueeze(1)).squeeze(1);                 // [8]
        var lp = m.PriorLogProb(z);
        return (lq.exp() * (nll - lp + lq)).sum().item<double>();
    }

    [Fact]
    public void NegativeElboWithExactKlEqualsEnumeration()
    {
        using var _ = torch.NewDisposeScope();
        var m = Tiny();
        var x = Image();
        var phi = Phi();
        double enumerated = EnumeratedNegElbo(m, x, phi);
        var z = ExactKit.BernoulliStates(Latent);
        var q = LogProb.Bernoulli(phi, z, 1).exp();
        double expectedNll = (q * m.NegLogLikelihood(x, z.unsqueeze(1)).squeeze(1)).sum().item<double>();
        double kl = m.Kl(phi.unsqueeze(0)).item<double>();
        Assert.True(kl > 0, $"KL = {kl} should be positive for q != p");
        Assert.Equal(enumerated, expectedNll + kl, 10);
    }

    public static IEnumerable<object[]> Unbiased() => new[]
    {
        new object[] { BernoulliVaeEstimator.DisArm, 2 }, new object[] { BernoulliVaeEstimator.DisArm, 4 },
        new object[] { BernoulliVaeEstimator.Arm, 2 }, new object[] { BernoulliVaeEstimator.Rloo, 2 },
        new object[] { BernoulliVaeEstimator.Rloo, 3 }, new object[] { BernoulliVaeEstimator.Nvil, 1 },
        new object[] { BernoulliVaeEstimator.Nvil, 3 }, new object[] { BernoulliVaeEstimator.Rebar, 3 },
        new object[] { BernoulliVaeEstimator.Relax, 3 }, new object[] { BernoulliVaeEstimator.Relax, 6 },
    };

    /// <summary>
    /// The objective's gradient with respect to the encoder logits is unbiased for d(-ELBO)/d phi (the exact value by
    /// enumeration): B = 20,000 copies of one image, each row an independent estimate (the loss is a batch mean, so row i's
    /// gradient is its estimate / B); the mean over rows must lie within 4.5 standard errors of the exact gradient.
    /// </summary>
    [Theory]
    [MemberData(nameof(Unbiased))]
    public void LogitGradientIsUnbiased(BernoulliVaeEstimator estimator, int k)
    {
        using var _ = torch.NewDisposeScope();
        var m = Tiny(estimator == BernoulliVaeEstimator.Nvil ? 3 : null,
            estimator is BernoulliVaeEstimator.Rebar or BernoulliVaeEstimator.Relax ? estimator : null);
        var x = Image();
        var phi = Phi();
        var leaf0 = phi.clone().requires_grad_(true);
        var negElbo = m.NegLogLikelihood(x, ExactKit.BernoulliStates(Latent).unsqueeze(1)).squeeze(1);
        var z = ExactKit.BernoulliStates(Latent);
        var exactLoss = (LogProb.Bernoulli(leaf0, z, 1).exp() * negElbo.detach()).sum() + m.Kl(leaf0.unsqueeze(0)).sum();
        var exact = TorchAssert.ToArray(torch.autograd.grad(new[] { exactLoss }, new[] { leaf0 })[0]);

        const int b = 20_000;
        var xs = x.expand(b, Pixels).contiguous();
        var leaf = phi.unsqueeze(0).expand(b, Latent).clone().requires_grad_(true);
        var nvil = estimator == BernoulliVaeEstimator.Nvil ? new NvilBaseline(m.Baseline) : null;
        var r = BernoulliVaeObjective.Compute(m, xs, leaf, estimator, k, 1.0, new Generator(123), nvil);
        var g = torch.autograd.grad(new[] { r.Loss }, new[] { leaf })[0] * b;          // [B, D] per-row estimates
        var mean = TorchAssert.ToArray(g.mean(new long[] { 0 }));
        var se = TorchAssert.ToArray(g.std(0) / Math.Sqrt(b));
        for (int d = 0; d < Latent; d++)
            Assert.True(Math.Abs(mean[d] - exact[d]) <= 4.5 * se[d] + 1e-9,
                $"{estimator} K={k} coordinate {d}: mean {mean[d]:F5}, exact {exact[d]:F5}, se {se[d]:F5}");
    }

    [Fact]
    public void ReinMaxIsBiasedButCloseOnTheTinyModel()
    {
        // ReinMax is a (second-order) approximation: its mean is not the exact gradient, but it points the same way.
        using var _ = torch.NewDisposeScope();
        var m = Tiny();
        var x = Image();
        var phi = Phi();
        var leaf0 = phi.clone().requires_grad_(true);
        var z = ExactKit.BernoulliStates(Latent);
        var nll = m.NegLogLikelihood(x, z.unsqueeze(1)).squeeze(1).detach();
        var exactLoss = (LogProb.Bernoulli(leaf0, z, 1).exp() * nll).sum() + m.Kl(leaf0.unsqueeze(0)).sum();
        var exact = torch.autograd.grad(new[] { exactLoss }, new[] { leaf0 })[0];
        const int b = 20_000;
        var leaf = phi.unsqueeze(0).expand(b, Latent).clone().requires_grad_(true);
        var r = BernoulliVaeObjective.Compute(m, x.expand(b, Pixels).contiguous(), leaf, BernoulliVaeEstimator.ReinMax, 2, 1.0, new Generator(5));
        var mean = (torch.autograd.grad(new[] { r.Loss }, new[] { leaf })[0] * b).mean(new long[] { 0 });
        double cos = (torch.nn.functional.cosine_similarity(mean.unsqueeze(0), exact.unsqueeze(0))).item<double>();
        Assert.True(cos > 0.9, $"cosine {cos}");
    }

    [Theory]
    [InlineData(BernoulliVaeEstimator.DisArm, 3)]
    [InlineData(BernoulliVaeEstimator.Arm, 1)]
    [InlineData(BernoulliVaeEstimator.Rloo, 1)]
    [InlineData(BernoulliVaeEstimator.ReinMax, 0)]
    [InlineData(BernoulliVaeEstimator.Nvil, 0)]
    [InlineData(BernoulliVaeEstimator.Zgr, 0)]
    [InlineData(BernoulliVaeEstimator.Relax, 2)]
    [InlineData(BernoulliVaeEstimator.Rebar, 4)]
    public void InvalidEvaluationsAreRejected(BernoulliVaeEstimator estimator, int k)
    {
        Assert.NotNull(BernoulliVaeEstimators.InvalidEvaluations(estimator, k));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new BernoulliVaeConfig { Estimator = estimator, Evaluations = k }.Validate());
        Assert.Equal("Evaluations", e.ParamName);
        using var _ = torch.NewDisposeScope();
        var m = Tiny();
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() =>
            BernoulliVaeObjective.Compute(m, Image(), Phi().unsqueeze(0), estimator, k, 1.0, new Generator(1), new NvilBaseline()));
        Assert.Equal("evaluations", e2.ParamName);
    }

    [Theory]
    [InlineData(BernoulliVaeEstimator.ReinMax, 3)]
    [InlineData(BernoulliVaeEstimator.DisArm, 2)]
    [InlineData(BernoulliVaeEstimator.Rloo, 2)]
    [InlineData(BernoulliVaeEstimator.Nvil, 2)]
    [InlineData(BernoulliVaeEstimator.Zgr, 1)]
    [InlineData(BernoulliVaeEstimator.Relax, 3)]
    [InlineData(BernoulliVaeEstimator.Rebar, 6)]
    public void ValidEvaluationsAreAccepted(BernoulliVaeEstimator estimator, int k)
        => Assert.Null(BernoulliVaeEstimators.InvalidEvaluations(estimator, k));

    [Fact]
    public void NvilWithoutControlVariatesAndWrongShapesAreRejected()
    {
        using var _ = torch.NewDisposeScope();
        var m = Tiny();
        Assert.Equal("nvil", Assert.Throws<ArgumentException>(() =>
            BernoulliVaeObjective.Compute(m, Image(), Phi().unsqueeze(0), BernoulliVaeEstimator.Nvil, 1, 1.0, new Generator(1))).ParamName);
        Assert.Equal("logits", Assert.Throws<ArgumentException>(() =>
            BernoulliVaeObjective.Compute(m, Image(), Phi(), BernoulliVaeEstimator.ReinMax, 1, 1.0, new Generator(1))).ParamName);
        Assert.Equal("x", Assert.Throws<ArgumentException>(() =>
            BernoulliVaeObjective.Compute(m, torch.zeros(1, 4, dtype: ScalarType.Float64), Phi().unsqueeze(0), BernoulliVaeEstimator.ReinMax, 1, 1.0, new Generator(1))).ParamName);
    }

    [Fact]
    public void BinarizationFollowsTheIntensity()
    {
        using var _ = torch.NewDisposeScope();
        var bytes = torch.tensor(Enumerable.Repeat(new byte[] { 0, 255, 128 }, 20_000).SelectMany(v => v).ToArray(), new long[] { 20_000, 3 }, ScalarType.Byte);
        var bin = BernoulliVaeData.Binarize(bytes, new Generator(3)).to(ScalarType.Float64);
        var mean = TorchAssert.ToArray(bin.mean(new long[] { 0 }));
        Assert.Equal(0.0, mean[0]);
        Assert.Equal(1.0, mean[1]);
        double p = 128 / 255.0, se = Math.Sqrt(p * (1 - p) / 20_000);
        Assert.True(Math.Abs(mean[2] - p) < 4.5 * se, $"{mean[2]} vs {p}");
    }

    [Fact]
    public void TasksTrainDeterministicallyAndEvaluate()
    {
        using var _ = torch.NewDisposeScope();
        var rng = new Random(4);
        var train = torch.tensor(Enumerable.Range(0, 120 * Pixels).Select(_ => (byte)rng.Next(256)).ToArray(), new long[] { 120, Pixels }, ScalarType.Byte);
        var test = torch.tensor(Enumerable.Range(0, 30 * Pixels).Select(_ => (byte)rng.Next(256)).ToArray(), new long[] { 30, Pixels }, ScalarType.Byte);
        using var data = new BernoulliVaeData(train, test, 1, torch.CPU);
        foreach (var e in Enum.GetValues<BernoulliVaeEstimator>())
        {
            var config = new BernoulliVaeConfig
            {
                Estimator = e, Evaluations = e is BernoulliVaeEstimator.Rebar or BernoulliVaeEstimator.Relax ? 3 : 2, Latent = Latent, Hidden = Hidden,
                TrainCount = 100, BatchSize = 25, Epochs = 1, DynamicBinarization = e == BernoulliVaeEstimator.Rloo, RelaxHidden = 4,
            };
            double[] Losses()
            {
                var task = new BernoulliVaeTask(config, data);
                Assert.Equal(4, task.TotalSteps);
                var losses = Enumerable.Range(0, 4).Select(s => task.TrainStep(s)["loss"]).ToArray();
                Assert.True(task.Cadence.ShouldEvaluate(4, task.TotalSteps));
                var ev = task.Evaluate(4);
                Assert.True(double.IsFinite(ev["test_neg_elbo"]) && ev["test_neg_elbo"] > 0, $"{e}: test -ELBO {ev["test_neg_elbo"]}");
                Assert.Equal(ev["test_nll"] + ev["test_kl"], ev["test_neg_elbo"], 9);
                return losses;
            }
            var a = Losses();
            var b = Losses();
            Assert.All(a, v => Assert.True(double.IsFinite(v) && v > 0));
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void RAdamOptionTakesThePyTorchRuleWhoseFirstStepIsPlainLrTimesGradient()
    {
        // RAdam's first steps (rho_t <= 5) are SGD with bias-corrected momentum: m_hat = g at t = 1, so p1 = p0 - lr g;
        // Adam's first step is lr g / (|g| + eps), about lr per coordinate: the two are told apart by the first step.
        using var _ = torch.NewDisposeScope();
        var rng = new Random(5);
        var train = torch.tensor(Enumerable.Range(0, 40 * Pixels).Select(_ => (byte)rng.Next(256)).ToArray(), new long[] { 40, Pixels }, ScalarType.Byte);
        var test = torch.tensor(Enumerable.Range(0, 10 * Pixels).Select(_ => (byte)rng.Next(256)).ToArray(), new long[] { 10, Pixels }, ScalarType.Byte);
        using var data = new BernoulliVaeData(train, test, 1, torch.CPU);
        var config = new BernoulliVaeConfig
        {
            Estimator = BernoulliVaeEstimator.ReinMax, Evaluations = 1, Latent = Latent, Hidden = Hidden, TrainCount = 40, BatchSize = 20,
            Epochs = 1, Optimizer = DiscreteGrad.Experiments.Vae.VaeOptimizer.RAdam, LearningRate = 0.01,
        };
        var task = new BernoulliVaeTask(config, data);
        Assert.IsType<DiscreteGrad.Optim.RAdam>(task.Optimizer);
        var before = task.Model.parameters().Select(p => p.detach().clone()).ToArray();
        task.TrainStep(0);
        var after = task.Model.parameters().ToArray();
        double worst = 0, moved = 0;
        for (int i = 0; i < after.Length; i++)
        {
            using var expected = before[i] - 0.01 * after[i].grad!;
            worst = Math.Max(worst, (after[i].detach() - expected).abs().max().item<float>());
            moved = Math.Max(moved, (after[i].detach() - before[i]).abs().max().item<float>());
        }
        Assert.True(moved > 1e-5, $"no parameter moved ({moved})");
        Assert.True(worst < 1e-6, $"first RAdam step differs from p - lr g by {worst}");
    }

    /// <summary>Random training (100) and test (20) images of the tiny VAE's size.</summary>
    private static BernoulliVaeData RandomData(int seed)
    {
        var rng = new Random(seed);
        var train = torch.tensor(Enumerable.Range(0, 100 * Pixels).Select(_ => (byte)rng.Next(256)).ToArray(), new long[] { 100, Pixels }, ScalarType.Byte);
        var test = torch.tensor(Enumerable.Range(0, 20 * Pixels).Select(_ => (byte)rng.Next(256)).ToArray(), new long[] { 20, Pixels }, ScalarType.Byte);
        return new BernoulliVaeData(train, test, 1, torch.CPU);
    }

    /// <summary>Runs <paramref name="config"/> straight and stopped at <paramref name="stopAt"/> then resumed; the losses,
    /// the test -ELBO and every parameter must be equal. Returns (straight, resumed) tasks.</summary>
    private static (BernoulliVaeTask Straight, BernoulliVaeTask Resumed) ResumedEqualsStraight(BernoulliVaeConfig config, BernoulliVaeData data, int stopAt,
        Action<BernoulliVaeTask, string>? afterStop = null)
    {
        string dir = Directory.CreateTempSubdirectory("dg-bvae-").FullName;
        try
        {
            var straight = new BernoulliVaeTask(config, data);
            var a = ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(dir, "a"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false));
            var first = new BernoulliVaeTask(config, data);
            ExperimentRunner.Run(first, new RunnerOptions(Path.Combine(dir, "b"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false, StopAtStep: stopAt));
            afterStop?.Invoke(first, Path.Combine(dir, "b"));
            var resumed = new BernoulliVaeTask(config, data);
            var b = ExperimentRunner.Run(resumed, new RunnerOptions(Path.Combine(dir, "b"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false, Resume: true));
            Assert.Equal(stopAt, b.StartStep);
            Assert.Equal(a.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]), b.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]));
            Assert.Equal(a.FinalEval["test_neg_elbo"], b.FinalEval["test_neg_elbo"]);
            Assert.True(straight.Model.parameters().Zip(resumed.Model.parameters()).All(t => t.First.eq(t.Second).all().item<bool>()), "parameters differ");
            return (straight, resumed);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_resumed_nvil_run_is_bit_identical_because_its_running_statistics_are_checkpointed()
    {
        using var data = RandomData(5);
        var config = new BernoulliVaeConfig
        {
            Estimator = BernoulliVaeEstimator.Nvil, Evaluations = 2, Latent = Latent, Hidden = Hidden, TrainCount = 100, BatchSize = 20, Epochs = 2, NvilHidden = 3,
        };
        var (straight, resumed) = ResumedEqualsStraight(config, data, 7,
            (_, dir) => Assert.True(File.Exists(Path.Combine(CheckpointStore.Latest(dir)!, "extra.bin"))));
        Assert.Equal(straight.GetExtraState()["nvil"].data<double>().ToArray(), resumed.GetExtraState()["nvil"].data<double>().ToArray());
        Assert.Empty(new BernoulliVaeTask(config with { Estimator = BernoulliVaeEstimator.ReinMax }, data).GetExtraState());
    }

    /// <summary>RELAX's control variate is a module of the model: Adam steps it (it moves from eta = 1, lambda = 0.5 and the
    /// network's start), checkpoints carry it, and a resumed run is bit-identical to a straight one.</summary>
    [Fact]
    public void A_resumed_relax_run_is_bit_identical_because_its_control_variate_is_checkpointed()
    {
        using var data = RandomData(6);
        var config = new BernoulliVaeConfig
        {
            Estimator = BernoulliVaeEstimator.Relax, Evaluations = 3, Latent = Latent, Hidden = Hidden, TrainCount = 100, BatchSize = 20, Epochs = 2, RelaxHidden = 4,
        };
        var start = new BernoulliVaeTask(config, data).Vae.Control!.parameters().Select(p => p.detach().clone()).ToList();
        var (straight, _) = ResumedEqualsStraight(config, data, 6);
        Assert.All(start.Zip(straight.Vae.Control!.parameters()), t => Assert.False(t.First.eq(t.Second).all().item<bool>(), "a control-variate parameter did not move"));
        Assert.Contains(straight.Model.state_dict().Keys, k => k.StartsWith("control.", StringComparison.Ordinal));
    }
}
