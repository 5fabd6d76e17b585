using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.KSubsetVae;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

[Collection(GlobalGenerator.Name)]
public sealed class KSubsetVaeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-ksubset-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A small VAE: 3 blocks of 5 entries, 2-subsets, hidden 16/8, 784 pixels.</summary>
    private static KSubsetVaeConfig Small(KSubsetMethod method = KSubsetMethod.Aimle, FiniteDifference difference = FiniteDifference.Central, int samples = 2) => new()
    {
        Method = method, Difference = difference, Samples = samples, Blocks = 3, Categories = 5, K = 2, Hidden1 = 16, Hidden2 = 8,
        TrainExamples = 40, TestExamples = 20, IntermediateTestExamples = 10, BatchSize = 10, Epochs = 2, Seed = 3,
        AimleInitialBeta = 0.5, Lambda = 10,
    };

    private static ImleLayer Layer(KSubsetVaeConfig c, ImleNoise noise, Generator? g = null) => new(new TensorTopKSolver(c.K), new ImleOptions
    {
        Noise = noise, Samples = c.Samples, Difference = c.Difference,
        Target = c.Method == KSubsetMethod.Aimle ? new AdaptiveImleTarget(c.AimleTargetNonZeros, c.AimleStep, c.AimleInitialBeta) : ImleTargetDistribution.Fixed(c.Lambda),
    }, g);

    [Fact]
    public void Forward_gives_exactly_k_ones_per_block_for_every_sample()
    {
        var c = Small(samples: 3);
        torch.manual_seed(1);
        var model = new KSubsetVaeModel(c);
        var x = torch.rand(new long[] { 4, 784 }, generator: new Generator(2));
        var o = model.Forward(x, Layer(c, ImleNoise.SumOfGamma(c.K), new Generator(3)));
        Assert.Equal(new long[] { 12, 15 }, o.Code.shape);
        Assert.Equal(new long[] { 12, 784 }, o.Reconstruction.shape);
        Assert.Equal(new long[] { 4, 15 }, o.Logits.shape);
        var blocks = o.Code.view(12, 3, 5);
        Assert.True(((blocks == 0) | (blocks == 1)).all().item<bool>());
        Assert.True((blocks.sum(dim: 2) == c.K).all().item<bool>());
    }

    [Fact]
    public void Without_noise_code_row_b_times_S_plus_s_holds_the_top_k_of_each_block_of_example_b()
    {
        var c = Small(samples: 2);
        torch.manual_seed(4);
        var model = new KSubsetVaeModel(c);
        var x = torch.rand(new long[] { 3, 784 }, generator: new Generator(5));
        var o = model.Forward(x, Layer(c, ImleNoise.None));
        var theta = TorchAssert.ToArray(o.Logits);
        var code = TorchAssert.ToArray(o.Code);
        for (int b = 0; b < 3; b++)
            for (int s = 0; s < 2; s++)
                for (int m = 0; m < 3; m++)
                {
                    var block = Enumerable.Range(0, 5).Select(n => theta[b * 15 + m * 5 + n]).ToArray();
                    var top = Enumerable.Range(0, 5).OrderByDescending(n => block[n]).ThenBy(n => n).Take(2).ToHashSet();
                    for (int n = 0; n < 5; n++)
                        Assert.Equal(top.Contains(n) ? 1.0 : 0.0, code[(b * 2 + s) * 15 + m * 5 + n]);
                }
    }

    [Fact]
    public void Kl_matches_the_hand_value_and_is_zero_at_uniform_logits()
    {
        // One example, 2 blocks of 2: block 0 softmax (1/4, 3/4), block 1 uniform.
        var logits = torch.tensor(new[] { 0.0, Math.Log(3), 5.0, 5.0 }, dtype: ScalarType.Float64).view(1, 4);
        double expected = 0.25 * Math.Log(0.25 * 2) + 0.75 * Math.Log(0.75 * 2);
        Assert.Equal(expected, KSubsetVaeLoss.Kl(logits, 2, 2).item<double>(), 12);
        Assert.Equal(0.0, KSubsetVaeLoss.Kl(torch.zeros(new long[] { 3, 20 }, dtype: ScalarType.Float64), 4, 5).abs().max().item<double>(), 14);
    }

    [Fact]
    public void Subset_kl_is_the_enumerated_kl_of_each_blocks_k_subset_distribution_to_uniform()
    {
        // Two examples, 2 blocks of 5 entries, 2-subsets: sum over blocks of sum_z q(z) log(q(z) C(5, 2)), the ten states enumerated.
        var logits = torch.randn(new long[] { 2, 10 }, dtype: ScalarType.Float64, generator: new Generator(21)) * 2;
        var states = Enumerable.Range(0, 32).Where(m => System.Numerics.BitOperations.PopCount((uint)m) == 2)
            .Select(m => Enumerable.Range(0, 5).Select(i => (double)((m >> i) & 1)).ToArray()).ToArray();
        var theta = TorchAssert.ToArray(logits);
        for (int b = 0; b < 2; b++)
        {
            double expected = 0;
            for (int m = 0; m < 2; m++)
            {
                var w = states.Select(z => Math.Exp(Enumerable.Range(0, 5).Sum(i => z[i] * theta[b * 10 + m * 5 + i]))).ToArray();
                double sum = w.Sum();
                expected += w.Sum(x => x / sum * Math.Log(x / sum * 10));
            }
            Assert.Equal(expected, KSubsetVaeLoss.SubsetKl(logits, 2, 5, 2)[b].item<double>(), 10);
        }
        Assert.Equal(0.0, KSubsetVaeLoss.SubsetKl(torch.zeros(new long[] { 3, 10 }, dtype: ScalarType.Float64), 2, 5, 2).abs().max().item<double>(), 12);
        var terms = KSubsetVaeLoss.Compute(logits, torch.zeros(new long[] { 2, 3 }, dtype: ScalarType.Float64),
            torch.zeros(new long[] { 2, 3 }, dtype: ScalarType.Float64), 2, 5, KSubsetKl.KSubset, 2);
        TorchAssert.Close(TorchAssert.ToArray(KSubsetVaeLoss.SubsetKl(logits, 2, 5, 2)), terms.Kl, 0, "the loss's KL");
    }

    [Fact]
    public void Training_loss_sums_the_samples_reconstruction_terms_and_averages_over_examples()
    {
        // Zero pixel logits: every pixel's BCE is log 2 whatever the target, so BCE(b, s) = D log 2 exactly.
        int d = 6, s = 3;
        var x = torch.rand(new long[] { 2, d }, generator: new Generator(6), dtype: ScalarType.Float64);
        var recon = torch.zeros(new long[] { 2 * s, d }, dtype: ScalarType.Float64);
        var logits = torch.tensor(new[] { 0.0, Math.Log(3), 0.0, 0.0 }, dtype: ScalarType.Float64).view(2, 2);
        var terms = KSubsetVaeLoss.Compute(logits, recon, x, 1, 2);
        double kl0 = 0.25 * Math.Log(0.5) + 0.75 * Math.Log(1.5);
        Assert.Equal(new long[] { 2, s }, terms.Bce.shape);
        Assert.Equal(d * Math.Log(2), terms.Bce.max().item<double>(), 12);
        Assert.Equal(d * Math.Log(2), terms.Bce.min().item<double>(), 12);
        Assert.Equal(s * d * Math.Log(2) + kl0 / 2, terms.Training.item<double>(), 12);
        // A reconstruction row b*S + s is scored against image b: a perfect logit for image 1 only in rows 3..5.
        var x01 = torch.tensor(new[] { 0.0, 1.0 }, dtype: ScalarType.Float64).view(2, 1);
        var r = torch.tensor(new[] { 0.0, 0.0, 0.0, 30.0, 30.0, 30.0 }, dtype: ScalarType.Float64).view(6, 1);
        var t = KSubsetVaeLoss.Compute(torch.zeros(new long[] { 2, 2 }, dtype: ScalarType.Float64), r, x01, 1, 2);
        TorchAssert.Close(new[] { Math.Log(2), Math.Log(2), Math.Log(2), 0, 0, 0 }, t.Bce.reshape(-1), 1e-12);
    }

    [Theory]
    [InlineData(KSubsetMethod.Imle, FiniteDifference.Forward, 1)]
    [InlineData(KSubsetMethod.Imle, FiniteDifference.Central, 2)]
    [InlineData(KSubsetMethod.Aimle, FiniteDifference.Forward, 2)]
    [InlineData(KSubsetMethod.Aimle, FiniteDifference.Central, 1)]
    public void One_training_step_gives_the_encoder_a_finite_non_zero_gradient(KSubsetMethod method, FiniteDifference difference, int samples)
    {
        var c = Small(method, difference, samples);
        torch.manual_seed(7);
        var model = new KSubsetVaeModel(c);
        var x = torch.rand(new long[] { 8, 784 }, generator: new Generator(8));
        var o = model.Forward(x, Layer(c, ImleNoise.SumOfGamma(c.K), new Generator(9)));
        // Only the reconstruction term: the encoder's gradient then comes through the I-MLE layer alone.
        var bce = KSubsetVaeLoss.Compute(o.Logits, o.Reconstruction, x, c.Blocks, c.Categories).Bce.sum(dim: 1).mean();
        bce.backward();
        var last = model.named_parameters().Single(p => p.name == "encoder.enc3.weight").parameter.grad!;
        var first = model.named_parameters().Single(p => p.name == "encoder.enc1.weight").parameter.grad!;
        foreach (var gr in new[] { last, first })
        {
            TorchAssert.AllFinite(gr, "encoder gradient");
            Assert.True(gr.abs().max().item<float>() > 0, "the encoder's gradient is zero");
        }
    }

    [Fact]
    public void Simple_code_layer_gives_exact_k_subsets_per_block_and_the_encoder_the_gradient_of_the_marginals()
    {
        var c = Small(KSubsetMethod.Simple, samples: 3);
        torch.manual_seed(10);
        var layer = new SimpleKSubsetLayer(c.K, c.Samples, generator: new Generator(11));
        var model = new KSubsetVaeModel(c, 784, layer);
        Assert.Same(layer, model.Layer);
        var x = torch.rand(new long[] { 4, 784 }, generator: new Generator(12));
        var o = model.Forward(x);
        Assert.Equal(new long[] { 12, 15 }, o.Code.shape);
        var blocks = o.Code.view(12, 3, 5);
        Assert.True(((blocks == 0) | (blocks == 1)).all().item<bool>());
        Assert.True((blocks.sum(dim: 2) == c.K).all().item<bool>());
        // The code's gradient reaches the logits as the mean over samples of Cov(z) dL/dz per block: the gradient of
        // <mu(theta), mean_s dL/dz_s> with the exact marginals mu, block by block.
        var up = torch.randn(new long[] { 12, 15 }, generator: new Generator(13));
        var g = torch.autograd.grad(new[] { (o.Code * up).sum() }, new[] { o.Logits })[0];
        var perBlock = up.view(4, 3, 3, 5).mean(new long[] { 1 });          // [B, M, N]: mean over the S samples of (b, s) rows
        var theta = o.Logits.detach().view(12, 5).requires_grad_(true);
        (KSubsetDistribution.Marginals(theta, c.K) * perBlock.reshape(12, 5)).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(theta.grad!), g.reshape(12, 5), 1e-5, "encoder-side gradient");
        Assert.Throws<ArgumentException>(() => new KSubsetVaeModel(c, 784, new SimpleKSubsetLayer(c.K, 2, SampleLayout.Mean)));
    }

    [Fact]
    public void A_simple_task_trains_evaluates_and_resumes_like_an_uninterrupted_run()
    {
        var c = Small(KSubsetMethod.Simple);
        using var data = new KSubsetVaeData(Dataset(), c, CPU);
        var task = new KSubsetVaeTask(c, data);
        Assert.IsType<SimpleKSubsetLayer>(task.Layer);
        Assert.Equal("SIMPLE, S = 2", task.Configuration["estimator"]);
        var full = ExperimentRunner.Run(task, new RunnerOptions(Path.Combine(_dir, "simple"), LogEvery: 1, WriteReport: false));
        Assert.False(full.FinalTrain.ContainsKey("lambda"));
        Assert.True(double.IsFinite(full.FinalEval["test_loss"]));
        string dir = Path.Combine(_dir, "simple-split");
        ExperimentRunner.Run(new KSubsetVaeTask(c, data), new RunnerOptions(dir, LogEvery: 1, WriteReport: false, StopAtStep: 5));
        var resumed = ExperimentRunner.Run(new KSubsetVaeTask(c, data), new RunnerOptions(dir, LogEvery: 1, WriteReport: false, Resume: true));
        Assert.Equal(full.FinalTrain["loss"], resumed.FinalTrain["loss"]);
        Assert.Equal(full.FinalEval["test_loss"], resumed.FinalEval["test_loss"]);
    }

    [Fact]
    public void Config_validation_names_the_option_and_for_k_above_categories_the_property()
    {
        void Bad(KSubsetVaeConfig c, string name) => Assert.Equal(name, Assert.ThrowsAny<ArgumentException>(c.Validate).ParamName);
        var ok = Small();
        ok.Validate();
        Bad(ok with { Samples = 0 }, "--samples");
        Bad(ok with { K = 6 }, nameof(KSubsetVaeConfig.K));
        Bad(ok with { K = 0 }, "--k");
        Bad(ok with { Blocks = 0 }, "--blocks");
        Bad(ok with { Categories = 1 }, "--categories");
        Bad(ok with { Lambda = 0 }, "--lambda");
        Bad(ok with { LearningRate = double.NaN }, "--lr");
        Bad(ok with { NoiseTemperature = -1 }, "--temperature");
        Bad(ok with { AimleStep = 0 }, "--aimle-step");
        Bad(ok with { Epochs = 0 }, "--epochs");
        Bad(ok with { Method = (KSubsetMethod)5 }, "--methods");
        Assert.Equal(("simple-s2", "SIMPLE, S = 2"), (Small(KSubsetMethod.Simple).Label, Small(KSubsetMethod.Simple).Display));
        // More intermediate test images than test images: the evaluation uses them all (as the old command clamped).
        (ok with { IntermediateTestExamples = 21 }).Validate();
    }

    private static MnistDataset Dataset()
    {
        var rng = new Random(1);
        LabeledImages Images(int count)
        {
            var pixels = new byte[count * 784];
            rng.NextBytes(pixels);
            return new LabeledImages(new IdxImages(pixels, count, 28, 28), new byte[count]);
        }
        var loc = new MnistLocation("/synthetic", MnistLocationSource.Option);
        return new MnistDataset(Images(60), Images(30), new MnistFiles(loc, "a", "b", "c", "d"));
    }

    [Fact]
    public void Runner_evaluates_each_epoch_and_a_resumed_AIMLE_run_equals_an_uninterrupted_one()
    {
        var c = Small() with { EvalsPerEpoch = 2 };
        using var data = new KSubsetVaeData(Dataset(), c, CPU);
        var full = ExperimentRunner.Run(new KSubsetVaeTask(c, data), new RunnerOptions(Path.Combine(_dir, "full"), LogEvery: 1, WriteReport: false));
        var evals = full.Records.Where(r => r.Kind == "eval").ToList();
        Assert.Equal(new[] { 0.5, 1.0, 1.5, 2.0 }, evals.Select(e => e.Metrics["epoch"]));
        Assert.Equal(new[] { 10.0, 20, 10, 20 }, evals.Select(e => e.Metrics["test_images"]));
        foreach (var e in evals)
        {
            Assert.True(double.IsFinite(e.Metrics["test_loss"]));
            Assert.Equal(e.Metrics["test_bce"] + e.Metrics["test_kl"], e.Metrics["test_loss"], 9);
            Assert.Equal(e.Metrics["test_bce"] + e.Metrics["test_kl"] / c.Samples, e.Metrics["test_loss_reference"], 9);
        }
        Assert.True(full.FinalTrain["beta"] != c.AimleInitialBeta, "beta never moved");

        string dir = Path.Combine(_dir, "split");
        ExperimentRunner.Run(new KSubsetVaeTask(c, data), new RunnerOptions(dir, LogEvery: 1, WriteReport: false, StopAtStep: 5));
        var resumedTask = new KSubsetVaeTask(c, data);
        var resumed = ExperimentRunner.Run(resumedTask, new RunnerOptions(dir, LogEvery: 1, WriteReport: false, Resume: true));
        Assert.Equal(full.FinalTrain["beta"], resumed.FinalTrain["beta"]);
        Assert.Equal(full.FinalTrain["loss"], resumed.FinalTrain["loss"]);
        Assert.Equal(full.FinalEval["test_loss"], resumed.FinalEval["test_loss"]);
    }
}
