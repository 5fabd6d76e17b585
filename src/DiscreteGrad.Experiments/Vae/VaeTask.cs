using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>
/// One categorical-VAE run for the <see cref="ExperimentRunner"/>. Each step trains on one batch; the batch order of epoch e
/// is a permutation from a generator seeded by (seed, e). Per step it reports "loss" (the batch mean of the single-sample
/// -ELBO, BCE + KL, at the step's hard samples; for VIMCO the mean over its K samples), "bce", "kl" (and "bound" for VIMCO:
/// the negative K-sample bound). After every epoch it evaluates: "train_nelbo" = the mean of the step losses over the epoch
/// (the running training loss the reference prints, "Average loss"), and on the test images "test_nelbo" = the mean of the
/// single-sample -ELBO with z ~ q(.|x) drawn hard (independent of the estimator; averaged over
/// <see cref="VaeConfig.TestSamples"/> draws), "test_bce", "test_kl". The baselines' running statistics (REINFORCE, NVIL)
/// go into checkpoints through the extra-state hook, so a resumed run is bit-identical to an uninterrupted one.
/// </summary>
public sealed class VaeTask : ITrainingTask, IDisposable
{
    private readonly VaeConfig _config;
    private readonly VaeData _data;
    private readonly VaeWithObjective _module;
    private readonly Generator _noise, _binarize;
    private readonly Tensor? _testTargets;
    private readonly long _stepsPerEpoch;
    private readonly EpochBatches _batches;
    private readonly Device _device;
    private readonly bool _ownsData;
    private double _epochSum;
    private long _epochCount;

    /// <summary>Builds the model, objective and optimiser on <paramref name="device"/> (default: the data's).</summary>
    /// <param name="config">The run.</param>
    /// <param name="data">The images, on <paramref name="device"/>.</param>
    /// <param name="device">Where the model lives (null: where <paramref name="data"/> lives).</param>
    /// <param name="ownsData">Dispose <paramref name="data"/> with the task (false: it is shared).</param>
    public VaeTask(VaeConfig config, VaeData data, Device? device = null, bool ownsData = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        config.Validate();
        if (data.Train.shape[0] < config.TrainExamples || data.Test.shape[0] < config.TestExamples)
            throw new ArgumentException($"data holds {data.Train.shape[0]} / {data.Test.shape[0]} images; the configuration asks for {config.TrainExamples} / {config.TestExamples}.", nameof(data));
        _config = config;
        _data = data;
        _device = device ?? data.Train.device;
        _ownsData = ownsData;
        _noise = new Generator((ulong)config.Seed);
        _binarize = new Generator((ulong)(config.Seed * 7919L + 17));
        // The initial weights come from TorchSharp's global generator (seeded, under a process-wide lock).
        _module = SeededInitialisation.Build(config.Seed, () =>
            new VaeWithObjective(new CategoricalVae(config.Categories, config.Latents), new VaeObjective(config, _noise)));
        _module.to(_device);
        Optimizer = config.Optimizer == VaeOptimizer.RAdam
            ? new Optim.RAdam(_module.parameters(), config.LearningRate)
            : new Optim.Adam(_module.parameters(), config.LearningRate);
        _batches = new EpochBatches(config.TrainExamples, config.BatchSize, config.Seed, _data.Train.device);
        _stepsPerEpoch = _batches.StepsPerEpoch;
        TotalSteps = _stepsPerEpoch * config.Epochs;
        if (config.Binarization == Binarization.Dynamic)
        {
            using var test = data.Test.narrow(0, 0, config.TestExamples);
            _testTargets = torch.bernoulli(test, new Generator(20_231_122UL)).DetachFromDisposeScope();
        }
    }

