using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// One ListOps run of Table 1 of Liu et al. 2023 ("Bridging Discrete and Backpropagation: Straight-Through and Beyond") for
/// the <see cref="ExperimentRunner"/>: the Gumbel Tree-LSTM (<see cref="GumbelTreeLstmClassifier"/>) with one estimator for
/// its merge choices, trained as the reference's listops/nlp/train.py: per step the mean cross-entropy of a batch of
/// equal-length expressions (<see cref="LengthBucketBatches"/>, the order a function of (seed, epoch)), the gradient's
/// 2-norm clipped at <see cref="ListOpsReinMaxConfig.Clip"/> (clip_grad_norm), one step of RAdam
/// (<see cref="DiscreteGrad.Optim.RAdam"/>). Each evaluation (greedy argmax merges, no dropout) gives the validation and
/// test accuracy and then steps ReduceLROnPlateau on the validation accuracy (<see cref="DiscreteGrad.Optim.ReduceLROnPlateau"/>);
/// after the last step the <c>--test-file</c> accuracy (file_accuracy). Checkpoints hold the model, RAdam, the merge
/// generator, the global generator (dropout) and, through the extra-state hook, the plateau's state, so a resumed run is
/// bit-identical on the CPU.
/// </summary>
public sealed class ListOpsReinMaxTask : ITrainingTask
{
    private const string PlateauKey = "plateau";
    private readonly ListOpsReinMaxConfig _config;
    private readonly IReadOnlyList<ListOpsExample> _train, _dev, _test;
    private readonly IReadOnlyList<ListOpsExample>? _testFile;
    private readonly GumbelTreeLstmClassifier _model;
    private readonly Generator _noise;
    private readonly LengthBucketBatches _batches;
    private readonly Optim.ReduceLROnPlateau _plateau;
    private readonly Device _device;

    /// <summary>Builds the model, RAdam and the plateau schedule on <paramref name="device"/> over the given data.</summary>
    /// <param name="config">The run.</param>
    /// <param name="data">Generated splits; of the first <see cref="ListOpsReinMaxConfig.TrainExamples"/> (and so on) those within
    /// <see cref="ListOpsReinMaxConfig.MaxLength"/> are used.</param>
    /// <param name="device">Where the model and batches live (null: the CPU).</param>
    /// <param name="testFile">Expressions of <c>--test-file</c>, scored after the last step (null: none).</param>
    public ListOpsReinMaxTask(ListOpsReinMaxConfig config, ListOpsSplits data, Device? device = null, IReadOnlyList<ListOpsExample>? testFile = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        config.Validate();
        _config = config;
        _device = device ?? CPU;
        _train = Take(data.Train, config.TrainExamples, "training");
        _dev = Take(data.Dev, config.DevExamples, "validation");
        _test = Take(data.Test, config.TestExamples, "test");
        _testFile = testFile;
        _noise = new Generator((ulong)config.Seed, _device);
        _model = SeededInitialisation.Build(config.Seed, () => new GumbelTreeLstmClassifier(config.ModelOptions, _noise));
        _model.to(_device);
        Optimizer = new Optim.RAdam(_model.parameters(), config.LearningRate);
        _plateau = new Optim.ReduceLROnPlateau(Optimizer, maximize: true, factor: config.PlateauFactor, patience: config.PlateauPatience);
        _batches = new LengthBucketBatches(_train.Select(e => e.Length).ToList(), config.BatchSize, config.Seed, config.BucketWidth);
        TotalSteps = _batches.StepsPerEpoch * config.Epochs;
    }

