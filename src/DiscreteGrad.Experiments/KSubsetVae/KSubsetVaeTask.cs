using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;
using DiscreteGrad.Schedules;
using DiscreteGrad.Solvers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.KSubsetVae;

/// <summary>
/// One k-subset discrete-VAE run for the <see cref="ExperimentRunner"/>. The code layer is an <see cref="ImleLayer"/> over a
/// <see cref="TensorTopKSolver"/> (identical results to <see cref="TopKSolver"/>, without the CPU-array round trip) with
/// Sum-of-Gamma (or Gumbel) noise; I-MLE uses a fixed lambda (gradient divided by lambda), AIMLE an
/// <see cref="AdaptiveImleTarget"/>; the layer is part of the model, so its target's state is in the model's checkpoints.
/// SIMPLE uses a <see cref="SimpleKSubsetLayer"/> instead (exact samples of each block, gradient of the exact marginals;
/// the noise, lambda and difference settings do not apply).
/// Batches of epoch e follow a permutation drawn from a generator seeded by (seed, e). Evaluation after every epoch on all the
/// test images (and optionally inside epochs on the first <see cref="KSubsetVaeConfig.IntermediateTestExamples"/>), with the training-time layer (the same noise and S samples, as the reference; the noise drawn from an
/// evaluation generator with a fixed seed): test BCE (mean over examples and samples), test KL, test loss = BCE + KL, and
/// the reference's printed value BCE + KL / S (its test loss divides the summed loss, KL included, by S).
/// </summary>
public sealed class KSubsetVaeTask : ITrainingTask, IDisposable
{
    private readonly KSubsetVaeConfig _config;
    private readonly KSubsetVaeData _data;
    private readonly KSubsetVaeModel _model;
    private readonly nn.Module<Tensor, Tensor> _layer;
    private readonly ImleLayer? _imle;
    private readonly SimpleKSubsetLayer? _simple;
    private readonly AdaptiveImleTarget? _adaptive;
    private readonly Generator _noise;
    private readonly long _stepsPerEpoch;
    private readonly EpochBatches _batches;
    private readonly bool _ownsData;

    /// <summary>
    /// Builds the model (on the device of <paramref name="data"/>), the layer and the optimiser; <paramref name="data"/> is
    /// shared unless <paramref name="ownsData"/>, then <see cref="Dispose"/> disposes it.
    /// </summary>
    public KSubsetVaeTask(KSubsetVaeConfig config, KSubsetVaeData data, bool ownsData = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        config.Validate();
        _config = config;
        _data = data;
        _ownsData = ownsData;
        _noise = new Generator((ulong)config.Seed);
        _adaptive = config.Method == KSubsetMethod.Aimle
            ? new AdaptiveImleTarget(config.AimleTargetNonZeros, config.AimleStep, config.AimleInitialBeta)
            : null;
        if (config.Method == KSubsetMethod.Simple)
            _layer = _simple = new SimpleKSubsetLayer(config.K, config.Samples, SampleLayout.Stacked, _noise);
        else
            _layer = _imle = new ImleLayer(new TensorTopKSolver(config.K), new ImleOptions
            {
                Noise = config.Noise == KSubsetNoise.Gumbel ? ImleNoise.Gumbel : ImleNoise.SumOfGamma(config.K, config.NoiseTerms),
                InputTemperature = config.NoiseTemperature,
                TargetTemperature = config.NoiseTemperature,
                Samples = config.Samples,
                Target = _adaptive is null ? ImleTargetDistribution.Fixed(config.Lambda) : _adaptive,
                Difference = config.Difference,
                Layout = SampleLayout.Stacked,
            }, _noise);
        _model = SeededInitialisation.Build(config.Seed, () => new KSubsetVaeModel(config, (int)data.Train.shape[1], _layer));
        _model.to(data.Train.device);
        Optimizer = new Optim.Adam(_model.parameters(), config.LearningRate);
        _batches = new EpochBatches(config.TrainExamples, config.BatchSize, config.Seed, _data.Train.device);
        _stepsPerEpoch = _batches.StepsPerEpoch;
        TotalSteps = _stepsPerEpoch * config.Epochs;
    }