    /// <inheritdoc />
    public string Name => $"vae-{_config.Shape}-{VaeEstimators.Key(_config.Estimator)}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch.</summary>
    public long StepsPerEpoch => _stepsPerEpoch;
    /// <summary>The configuration.</summary>
    public VaeConfig Config => _config;
    /// <summary>The VAE.</summary>
    public CategoricalVae Vae => _module.Vae;
    /// <inheritdoc />
    public nn.Module Model => _module;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise, _binarize };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["configuration"] = $"{_config.Shape} ({_config.Latents} categorical variables x {_config.Categories} classes)",
        ["estimator"] = VaeEstimators.Display(_config.Estimator),
        ["tau"] = I(_config.Tau),
        ["GR-MCK K"] = I(_config.GumbelRaoK),
        ["VIMCO samples"] = I(_config.VimcoSamples),
        ["baseline decay"] = I(_config.BaselineDecay),
        ["NVIL hidden"] = I(_config.NvilHidden),
        ["epochs"] = I(_config.Epochs),
        ["batch"] = I(_config.BatchSize),
        ["optimiser"] = $"{_config.Optimizer} lr {I(_config.LearningRate)}",
        ["binarization"] = _config.Binarization.ToString(),
        ["train examples"] = I(_config.TrainExamples),
        ["test examples"] = I(_config.TestExamples),
        ["test samples"] = I(_config.TestSamples),
        ["seed"] = I(_config.Seed),
        ["device"] = _device.type == DeviceType.CPU ? "cpu" : _device.ToString(),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        if (step % _stepsPerEpoch == 0) { _epochSum = 0; _epochCount = 0; }
        var x = _data.Train.index_select(0, _batches.Indices(step));
        long count = x.shape[0];
        if (_config.Binarization == Binarization.Dynamic) x = torch.bernoulli(x, _binarize);
        Optimizer.zero_grad();
        var r = _module.Vae.Loss(x, _module.Objective);
        r.Loss.backward();
        Optimizer.step();
        double nelbo = r.Nelbo.mean().item<float>();
        _epochSum += nelbo * count;
        _epochCount += count;
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = nelbo,
            ["bce"] = r.Bce.mean().item<float>(),
            ["kl"] = r.Kl.mean().item<float>(),
        };
        if (r.NegativeBound is not null) metrics["bound"] = r.NegativeBound.mean().item<float>();
        return metrics;
    }

    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_stepsPerEpoch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var (nelbo, bce, kl) = TestNegativeElbo(_config.TestSamples, (ulong)(_config.Seed * 31L + 5));
        return new Dictionary<string, double>
        {
            ["train_nelbo"] = _epochCount > 0 ? _epochSum / _epochCount : double.NaN,
            ["test_nelbo"] = nelbo,
            ["test_bce"] = bce,
            ["test_kl"] = kl,
            ["epoch"] = (double)stepsDone / _stepsPerEpoch,
        };
    }

    /// <summary>Mean single-sample -ELBO, BCE and KL over the test images with hard samples z ~ q(.|x) from a generator seeded
    /// by <paramref name="seed"/>, each image's value averaged over <paramref name="samples"/> draws.</summary>
    public (double Nelbo, double Bce, double Kl) TestNegativeElbo(int samples, ulong seed)
    {
        var gen = new Generator(seed);
        bool wasTraining = _module.training;
        _module.eval();
        try
        {
            using var _ = torch.no_grad();
            double sn = 0, sb = 0, sk = 0;
            long n = _config.TestExamples;
            for (long s = 0; s < n; s += 1000)
            {
                using var scope = torch.NewDisposeScope();
                long c = Math.Min(1000, n - s);
                var x = (_testTargets ?? _data.Test).narrow(0, s, c);
                var (ne, b, k) = _module.Vae.SampledNegativeElbo(x, gen, samples);
                sn += ne.to(ScalarType.Float64).sum().item<double>();
                sb += b.to(ScalarType.Float64).sum().item<double>();
                sk += k.to(ScalarType.Float64).sum().item<double>();
            }
            return (sn / n, sb / n, sk / n);
        }
        finally
        {
            _module.train(wasTraining);
        }
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) { }

    /// <summary>The baselines' running statistics ("baseline": see <see cref="VaeObjective.GetBaselineState"/>); empty for
    /// the estimators that keep none.</summary>
    public IReadOnlyDictionary<string, Tensor> GetExtraState() =>
        _module.Objective.GetBaselineState() is { } state ? new Dictionary<string, Tensor> { ["baseline"] = state } : new Dictionary<string, Tensor>();

    /// <inheritdoc />
    public void SetExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.TryGetValue("baseline", out var t)) _module.Objective.SetBaselineState(t);
    }

    /// <summary>Frees the batch order, the test binarisation and, when owned, the data.</summary>
    public void Dispose()
    {
        _batches.Dispose();
        _testTargets?.Dispose();
        if (_ownsData) _data.Dispose();
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
