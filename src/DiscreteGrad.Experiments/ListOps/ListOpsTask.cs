using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// One DCCG ListOps run for the <see cref="ExperimentRunner"/> (David Friede and Mathias Niepert, "Efficient Learning of
/// Discrete-Continuous Computation Graphs", NeurIPS 2021; the reference's run_listops.py).
/// <para>Training: <see cref="DccgListOpsModel"/>, Adam, batches of equal-length expressions (<see cref="LengthBucketBatches"/>,
/// the order a function of (seed, epoch)), loss sum_b CE(logits_b, y_b). Schedules: tau constant; beta constant 1, or
/// TEMPMATCH beta_t = tau (1 - e^(-gamma t)); alpha constant 1 (no residual), or DROPRES alpha_t = min(1, t x step); t
/// counts schedule updates, <see cref="ListOpsConfig.UpdatesPerEpoch"/> per epoch at the batches floor(k S / U), k = 0..U-1,
/// of an epoch of S batches, each applied before its batch (so the first batch already trains with t = 1, as the
/// reference's <c>if batch_idx % (len(loader) // 10) == 0</c> update at the top of its loop).</para>
/// <para>Evaluation (the model's eval(): hard samples D ~ Cat(softmax(theta)) from a separate generator, no residual,
/// i.e. alpha = 1 and beta = 1): dev and test accuracy, test accuracy per depth 1-5, parent-edge recall and
/// intermediate-value accuracy on test (<see cref="ListOpsMetrics"/>), and accuracy on the depth-8 and depth-10
/// extrapolation sets with 8 and 10 rounds (the same weights, <see cref="DccgListOpsModel.Rounds"/> set for the pass); then
/// the Figure 6 probe (<see cref="ListOpsGradientProbe"/>) on the first <see cref="ListOpsConfig.ProbeExamples"/> training
/// expressions, logged as grad_round1 .. grad_roundR; after the last step, the <c>--test-file</c> scores (file_*).</para>
/// <para>Checkpoints hold the model, Adam, the three schedules and two generators: the model's draws and the global one
/// (message dropout), so a resumed run is bit-identical on the CPU. Evaluation and the probe draw from generators of their
/// own and leave both untouched.</para>
/// </summary>
public sealed class ListOpsTask : ITrainingTask, IDisposable
{
    private readonly ListOpsConfig _config;
    private readonly IReadOnlyList<ListOpsExample> _train, _dev, _test;
    private readonly IReadOnlyList<(int Depth, IReadOnlyList<ListOpsExample> Examples)> _extrapolation;
    private readonly IReadOnlyList<ListOpsExample>? _testFile;
    private readonly DccgListOpsModel _model;
    private readonly Generator _noise;
    private readonly Schedule _tau, _beta, _alpha;
    private readonly LengthBucketBatches _batches;
    private readonly ListOpsBatch? _probe;
    private readonly Device _device;

    /// <summary>Builds the model and optimiser on <paramref name="device"/> over the given data.</summary>
    /// <param name="config">The run.</param>
    /// <param name="data">Generated splits; the first <see cref="ListOpsConfig.TrainExamples"/> (and so on) are used.</param>
    /// <param name="device">Where the model and batches live (null: the CPU).</param>
    /// <param name="testFile">Expressions of <c>--test-file</c>, scored after the last step (null: none).</param>
    public ListOpsTask(ListOpsConfig config, ListOpsSplits data, Device? device = null, IReadOnlyList<ListOpsExample>? testFile = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        config.Validate();
        _config = config;
        _device = device ?? CPU;
        _train = Take(data.Train, config.TrainExamples, "training");
        _dev = Take(data.Dev, config.DevExamples, "dev");
        _test = Take(data.Test, config.TestExamples, "test");
        _extrapolation = config.ExtrapolationExamples == 0
            ? Array.Empty<(int, IReadOnlyList<ListOpsExample>)>()
            : ListOpsConfig.ExtrapolationDepths.Select(d => (d, Take(data.Extrapolation.TryGetValue(d, out var xs) ? xs : Array.Empty<ListOpsExample>(),
                config.ExtrapolationExamples, $"depth-{d} extrapolation"))).ToList();
        _testFile = testFile;
        _noise = new Generator((ulong)config.Seed, _device);
        _model = SeededInitialisation.Build(config.Seed, () => new DccgListOpsModel(config.ModelOptions, _noise));
        _model.to(_device);
        Optimizer = optim.Adam(_model.parameters(), config.LearningRate);
        _tau = new ConstantSchedule(config.Tau);
        _beta = config.Scheme.UsesTempMatch() ? new TempMatchSchedule(config.Tau, config.Gamma) : new ConstantSchedule(1);
        _alpha = config.Scheme.UsesDropRes() ? new LinearSchedule(0, 1, config.AlphaIncrement) : new ConstantSchedule(1);
        _batches = new LengthBucketBatches(_train.Select(e => e.Length).ToList(), config.BatchSize, config.Seed, config.BucketWidth);
        TotalSteps = _batches.StepsPerEpoch * config.Epochs;
        if (config.ProbeExamples > 0)
            _probe = ListOpsBatch.Create(_train.Take(config.ProbeExamples).ToList(), _device, _model.Options.PaddingId);
        ApplySchedules();
    }

