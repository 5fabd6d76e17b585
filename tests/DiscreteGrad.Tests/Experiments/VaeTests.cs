using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Vae;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public sealed class VaeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-vae-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A 3x2 VAE (2 variables of 3 classes, 9 codes) in float64 with one grey-level image.</summary>
    private static (CategoricalVae Vae, Tensor X, Tensor Theta) Tiny(int seed)
    {
        torch.manual_seed(seed);
        var vae = new CategoricalVae(3, 2);
        vae.to(ScalarType.Float64);
        var x = torch.rand(1, 784, dtype: ScalarType.Float64, generator: new Generator((ulong)seed));
        // Larger encoder logits than the initialisation gives, so q is far from uniform.
        var theta = (vae.EncoderLogits(x)[0].detach() * 20).contiguous();
        return (vae, x, theta);
    }

    [Fact]
    public void Kl_to_uniform_matches_the_hand_value()
    {
        // Variable 1: q = (1/4, 3/4) (logits 0, ln 3); variable 2: uniform. KL = 1/4 ln 1/4 + 3/4 ln 3/4 + ln 2 + 0.
        var logits = tensor(new[] { 0.0, Math.Log(3), 0.7, 0.7 }).view(1, 2, 2);
        double expected = 0.25 * Math.Log(0.25) + 0.75 * Math.Log(0.75) + Math.Log(2);
        Assert.Equal(expected, CategoricalVae.KlToUniform(logits).item<double>(), 12);
        Assert.Equal(0.1308120, expected, 6);
        // C = 4, L = 3, one-hot-like q: KL -> L log C.
        var sharp = torch.zeros(3, 4, dtype: ScalarType.Float64);
        sharp[TensorIndex.Colon, 0] = 60;
        Assert.Equal(3 * Math.Log(4), CategoricalVae.KlToUniform(sharp).item<double>(), 9);
    }

    [Fact]
    public void Kl_to_uniform_with_fewer_categories_than_variables_equals_the_last_dimension_formula_and_its_gradient()
    {
        // C = 3 < L = 5 takes the [..., C, L] layout; the reference is the formula over the last dimension, in float64.
        var theta = (torch.randn(new long[] { 4, 5, 3 }, dtype: ScalarType.Float64, generator: new Generator(3)) * 3).requires_grad_(true);
        var twin = theta.detach().clone().requires_grad_(true);
        var kl = CategoricalVae.KlToUniform(theta);
        var lq = twin.log_softmax(-1);
        var reference = (lq.exp() * lq).sum(new long[] { -1, -2 }) + 5 * Math.Log(3);
        Assert.Equal(new long[] { 4 }, kl.shape);
        Assert.True((kl - reference).abs().max().item<double>() < 1e-13, "KL values");
        var w = torch.tensor(new[] { 1.0, -2.0, 0.5, 3.0 }, dtype: ScalarType.Float64);
        (kl * w).sum().backward();
        (reference * w).sum().backward();
        Assert.True((theta.grad! - twin.grad!).abs().max().item<double>() < 1e-13, "KL gradients");
    }

    [Fact]
    public void Sampled_negative_elbo_equals_the_enumerated_one_in_expectation()
    {
        var (vae, x, _) = Tiny(5);
        var theta = vae.EncoderLogits(x)[0].detach();
        // Exact -ELBO: sum over the 9 codes of q(z) BCE(z, x), plus KL; the 9 codes written out by hand.
        var q = theta.softmax(-1);
        double exact = 0;
        for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
        {
            var z = torch.zeros(1, 1, 2, 3, dtype: ScalarType.Float64);
            z[0, 0, 0, a] = 1;
            z[0, 0, 1, b] = 1;
            exact += q[0, a].item<double>() * q[1, b].item<double>() * vae.Bce(z, x).item<double>();
        }
        Assert.Equal(exact, VaeGradientBias.Exact(vae, x, theta).Value, 9);
        exact += CategoricalVae.KlToUniform(theta).item<double>();

        var batch = x.expand(4000, 784);
        foreach (var e in new[] { VaeEstimator.StraightThrough, VaeEstimator.StraightThroughGumbel, VaeEstimator.Reinforce, VaeEstimator.Vimco })
        {
            var objective = new VaeObjective(new VaeConfig { Categories = 3, Latents = 2, Estimator = e }, new Generator(11));
            var r = vae.Loss(batch, objective);
            double mean = r.Nelbo.mean().item<double>();
            double se = r.Nelbo.std().item<double>() / Math.Sqrt(e == VaeEstimator.Vimco ? 4000 * 4 : 4000);
            Assert.True(Math.Abs(mean - exact) < 4 * se + 1e-9, $"{e}: sampled {mean}, exact {exact}, se {se}");
        }
        var (ne, _, _) = vae.SampledNegativeElbo(batch, new Generator(3), samples: 2);
        Assert.True(Math.Abs(ne.mean().item<double>() - exact) < 4 * ne.std().item<double>() / Math.Sqrt(4000), "SampledNegativeElbo");
    }

    [Theory]
    [InlineData(VaeEstimator.Reinforce)]
    [InlineData(VaeEstimator.Nvil)]
    [InlineData(VaeEstimator.MuProp)]
    [InlineData(VaeEstimator.IndeCateR)]
    public void Score_function_gradients_are_unbiased_by_enumeration(VaeEstimator e)
    {
        var (vae, x, theta) = Tiny(7);
        var exact = VaeGradientBias.Exact(vae, x, theta).Gradient;
        var expected = VaeGradientBias.EnumeratedExpectation(vae, x, theta, e, new EstimatorOptions(), baseline: 531.25)!;
        double rel = (expected - exact).norm().item<double>() / exact.norm().item<double>();
        Assert.True(rel < 1e-9, $"{e}: relative error {rel}");
        Assert.True(exact.norm().item<double>() > 1e-3);
    }

    [Fact]
    public void Pathwise_expectations_agree_with_the_library_diagnostics_and_st_is_biased()
    {
        var (vae, x, theta) = Tiny(9);
        var exact = VaeGradientBias.Exact(vae, x, theta).Gradient;
        var options = new EstimatorOptions(Tau: 1.0);
        foreach (var e in new[] { VaeEstimator.StraightThrough, VaeEstimator.ReinMax, VaeEstimator.GappedStraightThrough, VaeEstimator.Zgr })
        {
            var mine = VaeGradientBias.EnumeratedExpectation(vae, x, theta, e, options, 0)!;
            var lib = EstimatorDiagnostics.ExpectedGradient(theta, VaeGradientBias.BceOfCodes(vae, x), VaeEstimators.PathwiseKind(e), options);
            Assert.True(lib.Exact);
            Assert.True((mine - lib.Mean).abs().max().item<double>() < 1e-10, e.ToString());
        }
        var st = VaeGradientBias.EnumeratedExpectation(vae, x, theta, VaeEstimator.StraightThrough, options, 0)!;
        Assert.True((st - exact).norm().item<double>() / exact.norm().item<double>() > 1e-3, "ST should be biased here");
    }

    [Fact]
    public void Monte_carlo_analysis_of_an_unbiased_estimator_sits_at_its_noise_floor()
    {
        var (vae, x, theta) = Tiny(7);
        var exact = VaeGradientBias.Exact(vae, x, theta);
        var row = VaeGradientBias.Analyse(vae, x, 0, theta, exact.Gradient, VaeEstimator.Reinforce, new EstimatorOptions(), exact.Value,
            groups: 4, drawsPerGroup: 500, new Generator(1));
        Assert.Equal(2000, row.Draws);
        Assert.True(row.ExactRelativeBias < 1e-9);
        // ||mean - g*|| / ||g*|| of an unbiased estimator is about the noise floor (chi with 6 degrees of freedom: < 3x).
        Assert.True(row.RelativeBias < 3 * row.NoiseFloor, $"rel {row.RelativeBias} floor {row.NoiseFloor}");
        Assert.True(row.Cosine > 0.9);
    }

    private static VaeData SyntheticData(int train, int test)
    {
        var g = new Generator(99);
        return new VaeData(torch.rand(train, 784, generator: g), torch.rand(test, 784, generator: g));
    }

    private static VaeConfig Small(VaeEstimator e) => new()
    {
        Categories = 3, Latents = 2, Estimator = e, Epochs = 2, BatchSize = 8, TrainExamples = 16, TestExamples = 12,
        GumbelRaoK = 10, VimcoSamples = 3, NvilHidden = 8, RelaxHidden = 8,
    };

    /// <summary>REBAR and RELAX (continuous noise: no enumeration) are unbiased: the mean of 2000 draws sits at the noise floor.</summary>
    [Theory]
    [InlineData(VaeEstimator.Rebar)]
    [InlineData(VaeEstimator.Relax)]
    public void Relax_gradients_sit_at_their_noise_floor(VaeEstimator e)
    {
        var (vae, x, theta) = Tiny(7);
        var exact = VaeGradientBias.Exact(vae, x, theta);
        var row = VaeGradientBias.Analyse(vae, x, 0, theta, exact.Gradient, e, new EstimatorOptions(), exact.Value, groups: 4, drawsPerGroup: 500, new Generator(2));
        Assert.Null(row.ExactCosine);
        Assert.True(row.RelativeBias < 3 * row.NoiseFloor, $"{e}: rel {row.RelativeBias} floor {row.NoiseFloor}");
        // ST on the same model is biased far beyond its own noise floor: the check is sharp.
        var st = VaeGradientBias.Analyse(vae, x, 0, theta, exact.Gradient, VaeEstimator.StraightThrough, new EstimatorOptions(), 0, 4, 500, new Generator(2));
        Assert.True(st.RelativeBias > 3 * st.NoiseFloor, $"ST: rel {st.RelativeBias} floor {st.NoiseFloor}");
    }

    [Fact]
    public void Every_estimator_trains_and_reports_finite_epoch_metrics()
    {
        using var data = SyntheticData(16, 12);
        foreach (var e in VaeEstimators.Every)
        {
            var task = new VaeTask(Small(e), data);
            var before = task.Vae.parameters().Select(p => p.detach().clone()).ToList();
            var result = ExperimentRunner.Run(task, new RunnerOptions(Path.Combine(_dir, task.Name), LogEvery: 1, CheckpointEvery: 0, WriteReport: false));
            Assert.Equal(4, result.Steps);
            var evals = result.Records.Where(r => r.Kind == "eval").ToList();
            Assert.Equal(2, evals.Count);
            foreach (var k in new[] { "train_nelbo", "test_nelbo", "test_bce", "test_kl" })
                Assert.True(double.IsFinite(result.FinalEval[k]), $"{e}: {k}");
            // train_nelbo is the mean of the epoch's step losses (equal batches).
            var losses = result.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]).ToList();
            Assert.Equal((losses[2] + losses[3]) / 2, result.FinalEval["train_nelbo"], 4);
            Assert.Equal((losses[0] + losses[1]) / 2, evals[0].Metrics["train_nelbo"], 4);
            var after = task.Vae.parameters().ToList();
            Assert.All(after, p => Assert.True(torch.isfinite(p).all().item<bool>()));
            Assert.True(before.Zip(after).Any(t => !(t.First == t.Second).all().item<bool>()), $"{e}: nothing moved");
            if (e == VaeEstimator.Vimco) Assert.True(result.FinalTrain.ContainsKey("bound"));
        }
    }

    [Theory]
    [InlineData(VaeEstimator.Reinforce)]
    [InlineData(VaeEstimator.Nvil)]
    public void Resumed_score_function_runs_are_bit_identical(VaeEstimator e)
    {
        using var data = SyntheticData(16, 12);
        var cfg = Small(e) with { Binarization = Binarization.Dynamic };
        var straightTask = new VaeTask(cfg, data);
        var straight = ExperimentRunner.Run(straightTask, new RunnerOptions(Path.Combine(_dir, "a"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false));
        var first = new VaeTask(cfg, data);
        ExperimentRunner.Run(first, new RunnerOptions(Path.Combine(_dir, "b"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false, StopAtStep: 3));
        // The baselines' running statistics are checkpointed through the extra-state hook, not as a buffer of the model.
        Assert.True(File.Exists(Path.Combine(CheckpointStore.Latest(Path.Combine(_dir, "b"))!, "extra.bin")));
        Assert.DoesNotContain(first.Model.state_dict().Keys, k => k.Contains("baseline_state", StringComparison.Ordinal));
        var saved = first.GetExtraState()["baseline"].data<double>().ToArray();
        Assert.Equal(3, saved[2]);   // three updates
        var resumedTask = new VaeTask(cfg, data);
        var resumed = ExperimentRunner.Run(resumedTask, new RunnerOptions(Path.Combine(_dir, "b"), LogEvery: 1, CheckpointEvery: 0, WriteReport: false, Resume: true));
        Assert.Equal(straight.FinalTrain["loss"], resumed.FinalTrain["loss"]);
        Assert.Equal(straight.FinalEval["test_nelbo"], resumed.FinalEval["test_nelbo"]);
        Assert.Equal(straight.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]),
            resumed.Records.Where(r => r.Kind == "train").Select(r => r.Metrics["loss"]));
        Assert.True(straightTask.Model.parameters().Zip(resumedTask.Model.parameters()).All(t => t.First.eq(t.Second).all().item<bool>()), "parameters differ");
        Assert.Equal(straightTask.GetExtraState()["baseline"].data<double>().ToArray(), resumedTask.GetExtraState()["baseline"].data<double>().ToArray());
    }

    [Fact]
    public void Tasks_built_on_parallel_threads_get_their_seeds_initial_weights()
    {
        using var data = SyntheticData(16, 12);
        var reference = new VaeTask(Small(VaeEstimator.StraightThrough) with { Seed = 1 }, data).Vae.parameters().Select(p => p.detach().clone()).ToList();
        var tasks = new VaeTask[6];
        Parallel.For(0, tasks.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 },
            i => tasks[i] = new VaeTask(Small(VaeEstimator.StraightThrough) with { Seed = 1 + i % 2 }, data));
        for (int i = 0; i < tasks.Length; i += 2)
            Assert.True(reference.Zip(tasks[i].Vae.parameters()).All(t => (t.First == t.Second).all().item<bool>()), $"task {i}");
        Assert.False((reference[0] == tasks[1].Vae.parameters().First()).all().item<bool>());
    }

    [Fact]
    public void Bad_configuration_names_the_setting()
    {
        void Throws(string name, Action a) => Assert.Equal(name, Assert.ThrowsAny<ArgumentException>(a).ParamName);
        Throws("Categories", () => new VaeConfig { Categories = 1 }.Validate());
        Throws("Latents", () => new VaeConfig { Latents = 0 }.Validate());
        Throws("Tau", () => new VaeConfig { Tau = 0 }.Validate());
        Throws("VimcoSamples", () => new VaeConfig { VimcoSamples = 1 }.Validate());
        Throws("BaselineDecay", () => new VaeConfig { BaselineDecay = 1 }.Validate());
        Throws("LearningRate", () => new VaeConfig { LearningRate = double.NaN }.Validate());
        Throws("TrainExamples", () => new VaeConfig { TrainExamples = 60_001 }.Validate());
        Throws("TestSamples", () => new VaeConfig { TestSamples = 0 }.Validate());
        Throws("Shape", () => new VaeConfig { Shape = "8by4" });
        Throws("Shape", () => new VaeConfig { Shape = "1x4" });
        Assert.Equal((8, 4), VaeConfig.ParseShape("8x4", "--configs"));
        Assert.Equal((8, 4, "8x4"), (new VaeConfig { Shape = "8X4" }.Categories, new VaeConfig { Shape = "8X4" }.Latents, new VaeConfig { Shape = "8X4" }.Shape));
        var (vae, x, _) = Tiny(1);
        Throws("x", () => vae.EncoderLogits(torch.zeros(2, 783, dtype: ScalarType.Float64)));
        Throws("z", () => vae.Bce(torch.zeros(1, 3, 3, dtype: ScalarType.Float64), x));
        Throws("vae", () => new VaeObjective(new VaeConfig { Categories = 4, Latents = 2 }, new Generator(1)).Loss(vae, x));
    }
}
