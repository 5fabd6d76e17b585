using System.Globalization;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;
using DiscreteGrad.Schedules;
using DiscreteGrad.Solvers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Warcraft;

/// <summary>
/// One Warcraft shortest-path run for the <see cref="ExperimentRunner"/>.
/// <para>I-MLE / AIMLE: costs c = softplus(CNN(image)) [B, N, N]; z = Dijkstra(c + T eps), eps ~ Sum-of-Gamma(k), through an
/// <see cref="ImleLayer"/> with <c>Minimise = true</c> (perturbed costs are clamped at 0 before Dijkstra, which needs
/// non-negative costs); loss = mean over the batch of the Hamming distance sum_cells z (1 - y) + (1 - z) y to the true path
/// y. I-MLE: fixed lambda with the 1/lambda scaling; AIMLE: <see cref="AdaptiveImleTarget"/>. The gradient reaches the CNN
/// only through the I-MLE estimate.</para>
/// <para>Direct: logits = CNN(image), loss = mean binary cross-entropy to y (pos_weight 1). Its path for scoring is
/// Dijkstra on softplus(-logits) = -log sigmoid(logits): the most probable path if the cells were independent.</para>
/// <para>Evaluation (no noise): the path of Dijkstra on the predicted costs, scored by <see cref="PathMetrics"/> on the
/// validation and test maps. Batch order of epoch e: a permutation from a generator seeded by (seed, e).</para>
/// </summary>
public sealed class WarcraftTask : ITrainingTask, IDisposable
{
    private const int EvalChunk = 500;
    private readonly WarcraftConfig _config;
    private readonly WarcraftDataset _train, _validation, _test;
    private readonly WarcraftNet _model;
    private readonly Adam _adam;
    private readonly Generator _noise;
    private readonly ImleLayer? _imle;
    private readonly AdaptiveImleTarget? _adaptive;
    private readonly GridShortestPathSolver _solver = new(GridNeighbourhood.Eight);
    private readonly Device _device;
    private readonly long _stepsPerEpoch;
    private readonly EpochBatches _batches;
    private readonly bool _ownsData;

    /// <summary>
    /// Builds the model (on <paramref name="device"/>, default the CPU) and optimiser; the datasets (on the CPU) are shared
    /// unless <paramref name="ownsData"/>, then <see cref="Dispose"/> disposes them.
    /// </summary>
    public WarcraftTask(WarcraftConfig config, WarcraftDataset train, WarcraftDataset validation, WarcraftDataset test,
        Device? device = null, bool ownsData = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        foreach (var (d, name) in new[] { (train, nameof(train)), (validation, nameof(validation)), (test, nameof(test)) })
        {
            ArgumentNullException.ThrowIfNull(d, name);
            if (d.Size != config.Size || d.PatchSize != config.PatchSize)
                throw new ArgumentException($"{name} holds {d.Size} x {d.Size} maps with {d.PatchSize}-pixel cells; the config asks for {config.Size} and {config.PatchSize}.", name);
        }
        _config = config;
        _train = train;
        _validation = validation;
        _test = test;
        _ownsData = ownsData;
        _device = device ?? torch.CPU;
        _noise = new Generator((ulong)config.Seed * 7919UL + 17);
        if (config.Method != WarcraftMethod.Direct)
        {
            ImleTargetDistribution target;
            if (config.Method == WarcraftMethod.Aimle)
                target = _adaptive = new AdaptiveImleTarget(config.EffectiveTargetNonZeros, config.AimleStep, config.AimleInitialBeta);
            else target = ImleTargetDistribution.Fixed(config.Lambda);
            var options = new ImleOptions
            {
                Noise = config.NoiseTemperature > 0 ? ImleNoise.SumOfGamma(config.EffectiveNoiseK) : ImleNoise.None,
                InputTemperature = config.NoiseTemperature,
                TargetTemperature = config.NoiseTemperature,
                Target = target,
                Minimise = true,
            };
            _imle = new ImleLayer(MapSolver.FromDelegate(w => _solver.Solve(w.clamp_min(0))), options, _noise);
        }
        _model = SeededInitialisation.Build(config.Seed, () => new WarcraftNet(config, _imle));
        _model.to(_device);
        _adam = optim.Adam(_model.parameters(), config.LearningRate);
        _batches = new EpochBatches(config.TrainMaps, config.BatchSize, config.Seed);
        _stepsPerEpoch = _batches.StepsPerEpoch;
        TotalSteps = _stepsPerEpoch * config.Epochs;
        ApplyLearningRate(0);
    }

