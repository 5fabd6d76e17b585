using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// One MNIST-addition run for the <see cref="ExperimentRunner"/>. Schedules advance <see cref="MnistAdditionConfig.UpdatesPerEpoch"/>
/// times per epoch: tau (constant, or exponential decay for TauAnn), beta (constant, or TEMPMATCH) and the DropRes alpha
/// (linear 0 -> 1). The batch order of epoch e is a permutation drawn from a generator seeded by (seed, e), so it needs no
/// checkpointed state. Evaluation: test accuracy of the sum with hard samples and no residual, per-digit accuracy of the
/// discrete node under the best one-to-one category-to-digit matching (padded to a square matrix when the node has more
/// categories than there are digits), and the number of categories in use. The model lives on the device of the data.
/// </summary>
public sealed class MnistAdditionTask : ITrainingTask, IDisposable
{
    private readonly MnistAdditionConfig _config;
    private readonly AdditionPairs _data;
    private readonly MnistAdditionModel _model;
    private readonly Generator _noise;
    private readonly Schedule _tau, _beta, _alpha;
    private readonly Device _device;
    private readonly long _stepsPerEpoch;
    private readonly EpochBatches _batches;
    private readonly bool _ownsData;

    /// <summary>
    /// Builds the model (on the device of <paramref name="data"/>) and optimiser for the configuration; <paramref name="data"/>
    /// is shared unless <paramref name="ownsData"/>, then <see cref="Dispose"/> disposes it.
    /// </summary>
    public MnistAdditionTask(MnistAdditionConfig config, AdditionPairs data, bool ownsData = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        config.Validate();
        _config = config;
        _data = data;
        _ownsData = ownsData;
        _noise = new Generator((ulong)config.Seed);
        _device = data.TrainImages.device;
        _model = SeededInitialisation.Build(config.Seed, () => new MnistAdditionModel(config, _noise));
        _model.to(_device);
        Optimizer = optim.Adam(_model.parameters(), config.LearningRate);
        _tau = config.Scheme == AdditionScheme.TauAnn
            ? new ExponentialDecaySchedule(config.Tau, config.TauAnnealRate, config.EffectiveTauFloor)
            : new ConstantSchedule(config.Tau);
        _beta = config.Scheme.UsesTempMatch() ? new TempMatchSchedule(config.Tau, config.Gamma) : new ConstantSchedule(config.Beta);
        _alpha = config.Scheme.UsesDropRes() ? new LinearSchedule(0, 1, config.AlphaIncrement) : new ConstantSchedule(1);
        _batches = new EpochBatches(config.TrainPairs, config.BatchSize, config.Seed, _data.TrainIndex.device);
        _stepsPerEpoch = _batches.StepsPerEpoch;
        TotalSteps = _stepsPerEpoch * config.Epochs;
        ApplySchedules();
    }

