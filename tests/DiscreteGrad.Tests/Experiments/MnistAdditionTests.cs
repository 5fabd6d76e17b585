using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Experiments.MnistAddition;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Experiments;

public sealed class MnistAdditionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-mnadd-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static MnistDataset Dataset() => SyntheticMnist.Dataset();

    private static MnistAdditionConfig Small(AdditionScheme scheme) => new()
    {
        Scheme = scheme, TrainPairs = 96, TestPairs = 50, Epochs = 3, BatchSize = 16, UpdatesPerEpoch = 4, LearningRate = 1e-3, Seed = 4,
    };

    [Fact]
    public void Hungarian_assignment_finds_the_best_permutation()
    {
        var rng = new Random(5);
        for (int trial = 0; trial < 30; trial++)
        {
            var w = new double[5, 5];
            for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) w[i, j] = rng.Next(100);
            var a = Assignment.Maximise(w);
            Assert.Equal(5, a.Distinct().Count());
            double got = Enumerable.Range(0, 5).Sum(i => w[i, a[i]]);
            double best = Permutations(Enumerable.Range(0, 5).ToArray()).Max(p => Enumerable.Range(0, 5).Sum(i => w[i, p[i]]));
            Assert.Equal(best, got);
        }
    }

    private static IEnumerable<int[]> Permutations(int[] items) => items.Length <= 1
        ? new[] { items }
        : items.SelectMany(x => Permutations(items.Where(y => y != x).ToArray()).Select(p => new[] { x }.Concat(p).ToArray()));

    [Fact]
    public void Tuples_are_drawn_without_replacement_when_they_fit_and_sums_are_the_digit_sums()
    {
        var t = AdditionPairs.Draw(60, 30, 2, new Generator(1));
        Assert.Equal(new long[] { 30, 2 }, t.shape);
        Assert.Equal(60, t.reshape(-1).unique().Item1.shape[0]);
        var r = AdditionPairs.Draw(10, 30, 3, new Generator(1));
        Assert.True((r >= 0).all().item<bool>() && (r < 10).all().item<bool>());
        using var pairs = new AdditionPairs(Dataset(), Small(AdditionScheme.Base), CPU);
        var (images, digits, sums) = AdditionPairs.Gather(pairs.TrainImages, pairs.TrainLabels, pairs.TrainIndex.narrow(0, 0, 8));
        Assert.Equal(new long[] { 8, 2, 1, 28, 28 }, images.shape);
        Assert.True((sums == digits.sum(1)).all().item<bool>());
        Assert.True((digits == pairs.TrainLabels.index_select(0, pairs.TrainIndex.narrow(0, 0, 8).reshape(-1)).view(8, 2)).all().item<bool>());
    }

    [Fact]
    public void Schedules_advance_the_configured_number_of_times_per_epoch_and_reach_the_model()
    {
        using var pairs = new AdditionPairs(Dataset(), Small(AdditionScheme.TempMatchDropRes), CPU);
        var task = new MnistAdditionTask(Small(AdditionScheme.TempMatchDropRes), pairs);
        long spe = task.StepsPerEpoch;                 // 96 / 16 = 6 steps, 4 updates per epoch
        Assert.Equal(6, spe);
        for (long s = 0; s < task.TotalSteps; s++) Assert.InRange(task.UpdatesAt(s + 1) - task.UpdatesAt(s), 0, 1);
        Assert.Equal(4, task.UpdatesAt(spe));
        Assert.Equal(12, task.UpdatesAt(3 * spe));
        Assert.Equal(new long[] { 6, 12, 18 }, Enumerable.Range(1, 18).Where(s => task.Cadence.ShouldEvaluate(s, task.TotalSteps)).Select(s => (long)s));
        var model = (MnistAdditionModel)task.Model;
        Assert.Equal(0, model.Digit.Node.Beta);     // TempMatch starts without noise
        Assert.Equal(0, model.Digit.Alpha);         // and DropRes with the residual always on
        for (long s = 0; s < spe; s++) task.TrainStep(s);
        Assert.Equal(8 * (1 - Math.Exp(-0.008 * 4)), model.Digit.Node.Beta, 12);
        Assert.Equal(4.0 / 500, model.Digit.Alpha, 12);
        Assert.Equal(8, model.Digit.Node.Tau);
    }

    [Fact]
    public void TauAnn_lowers_tau_and_base_keeps_everything_constant()
    {
        using var pairs = new AdditionPairs(Dataset(), Small(AdditionScheme.TauAnn), CPU);
        var ann = new MnistAdditionTask(Small(AdditionScheme.TauAnn), pairs);
        var b = new MnistAdditionTask(Small(AdditionScheme.Base), pairs);
        for (long s = 0; s < 6; s++) { ann.TrainStep(s); b.TrainStep(s); }
        var ma = (MnistAdditionModel)ann.Model;
        var mb = (MnistAdditionModel)b.Model;
        Assert.Equal(8 * Math.Exp(-0.008 * 4), ma.Digit.Node.Tau, 12);
        Assert.Equal(1, ma.Digit.Node.Beta);
        Assert.Equal((8.0, 1.0, 1.0), (mb.Digit.Node.Tau, mb.Digit.Node.Beta, mb.Digit.Alpha));
        Assert.Equal(DropResMode.None, mb.Digit.DropRes);
    }

    [Fact]
    public void A_resumed_run_matches_a_straight_run_bit_for_bit()
    {
        var cfg = Small(AdditionScheme.TempMatchDropRes);
        using var pairs = new AdditionPairs(Dataset(), cfg, CPU);
        var straight = new MnistAdditionTask(cfg, pairs);
        var r1 = ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(_dir, "a"), LogEvery: 3, CheckpointEvery: 0, WriteReport: false));
        string b = Path.Combine(_dir, "b");
        ExperimentRunner.Run(new MnistAdditionTask(cfg, pairs), new RunnerOptions(b, LogEvery: 3, CheckpointEvery: 0, WriteReport: false, StopAtStep: 8));
        var resumed = new MnistAdditionTask(cfg, pairs);
        var r2 = ExperimentRunner.Run(resumed, new RunnerOptions(b, LogEvery: 3, CheckpointEvery: 0, Resume: true, WriteReport: false));
        Assert.Equal(8, r2.StartStep);
        var p1 = straight.Model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        var p2 = resumed.Model.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        Assert.Equal(p1, p2);
        Assert.Equal(r1.FinalEval["test_accuracy"], r2.FinalEval["test_accuracy"]);
        Assert.InRange(r1.FinalEval["digit_accuracy"], 0.0, 1.0);
        Assert.InRange(r1.FinalEval["categories_used"], 1, 19);
    }

    [Fact]
    public void Reference_architecture_ties_one_centroid_matrix_for_logits_embedding_and_output()
    {
        var cfg = Small(AdditionScheme.TempMatchDropRes);
        var model = new MnistAdditionModel(cfg, new Generator(1));
        Assert.Equal(19, model.Categories);
        // LeNet 156 + 2416, fc1 30840, fc2 10164, fc3 7140, C 19 x 84 = 1596 (counted once), ADD 28392 + 14196.
        Assert.Equal(94_900L, model.parameters().Sum(p => p.numel()));
        var c = model.parameters().Single(p => p.shape.SequenceEqual(new long[] { 19, 84 }));
        using var scope = NewDisposeScope();
        model.eval();
        var images = rand(new long[] { 3, 2, 1, 28, 28 }, generator: new Generator(2));
        var (logits, cats) = model.Forward(images);
        Assert.Equal(new long[] { 3, 19 }, logits.shape);
        Assert.True((cats >= 0).all().item<bool>() && (cats < 19).all().item<bool>());
        // C receives gradient from the output layer even with the node's path cut (eval, hard sample).
        logits[0, 5].backward();
        Assert.True(c.grad!.abs().sum().item<float>() > 0);

        var separate = new MnistAdditionModel(cfg with { Architecture = AdditionArchitecture.Separate }, new Generator(1));
        Assert.Equal(10, separate.Categories);
    }

    [Fact]
    public void Relaxed_evaluation_is_deterministic_and_leaves_the_training_state_as_it_was()
    {
        var cfg = Small(AdditionScheme.TempMatchDropRes) with { Evaluation = AdditionEvaluation.Relaxed };
        using var pairs = new AdditionPairs(Dataset(), cfg, CPU);
        var task = new MnistAdditionTask(cfg, pairs);
        for (long s = 0; s < 6; s++) task.TrainStep(s);
        var model = (MnistAdditionModel)task.Model;
        var before = (model.Digit.Node.Beta, model.Digit.Alpha, model.training);
        IReadOnlyDictionary<string, double> a, b;
        using (no_grad()) { a = task.Evaluate(6); b = task.Evaluate(6); }
        Assert.Equal(a["test_accuracy"], b["test_accuracy"]);
        Assert.Equal(before, (model.Digit.Node.Beta, model.Digit.Alpha, model.training));
        var hard = new MnistAdditionTask(cfg with { Evaluation = AdditionEvaluation.Sample }, pairs);
        Assert.Equal("Relaxed", task.Configuration["eval"]);
        Assert.Equal("Sample", hard.Configuration["eval"]);
    }

    [Fact]
    public void Bad_configuration_is_named_by_its_option_and_a_cross_setting_check_by_its_property()
    {
        Assert.Equal("--digits", Assert.ThrowsAny<ArgumentException>(() => new MnistAdditionConfig { Digits = 1 }.Validate()).ParamName);
        Assert.Equal("TauFloor", Assert.ThrowsAny<ArgumentException>(() => new MnistAdditionConfig { TauFloor = 9 }.Validate()).ParamName);
        var names = new AdditionSchemeNames();
        Assert.False(names.TryParse("nope", out _));
        Assert.True(names.TryParse("TempMatch-DropRes", out var scheme));
        Assert.Equal(AdditionScheme.TempMatchDropRes, scheme);
        Assert.Equal(new[] { "base", "tauann", "tempmatch", "dropres", "tempmatch-dropres" }, names.Allowed);
        Assert.All(Enum.GetValues<AdditionScheme>(), s => Assert.True(names.TryParse(names.Format(s), out var back) && (AdditionScheme)back == s));
    }

    [Fact]
    public void The_tau_floor_follows_tau_unless_given()
    {
        Assert.Equal(1.0, new MnistAdditionConfig().EffectiveTauFloor);
        Assert.Equal(0.5, new MnistAdditionConfig { Tau = 0.5 }.EffectiveTauFloor);
        Assert.Equal(0.25, new MnistAdditionConfig { Tau = 0.5, TauFloor = 0.25 }.EffectiveTauFloor);
        // tau halves per schedule update (4 per epoch): without a floor it would be 0.5 / 2^4 after one epoch.
        var cfg = Small(AdditionScheme.TauAnn) with { Tau = 0.5, TauAnnealRate = 0.5 };
        using var pairs = new AdditionPairs(Dataset(), cfg, CPU);
        var follows = new MnistAdditionTask(cfg, pairs);
        var given = new MnistAdditionTask(cfg with { TauFloor = 0.25 }, pairs);
        for (long s = 0; s < 6; s++) { follows.TrainStep(s); given.TrainStep(s); }
        Assert.Equal(0.5, ((MnistAdditionModel)follows.Model).Digit.Node.Tau);
        Assert.Equal(0.25, ((MnistAdditionModel)given.Model).Digit.Node.Tau);
    }
}