    /// <inheritdoc />
    public string Name => $"warcraft{_config.Size}-{WarcraftMethods.Name(_config.Method)}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps { get; }
    /// <summary>Steps per epoch.</summary>
    public long StepsPerEpoch => _stepsPerEpoch;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <summary>The network.</summary>
    public WarcraftNet Net => _model;
    /// <inheritdoc />
    public OptimizerHelper Optimizer => _adam;
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise };
    /// <summary>The AIMLE target (null for the other methods).</summary>
    public AdaptiveImleTarget? Adaptive => _adaptive;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["method"] = WarcraftMethods.Display(_config.Method),
        ["grid"] = $"{_config.Size} x {_config.Size}, {_config.PatchSize} x {_config.PatchSize} pixels per cell",
        ["maps (train / val / test)"] = $"{_config.TrainMaps} / {_config.ValidationMaps} / {_config.TestMaps}",
        ["epochs"] = I(_config.Epochs),
        ["batch"] = I(_config.BatchSize),
        ["optimiser"] = $"Adam lr {I(_config.LearningRate)}, x0.1 at 60 % and 80 % of the epochs",
        ["cnn"] = $"channels {_config.Channels}, cell-level depth {_config.Depth}",
        ["imle"] = _config.Method switch
        {
            WarcraftMethod.Imle => $"lambda {I(_config.Lambda)}, Sum-of-Gamma k {I(_config.EffectiveNoiseK)}, T {I(_config.NoiseTemperature)}",
            WarcraftMethod.Aimle => $"adaptive: target {I(_config.EffectiveTargetNonZeros)} non-zeros, step {I(_config.AimleStep)}, beta0 {I(_config.AimleInitialBeta)}, Sum-of-Gamma k {I(_config.EffectiveNoiseK)}, T {I(_config.NoiseTemperature)}",
            _ => "none (BCE on path logits)",
        },
        ["seed"] = I(_config.Seed),
        ["device"] = DeviceNames.Of(_device),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <summary>Learning rate at a step: the base rate, x0.1 from 60 % of the epochs, x0.01 from 80 %.</summary>
    public double LearningRateAt(long step)
    {
        double epoch = (double)(step / _stepsPerEpoch);
        double lr = _config.LearningRate;
        if (epoch >= Math.Ceiling(0.6 * _config.Epochs) && _config.Epochs >= 3) lr *= 0.1;
        if (epoch >= Math.Ceiling(0.8 * _config.Epochs) && _config.Epochs >= 3) lr *= 0.1;
        return lr;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        ApplyLearningRate(step);
        var index = _batches.Indices(step);
        var images = _train.FloatImages(index).to(_device);
        var y = _train.Paths.index_select(0, index).to(_device);
        _adam.zero_grad();
        var output = _model.forward(images);
        Tensor loss, z;
        if (_imle is null)
        {
            loss = nn.functional.binary_cross_entropy_with_logits(output, y);
            using (torch.no_grad()) z = _solver.Solve(nn.functional.softplus(output.detach().neg()));
        }
        else
        {
            var costs = nn.functional.softplus(output);
            z = _imle.forward(costs);
            loss = PathMetrics.Hamming(z, y).mean();
        }
        loss.backward();
        _adam.step();
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = loss.item<float>(),
            ["train_accuracy"] = PathMetrics.Accuracy(z.detach().cpu(), _train.Costs.index_select(0, index), _train.OptimalCosts.index_select(0, index)),
            ["lr"] = LearningRateAt(step),
        };
        if (_adaptive is not null)
        {
            metrics["lambda"] = _adaptive.LastLambda;
            metrics["beta"] = _adaptive.Beta;
            metrics["nonzeros"] = _adaptive.NonZeroRate;
        }
        return metrics;
    }

    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_stepsPerEpoch, _config.EvalsPerEpoch);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        var val = Score(_validation);
        var test = Score(_test);
        return new Dictionary<string, double>
        {
            ["val_accuracy"] = val.Accuracy,
            ["test_accuracy"] = test.Accuracy,
            ["test_exact_match"] = test.ExactMatch,
            ["test_hamming"] = test.Hamming,
            ["test_regret"] = test.Regret,
            ["epoch"] = (double)stepsDone / _stepsPerEpoch,
        };
    }

    /// <summary>Scores of the model's noise-free paths on a set of maps.</summary>
    /// <param name="Accuracy">Fraction of maps whose path's true cost is optimal (<see cref="PathMetrics.IsOptimal"/>).</param>
    /// <param name="ExactMatch">Fraction of maps whose path equals the generator's path cell by cell.</param>
    /// <param name="Hamming">Mean Hamming distance to the generator's path.</param>
    /// <param name="Regret">Mean relative excess cost (c(z) - c*) / c*.</param>
    public sealed record Scores(double Accuracy, double ExactMatch, double Hamming, double Regret);

    /// <summary>Scores the model on <paramref name="data"/> (eval mode, no gradient).</summary>
    public Scores Score(WarcraftDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = _model.training;
        _model.eval();
        try
        {
            using var _ = torch.no_grad();
            int n = data.Count, optimal = 0, exact = 0;
            double hamming = 0, regret = 0;
            for (int s = 0; s < n; s += EvalChunk)
            {
                using var scope = torch.NewDisposeScope();
                var index = torch.arange(s, Math.Min(n, s + EvalChunk), dtype: ScalarType.Int64);
                var z = PredictPaths(data.FloatImages(index));
                var y = data.Paths.index_select(0, index);
                var cost = PathMetrics.PathCosts(z, data.Costs.index_select(0, index)).data<double>().ToArray();
                var opt = data.OptimalCosts.index_select(0, index).data<double>().ToArray();
                optimal += PathMetrics.CountOptimal(cost, opt);
                for (int k = 0; k < cost.Length; k++) regret += (cost[k] - opt[k]) / opt[k];
                var h = PathMetrics.Hamming(z, y);
                hamming += h.sum().item<float>();
                exact += (int)(h == 0).sum().item<long>();
            }
            return new Scores((double)optimal / n, (double)exact / n, hamming / n, regret / n);
        }
        finally
        {
            _model.train(wasTraining);
        }
    }

    /// <summary>The model's noise-free paths for float images [B, 3, N P, N P]: 0/1 [B, N, N] on the CPU.</summary>
    public Tensor PredictPaths(Tensor images)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var output = _model.forward(images.to(_device)).cpu();
        var costs = _config.Method == WarcraftMethod.Direct ? nn.functional.softplus(output.neg()) : nn.functional.softplus(output);
        return scope.MoveToOuter(_solver.Solve(costs).to(ScalarType.Float32));
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone)
    {
        ApplyLearningRate(stepsDone);
    }

    /// <summary>
    /// Writes two pictures of test map <paramref name="example"/> into <paramref name="directory"/>: <c>map.png</c>, its
    /// image, and <c>paths.png</c>, the image with the true path and the model's noise-free path.
    /// </summary>
    public void SaveExamplePictures(string directory, int example = 0)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (example < 0 || example >= _test.Count)
            throw new ArgumentOutOfRangeException(nameof(example), example, $"example must be in [0, {_test.Count - 1}] (got {example}).");
        using var scope = torch.NewDisposeScope();
        var image = _test.Images[example].reshape(-1).data<byte>().ToArray();
        var truePath = _test.Paths[example].reshape(-1).to(ScalarType.Float64).data<double>().ToArray();
        MapImage.SavePng(Path.Combine(directory, "map.png"), image, _config.Size, _config.PatchSize);
        var z = PredictPaths(_test.FloatImages(torch.tensor(new long[] { example })))[0];
        var predicted = z.reshape(-1).to(ScalarType.Float64).data<double>().ToArray();
        MapImage.SavePng(Path.Combine(directory, "paths.png"), image, _config.Size, _config.PatchSize, truePath: truePath, predictedPath: predicted);
    }

    /// <summary>Disposes the datasets when the task owns them.</summary>
    public void Dispose()
    {
        if (!_ownsData) return;
        _train.Dispose();
        _validation.Dispose();
        _test.Dispose();
    }

    private void ApplyLearningRate(long step)
    {
        double lr = LearningRateAt(step);
        foreach (var g in _adam.ParamGroups) g.LearningRate = lr;
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