    /// <inheritdoc />
    public string Name => $"mnist-addition-{AdditionSchemes.Name(_config.Scheme)}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch.</summary>
    public long StepsPerEpoch => _stepsPerEpoch;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => new[] { _tau, _beta, _alpha };
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["architecture"] = _config.Architecture.ToString(),
        ["scheme"] = AdditionSchemes.Display(_config.Scheme),
        ["digits"] = I(_config.Digits),
        ["train examples"] = I(_config.TrainPairs),
        ["test examples"] = I(_config.TestPairs),
        ["epochs"] = I(_config.Epochs),
        ["batch"] = I(_config.BatchSize),
        ["optimiser"] = $"Adam lr {I(_config.LearningRate)}",
        ["estimator"] = _config.Estimator.ToString(),
        ["tau schedule"] = _tau.Name,
        ["beta schedule"] = _beta.Name,
        ["alpha schedule"] = _alpha.Name,
        ["schedule updates per epoch"] = I(_config.UpdatesPerEpoch),
        ["eval"] = _config.Evaluation.ToString(),
        ["seed"] = I(_config.Seed),
        ["device"] = DeviceNames.Of(_device),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <summary>Epoch (from 0) of a step.</summary>
    public long EpochOf(long step) => step / _stepsPerEpoch;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        var index = _data.TrainIndex.index_select(0, _batches.Indices(step));
        var (images, _, sums) = AdditionPairs.Gather(_data.TrainImages, _data.TrainLabels, index);
        Optimizer.zero_grad();
        var logits = _model.forward(images);
        var loss = nn.functional.cross_entropy(logits, sums);
        loss.backward();
        Optimizer.step();
        double acc = (logits.argmax(-1) == sums).to(ScalarType.Float32).mean().item<float>();
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = loss.item<float>(),
            ["accuracy"] = acc,
            ["tau"] = _model.Digit.Node.Tau,
            ["beta"] = _model.Digit.Node.Beta,
            ["alpha"] = _model.Digit.Alpha,
        };
        long before = UpdatesAt(step), after = UpdatesAt(step + 1);
        for (long k = before; k < after; k++) { _tau.Advance(); _beta.Advance(); _alpha.Advance(); }
        if (after > before) ApplySchedules();
        return metrics;
    }

    /// <summary>Schedule updates done after <paramref name="steps"/> steps (spread evenly within each epoch).</summary>
    public long UpdatesAt(long steps) => steps / _stepsPerEpoch * _config.UpdatesPerEpoch
                                         + steps % _stepsPerEpoch * _config.UpdatesPerEpoch / _stepsPerEpoch;

    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_stepsPerEpoch, _config.EvalsPerEpoch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var node = _model.Digit.Node;
        var trainGen = node.Generator;
        node.Generator = new Generator((ulong)(_config.Seed * 31L + 5));   // evaluation draws never touch the training stream
        bool wasTraining = _model.training;
        if (_config.Evaluation == AdditionEvaluation.Relaxed)
        {
            _model.train();                       // the node applies its estimator (the relaxation for Gumbel-softmax) ...
            _model.Digit.Alpha = 1;               // ... without the residual ...
            node.Beta = 1;                        // ... at beta = 1, the current tau
        }
        else _model.eval();
        try
        {
            long n = _data.TestIndex.shape[0], correct = 0;
            int k = _model.Categories, size = Math.Max(k, 10);
            var confusion = new double[size, size];          // categories x digits, padded square for the matching
            var used = new bool[k];
            for (long s = 0; s < n; s += 500)
            {
                using var scope = torch.NewDisposeScope();
                var index = _data.TestIndex.narrow(0, s, Math.Min(500, n - s));
                var (images, digits, sums) = AdditionPairs.Gather(_data.TestImages, _data.TestLabels, index);
                var (logits, cats) = _model.Forward(images);
                correct += (logits.argmax(-1) == sums).sum().item<long>();
                var c = cats.reshape(-1).cpu().data<long>().ToArray();
                var d = digits.reshape(-1).cpu().data<long>().ToArray();
                for (int i = 0; i < c.Length; i++) { confusion[c[i], d[i]]++; used[c[i]] = true; }
            }
            var match = Assignment.Maximise(confusion);
            double matched = Enumerable.Range(0, size).Sum(i => confusion[i, match[i]]);
            double total = 0;
            foreach (var x in confusion) total += x;
            return new Dictionary<string, double>
            {
                ["test_accuracy"] = (double)correct / n,
                ["digit_accuracy"] = matched / total,
                ["categories_used"] = used.Count(u => u),
                ["epoch"] = (double)stepsDone / _stepsPerEpoch,
            };
        }
        finally
        {
            node.Generator = trainGen;
            ApplySchedules();
            _model.train(wasTraining);
        }
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) => ApplySchedules();

    /// <summary>Disposes the data when the task owns it.</summary>
    public void Dispose()
    {
        if (_ownsData) _data.Dispose();
    }

    private void ApplySchedules()
    {
        _model.Digit.Node.Tau = _tau.Value;
        _model.Digit.Node.Beta = _beta.Value;
        _model.Digit.Alpha = _alpha.Value;
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