    /// <inheritdoc />
    public string Name => $"listops-reinmax-{EstimatorNames.Key(_config.Estimator)}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch.</summary>
    public long StepsPerEpoch => _batches.StepsPerEpoch;
    /// <summary>The training, validation and test expressions in use.</summary>
    public (int Train, int Dev, int Test) Sizes => (_train.Count, _dev.Count, _test.Count);
    /// <summary>The learning-rate schedule.</summary>
    public Optim.ReduceLROnPlateau Plateau => _plateau;
    /// <summary>The classifier.</summary>
    public GumbelTreeLstmClassifier Network => _model;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise, Generator.Default };
    /// <inheritdoc />
    public EvaluationCadence Cadence => new(StepsPerEpoch, _config.EvalsPerEpoch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["estimator"] = EstimatorNames.Display(_config.Estimator),
        ["network"] = $"Gumbel Tree-LSTM, width {I(_config.Dim)}, leaf LSTM, dropout 0.5, tau {I(_config.Tau)}",
        ["data"] = $"Nangia-Bowman recipe, data seed {I(_config.DataSeed)}, counted length <= {I(_config.MaxLength)}: " +
                   $"{I(_train.Count)} train, {I(_dev.Count)} validation, {I(_test.Count)} test",
        ["epochs"] = I(_config.Epochs),
        ["steps per epoch"] = I(StepsPerEpoch),
        ["batch"] = $"{I(_config.BatchSize)} (length buckets of width {I(_config.BucketWidth)})",
        ["optimiser"] = $"RAdam lr {I(_config.LearningRate)}, clip {I(_config.Clip)}, mean cross-entropy",
        ["plateau"] = $"factor {I(_config.PlateauFactor)}, patience {I(_config.PlateauPatience)}, {I(_config.EvalsPerEpoch)} validations per epoch",
        ["seed"] = I(_config.Seed),
        ["device"] = DeviceNames.Of(_device),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        var idx = _batches.Indices(step);
        using var batch = ListOpsBatch.Create(idx.Select(i => _train[i]).ToList(), _device);
        Optimizer.zero_grad();
        var logits = _model.Forward(batch.Tokens, batch.Mask).Logits;
        var loss = nn.functional.cross_entropy(logits, batch.Targets);
        loss.backward();
        double norm = _config.Clip > 0 ? nn.utils.clip_grad_norm_(_model.parameters(), _config.Clip) : double.NaN;
        Optimizer.step();
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = loss.item<float>(),
            ["accuracy"] = ListOpsMetrics.Accuracy(logits, batch.Targets).Rate,
            ["length"] = batch.Tokens.shape[1],
            ["lr"] = Optimizer.ParamGroups.First().LearningRate,
        };
        if (double.IsFinite(norm)) metrics["grad_norm"] = norm;
        return metrics;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var metrics = new Dictionary<string, double> { ["epoch"] = (double)stepsDone / StepsPerEpoch };
        double valid = Accuracy(_dev);
        metrics["valid_accuracy"] = valid;
        metrics["test_accuracy"] = Accuracy(_test);
        if (_testFile is not null && stepsDone == TotalSteps) metrics["file_accuracy"] = Accuracy(_testFile);
        _plateau.Step(valid);
        metrics["lr"] = Optimizer.ParamGroups.First().LearningRate;
        return metrics;
    }

    /// <summary>Accuracy of the model as it is (its mode) on <paramref name="examples"/>, in batches of one length.</summary>
    public double Accuracy(IReadOnlyList<ListOpsExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        Tally t = default;
        int h = _config.Dim;
        foreach (var idx in LengthBucketBatches.ByLength(examples.Select(e => e.Length).ToList(), l => EvaluationBatch(l, h)))
        {
            using var scope = torch.NewDisposeScope();
            using var batch = ListOpsBatch.Create(idx.Select(i => examples[i]).ToList(), _device);
            t += ListOpsMetrics.Accuracy(_model.Forward(batch.Tokens, batch.Mask).Logits, batch.Targets);
        }
        return t.Rate;
    }

    /// <summary>Expressions per evaluation batch of length l and width h: B l h at most 4 M, in [16, 512].</summary>
    public static int EvaluationBatch(int length, int hidden) => (int)Math.Clamp(4_000_000L / ((long)length * hidden), 16, 512);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> GetExtraState() => new Dictionary<string, Tensor> { [PlateauKey] = _plateau.GetState() };

    /// <inheritdoc />
    public void SetExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.TryGetValue(PlateauKey, out var p)) _plateau.SetState(p);
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) { }

    private IReadOnlyList<ListOpsExample> Take(IReadOnlyList<ListOpsExample> xs, int count, string what)
    {
        if (xs.Count < count) throw new ArgumentException($"the data has {xs.Count} {what} expressions; {count} were asked for.");
        var kept = xs.Take(count).Where(e => ListOpsReinMaxConfig.Recipe.CountedLength(e) <= _config.MaxLength).ToList();
        if (kept.Count == 0)
            throw new ArgumentException($"--max-length {_config.MaxLength} keeps none of the first {count} {what} expressions.", nameof(ListOpsReinMaxConfig.MaxLength));
        return kept;
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
