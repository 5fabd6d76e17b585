using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.BernoulliVae;

/// <summary>
/// One Bernoulli-VAE run for the <see cref="ExperimentRunner"/>. The batch order of epoch e is a permutation drawn from a
/// generator seeded by (seed, e). Training metrics per step: "loss" (the K-evaluation estimate of -ELBO of the batch, the
/// quantity whose epoch mean is the reported train -ELBO), "nll" and "kl". Evaluation: test -ELBO, one sample of z per
/// test image from a generator reset to the same seed at every evaluation, the exact KL. NVIL's running statistics go
/// into checkpoints through the extra-state hook, so a resumed run is bit-identical to an uninterrupted one.
/// </summary>
public sealed class BernoulliVaeTask : ITrainingTask, IDisposable
{
    private readonly BernoulliVaeConfig _config;
    private readonly BernoulliVaeData _data;
    private readonly BernoulliVaeModel _model;
    private readonly Generator _noise;
    private readonly NvilBaseline? _nvil;
    private readonly long _stepsPerEpoch, _trainCount;
    private readonly EpochBatches _batches;
    private readonly Device _device;
    private readonly bool _ownsData;

    /// <summary>Builds the model and optimiser on <paramref name="device"/> (default: the data's).</summary>
    /// <param name="config">The run.</param>
    /// <param name="data">The images, on <paramref name="device"/>.</param>
    /// <param name="device">Where the model lives (null: where <paramref name="data"/> lives).</param>
    /// <param name="ownsData">Dispose <paramref name="data"/> with the task (false: it is shared).</param>
    public BernoulliVaeTask(BernoulliVaeConfig config, BernoulliVaeData data, Device? device = null, bool ownsData = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        config.Validate();
        if (config.TrainCount > data.TrainCount)
            throw new ArgumentOutOfRangeException(nameof(config), config.TrainCount, $"TrainCount must be <= the {data.TrainCount} training images of the data.");
        _config = config;
        _data = data;
        _device = device ?? data.TrainBinary.device;
        _ownsData = ownsData;
        _noise = new Generator((ulong)config.Seed * 7919UL + 3);
        bool nvil = config.Estimator == BernoulliVaeEstimator.Nvil;
        bool relax = config.Estimator is BernoulliVaeEstimator.Rebar or BernoulliVaeEstimator.Relax;
        _model = SeededInitialisation.Build(config.Seed,
            () => new BernoulliVaeModel((int)data.Pixels, config.Hidden, config.Latent, nvil ? config.NvilHidden : null,
                relax ? new RelaxControl(categorical: false, eventDims: 1, eventSize: config.Latent,
                    config.Estimator == BernoulliVaeEstimator.Relax ? config.RelaxHidden : null) : null));
        _model.to(_device);
        if (nvil) _nvil = new NvilBaseline(_model.Baseline, config.NvilDecay);
        Optimizer = config.Optimizer == DiscreteGrad.Experiments.Vae.VaeOptimizer.RAdam
            ? new Optim.RAdam(_model.parameters(), config.LearningRate)
            : new Optim.Adam(_model.parameters(), config.LearningRate);
        _trainCount = config.TrainCount;
        _batches = new EpochBatches(_trainCount, config.BatchSize, config.Seed, _data.TrainBinary.device);
        _stepsPerEpoch = _batches.StepsPerEpoch;
        TotalSteps = _stepsPerEpoch * config.Epochs;
    }

    /// <inheritdoc />
    public string Name => $"bernoulli-vae-{BernoulliVaeEstimators.Key(_config.Estimator)}-k{_config.Evaluations}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch.</summary>
    public long StepsPerEpoch => _stepsPerEpoch;
    /// <summary>The VAE.</summary>
    public BernoulliVaeModel Vae => _model;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["estimator"] = BernoulliVaeEstimators.Display(_config.Estimator),
        ["K (evaluations)"] = I(_config.Evaluations),
        ["latents"] = I(_config.Latent),
        ["hidden"] = I(_config.Hidden),
        ["train images"] = I(_config.TrainCount),
        ["epochs"] = I(_config.Epochs),
        ["batch"] = I(_config.BatchSize),
        ["optimiser"] = $"{(_config.Optimizer == DiscreteGrad.Experiments.Vae.VaeOptimizer.RAdam ? "RAdam" : "Adam")} lr {I(_config.LearningRate)}",
        ["ReinMax tau"] = I(_config.Tau),
        ["binarisation"] = _config.DynamicBinarization ? "dynamic (per batch)" : "once per run (seeded)",
        ["seed"] = I(_config.Seed),
        ["device"] = _device.type == DeviceType.CPU ? "cpu" : _device.ToString(),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        var index = _batches.Indices(step);
        Tensor x;
        if (_config.DynamicBinarization)
        {
            var intensity = _data.TrainIntensity.index_select(0, index).to(ScalarType.Float32) / 255f;
            x = (torch.rand(intensity.shape, generator: _noise, device: intensity.device) < intensity).to(ScalarType.Float32);
        }
        else x = _data.TrainBinary.index_select(0, index).to(ScalarType.Float32);
        Optimizer.zero_grad();
        var logits = _model.forward(x);
        var r = BernoulliVaeObjective.Compute(_model, x, logits, _config.Estimator, _config.Evaluations, _config.Tau, _noise, _nvil,
            _config.PathwiseOptions);
        r.Loss.backward();
        Optimizer.step();
        return new Dictionary<string, double>
        {
            ["loss"] = r.NegativeElbo.item<float>(),
            ["nll"] = r.NegLogLikelihood.item<float>(),
            ["kl"] = r.Kl.item<float>(),
        };
    }

    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_stepsPerEpoch, 1, _config.EvalEvery);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var gen = new Generator((ulong)_config.Seed * 31UL + 5);
        long n = _data.TestBinary.shape[0];
        double nll = 0, kl = 0;
        for (long s = 0; s < n; s += 1000)
        {
            using var scope = torch.NewDisposeScope();
            var x = _data.TestBinary.narrow(0, s, Math.Min(1000, n - s)).to(ScalarType.Float32);
            var logits = _model.forward(x);
            var z = Samples.Bernoulli(logits, null, gen);
            nll += _model.NegLogLikelihood(x, z).to(ScalarType.Float64).sum().item<double>();
            kl += _model.Kl(logits).to(ScalarType.Float64).sum().item<double>();
        }
        return new Dictionary<string, double>
        {
            ["test_neg_elbo"] = (nll + kl) / n,
            ["test_nll"] = nll / n,
            ["test_kl"] = kl / n,
            ["epoch"] = (double)stepsDone / _stepsPerEpoch,
        };
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) { }

    /// <summary>NVIL's running statistics ("nvil": float64 [biased mean, biased variance, updates]); empty for the other estimators.</summary>
    public IReadOnlyDictionary<string, Tensor> GetExtraState()
    {
        if (_nvil is null) return new Dictionary<string, Tensor>();
        var (m, v, n) = _nvil.GetState();
        return new Dictionary<string, Tensor> { ["nvil"] = torch.tensor(new[] { m, v, n }, dtype: ScalarType.Float64) };
    }

    /// <inheritdoc />
    public void SetExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (_nvil is null || !state.TryGetValue("nvil", out var t)) return;
        var s = t.cpu().data<double>().ToArray();
        _nvil.SetState(s[0], s[1], (long)s[2]);
    }

    /// <summary>Frees the batch order and, when owned, the data.</summary>
    public void Dispose()
    {
        _batches.Dispose();
        if (_ownsData) _data.Dispose();
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