    /// <inheritdoc />
    public string Name => $"ksubset-vae-{_config.Label}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch.</summary>
    public long StepsPerEpoch => _stepsPerEpoch;
    /// <summary>The configuration.</summary>
    public KSubsetVaeConfig Config => _config;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <summary>The VAE.</summary>
    public KSubsetVaeModel Vae => _model;
    /// <summary>The code layer: an <see cref="ImleLayer"/> (I-MLE, AIMLE) or a <see cref="SimpleKSubsetLayer"/> (SIMPLE).</summary>
    public nn.Module<Tensor, Tensor> Layer => _layer;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["estimator"] = _config.Display,
        ["code"] = $"{I(_config.Blocks)} blocks x {I(_config.Categories)} entries, {I(_config.K)}-subset per block "
                   + (_simple is null ? "(top-k)" : "(exact samples of the k-subset distribution)"),
        ["network"] = $"{I(_data.Train.shape[1])}-{I(_config.Hidden1)}-{I(_config.Hidden2)}-{I(_config.CodeSize)}, decoder mirrored",
        ["noise"] = _simple is not null ? "none (SIMPLE samples exactly)"
            : (_config.Noise == KSubsetNoise.Gumbel ? "Gumbel(0, 1)" : $"Sum-of-Gamma(k = {I(_config.K)}, {I(_config.NoiseTerms)} terms)")
              + $", temperature {I(_config.NoiseTemperature)}",
        ["target"] = _simple is not null ? "none: gradient of the exact marginals (SIMPLE)"
            : _adaptive is null
            ? $"fixed lambda {I(_config.Lambda)}, gradient / lambda"
            : $"adaptive: initial beta {I(_config.AimleInitialBeta)}, step {I(_config.AimleStep)}, target {I(_config.AimleTargetNonZeros)} non-zeros per block and sample",
        ["kl"] = _config.Kl == KSubsetKl.KSubset ? "exact KL of each block's k-subset distribution to uniform" : "each block's softmax against uniform",
        ["train examples"] = I(_config.TrainExamples),
        ["test examples"] = I(_config.TestExamples),
        ["epochs"] = I(_config.Epochs),
        ["batch"] = I(_config.BatchSize),
        ["optimiser"] = $"Adam lr {I(_config.LearningRate)}",
        ["seed"] = I(_config.Seed),
        ["device"] = DeviceNames.Of(_data.Train.device),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        var x = _data.Train.index_select(0, _batches.Indices(step));
        Optimizer.zero_grad();
        var o = _model.Forward(x);
        var terms = KSubsetVaeLoss.Compute(o.Logits, o.Reconstruction, x, _config.Blocks, _config.Categories, _config.Kl, _config.K);
        terms.Training.backward();
        Optimizer.step();
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = terms.Training.item<float>(),
            ["bce"] = terms.Bce.mean().item<float>(),
            ["kl"] = terms.Kl.mean().item<float>(),
        };
        if (_adaptive is not null)
        {
            metrics["beta"] = _adaptive.Beta;
            metrics["lambda"] = _adaptive.LastLambda;
            metrics["nonzero_rate"] = _adaptive.NonZeroRate;
        }
        else if (_imle is not null) metrics["lambda"] = _config.Lambda;
        return metrics;
    }

    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_stepsPerEpoch, _config.EvalsPerEpoch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var trainGen = _noise;
        SetGenerator(new Generator((ulong)(_config.Seed * 31L + 5)));    // evaluation draws never touch the training stream
        try
        {
            using var _ = torch.no_grad();
            bool epochEnd = stepsDone % _stepsPerEpoch == 0 || stepsDone == TotalSteps;
            long n = epochEnd ? _data.Test.shape[0] : Math.Min(_data.Test.shape[0], _config.IntermediateTestExamples);
            double bce = 0, kl = 0;
            for (long s = 0; s < n; s += _config.BatchSize)
            {
                using var scope = torch.NewDisposeScope();
                var x = _data.Test.narrow(0, s, Math.Min(_config.BatchSize, n - s));
                var o = _model.Forward(x);
                var terms = KSubsetVaeLoss.Compute(o.Logits, o.Reconstruction, x, _config.Blocks, _config.Categories, _config.Kl, _config.K);
                bce += terms.Bce.mean(new long[] { 1 }).sum().ToDouble();
                kl += terms.Kl.sum().ToDouble();
            }
            bce /= n;
            kl /= n;
            return new Dictionary<string, double>
            {
                ["test_loss"] = bce + kl,
                ["test_loss_reference"] = bce + kl / _config.Samples,
                ["test_bce"] = bce,
                ["test_kl"] = kl,
                ["test_images"] = n,
                ["epoch"] = (double)stepsDone / _stepsPerEpoch,
            };
        }
        finally
        {
            SetGenerator(trainGen);
        }
    }

    private void SetGenerator(Generator generator)
    {
        if (_imle is not null) _imle.Generator = generator;
        if (_simple is not null) _simple.Generator = generator;
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) { }

    /// <summary>Disposes the data when the task owns it.</summary>
    public void Dispose()
    {
        if (_ownsData) _data.Dispose();
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