    /// <inheritdoc />
    public string Name => $"listops-{ListOpsSchemes.Name(_config.Scheme)}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch (batches of the length buckets).</summary>
    public long StepsPerEpoch => _batches.StepsPerEpoch;
    /// <summary>The batch order.</summary>
    public LengthBucketBatches Batches => _batches;
    /// <summary>The network.</summary>
    public DccgListOpsModel Network => _model;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => new[] { _tau, _beta, _alpha };
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise, Generator.Default };
    /// <inheritdoc />
    public EvaluationCadence Cadence => new(StepsPerEpoch, _config.EvalsPerEpoch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["scheme"] = ListOpsSchemes.Display(_config.Scheme),
        ["network"] = $"DCCG ListOps ({(_config.Scheme.IsDiscrete() ? "discrete" : "continuous")}), d {I(_config.Dim)}, {I(_config.Rounds)} rounds",
        ["data"] = $"DCCG recipe, data seed {I(_config.DataSeed)}: {I(_train.Count)} train, {I(_dev.Count)} dev, {I(_test.Count)} test, " +
                   $"{string.Join(", ", _extrapolation.Select(x => $"{I(x.Examples.Count)} depth-{I(x.Depth)}"))}",
        ["epochs"] = I(_config.Epochs),
        ["steps per epoch"] = I(StepsPerEpoch),
        ["batch"] = $"{I(_config.BatchSize)} (length buckets of width {I(_config.BucketWidth)})",
        ["optimiser"] = $"Adam lr {I(_config.LearningRate)}, summed cross-entropy",
        ["tau schedule"] = _tau.Name,
        ["beta schedule"] = _beta.Name,
        ["alpha schedule"] = _alpha.Name,
        ["schedule updates per epoch"] = I(_config.UpdatesPerEpoch),
        ["probe"] = _probe is null ? "none" : $"first {I(_probe.Count)} training expressions",
        ["seed"] = I(_config.Seed),
        ["device"] = DeviceNames.Of(_device),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <summary>
    /// Schedule updates applied up to and including step <paramref name="step"/> (0 before step 0): U per finished epoch
    /// plus, within the epoch at position p of S batches, the k in [0, U) with floor(k S / U) &lt;= p, i.e.
    /// min(U, ceil((p + 1) U / S)).
    /// </summary>
    public long UpdatesThrough(long step)
    {
        if (step < 0) return 0;
        long s = StepsPerEpoch, u = _config.UpdatesPerEpoch, p = step % s;
        return step / s * u + Math.Min(u, ((p + 1) * u + s - 1) / s);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        for (long k = UpdatesThrough(step - 1); k < UpdatesThrough(step); k++)
        {
            _tau.Advance();
            _beta.Advance();
            _alpha.Advance();
        }
        ApplySchedules();
        var idx = _batches.Indices(step);
        using var batch = ListOpsBatch.Create(idx.Select(i => _train[i]).ToList(), _device, _model.Options.PaddingId);
        Optimizer.zero_grad();
        var output = _model.Forward(batch.Tokens, batch.Mask);
        var loss = nn.functional.cross_entropy(output.Logits, batch.Targets, reduction: nn.Reduction.Sum);
        loss.backward();
        Optimizer.step();
        double sum = loss.item<float>();
        return new Dictionary<string, double>
        {
            ["loss"] = sum,
            ["loss_per_expression"] = sum / batch.Count,
            ["accuracy"] = ListOpsMetrics.Accuracy(output.Logits, batch.Targets).Rate,
            ["length"] = batch.Tokens.shape[1],
            ["tau"] = _model.Tau,
            ["beta"] = _model.Beta,
            ["alpha"] = _model.Alpha,
        };
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var metrics = new Dictionary<string, double> { ["epoch"] = (double)stepsDone / StepsPerEpoch };
        var trainGenerator = _model.Generator;
        bool wasTraining = _model.training;
        using var evalGenerator = new Generator((ulong)(_config.Seed * 31L + 5), _device);
        _model.eval();
        _model.Generator = evalGenerator;     // evaluation draws never touch the training stream
        try
        {
            metrics["dev_accuracy"] = Score(_dev).Accuracy;
            var test = Score(_test);
            metrics["test_accuracy"] = test.Accuracy;
            for (int depth = 1; depth <= 5; depth++)
                if (test.ByDepth.TryGetValue(depth, out var t)) metrics[$"test_depth{depth}"] = t.Rate;
            Put(metrics, "test_parent_recall", test.Parents.Rate);
            Put(metrics, "test_intermediate_accuracy", test.Intermediate.Rate);
            foreach (var (depth, examples) in _extrapolation)
            {
                _model.Rounds = depth;
                try
                {
                    metrics[$"extrapolation{depth}_accuracy"] = Score(examples).Accuracy;
                }
                finally
                {
                    _model.Rounds = _config.Rounds;
                }
            }
            if (_testFile is not null && stepsDone == TotalSteps)
            {
                var file = Score(_testFile);
                metrics["file_accuracy"] = file.Accuracy;
                Put(metrics, "file_parent_recall", file.Parents.Rate);
                Put(metrics, "file_intermediate_accuracy", file.Intermediate.Rate);
                metrics["file_expressions"] = _testFile.Count;
            }
        }
        finally
        {
            _model.Generator = trainGenerator;
            _model.train(wasTraining);
        }
        if (_probe is not null)
        {
            var g = ListOpsGradientProbe.RoundGradients(_model, _probe, _config.Seed * 31L + 7);
            for (int r = 1; r < g.Length; r++) metrics[$"grad_round{r}"] = g[r];
        }
        _model.train(wasTraining);
        return metrics;
    }

    /// <summary>Accuracy, accuracy per depth, parent recall and intermediate accuracy of the model as it is (its mode and rounds).</summary>
    public ListOpsScore Score(IReadOnlyList<ListOpsExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var correct = new bool[examples.Count];
        Tally parents = default, intermediate = default;
        int d = _config.Dim;
        foreach (var idx in LengthBucketBatches.ByLength(examples.Select(e => e.Length).ToList(), l => EvaluationBatch(l, d)))
        {
            using var scope = torch.NewDisposeScope();
            using var batch = ListOpsBatch.Create(idx.Select(i => examples[i]).ToList(), _device, _model.Options.PaddingId);
            var o = _model.Forward(batch.Tokens, batch.Mask);
            var hit = (o.Logits.argmax(-1) == batch.Targets).cpu().data<bool>().ToArray();
            for (int k = 0; k < idx.Length; k++) correct[idx[k]] = hit[k];
            parents += ListOpsMetrics.ParentRecall(o.Parents, batch.Parents, batch.Tokens, batch.Mask);
            intermediate += ListOpsMetrics.IntermediateAccuracy(o.TokenLogits, batch.Values, batch.OperatorMask);
        }
        return new ListOpsScore(examples, correct, parents, intermediate);
    }

    /// <summary>Expressions per evaluation batch of length l: B l^2 d at most 8 M (the dense messages' block), in [16, 1000].</summary>
    public static int EvaluationBatch(int length, int dim) => (int)Math.Clamp(8_000_000L / ((long)length * length * dim), 16, 1000);

    /// <inheritdoc />
    public void OnRestored(long stepsDone) => ApplySchedules();

    /// <summary>Disposes the probe batch.</summary>
    public void Dispose() => _probe?.Dispose();

    private void ApplySchedules()
    {
        _model.Tau = _tau.Value;
        _model.Beta = _beta.Value;
        _model.Alpha = _alpha.Value;
    }

    // A rate of no cases (no operator below the root, say) is NaN, which a metrics record cannot hold: it is left out.
    private static void Put(Dictionary<string, double> metrics, string key, double value)
    {
        if (double.IsFinite(value)) metrics[key] = value;
    }

    private static IReadOnlyList<ListOpsExample> Take(IReadOnlyList<ListOpsExample> xs, int count, string what)
    {
        if (xs.Count < count) throw new ArgumentException($"the data has {xs.Count} {what} expressions; {count} were asked for.");
        return xs.Take(count).ToList();
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What scoring a model on a list of expressions gave.</summary>
/// <param name="Examples">The expressions.</param>
/// <param name="Correct">Whether the value predicted for each was right.</param>
/// <param name="Parents">Parent-edge recall tally (<see cref="ListOpsMetrics.ParentRecall"/>).</param>
/// <param name="Intermediate">Intermediate-value tally (<see cref="ListOpsMetrics.IntermediateAccuracy"/>).</param>
public sealed record ListOpsScore(IReadOnlyList<ListOpsExample> Examples, bool[] Correct, Tally Parents, Tally Intermediate)
{
    /// <summary>Fraction of expressions whose value was right.</summary>
    public double Accuracy => Correct.Length == 0 ? double.NaN : (double)Correct.Count(c => c) / Correct.Length;

    /// <summary>Accuracy tallies by depth.</summary>
    public IReadOnlyDictionary<int, Tally> ByDepth => Enumerable.Range(0, Examples.Count).GroupBy(i => Examples[i].Depth)
        .ToDictionary(g => g.Key, g => new Tally(g.Count(i => Correct[i]), g.Count()));
}
