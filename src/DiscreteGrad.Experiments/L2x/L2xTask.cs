using System.Globalization;
using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Imle;
using DiscreteGrad.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.L2x;

/// <summary>
/// One L2X run for the <see cref="ExperimentRunner"/>: the <see cref="L2xModel"/> around the estimator's k-subset layer
/// (<see cref="TopKLayers.Create"/>: I-MLE with a fixed lambda or AIMLE with an <see cref="AdaptiveImleTarget"/>, forward or
/// central, on top-k with Sum-of-Gamma(k, 10 terms) noise; straight-through top-k; the score function on perturb-and-MAP
/// samples with the leave-one-out baseline; SIMPLE), Adam, MSE on the aspect's rating. Batches follow a permutation per
/// epoch drawn from a generator seeded by (seed, epoch). Training loss: the mean over the B*S samples of
/// (prediction - rating)^2; the score function adds its surrogate (value 0, gradient the estimate of the batch mean) for the
/// selector. Evaluation every <see cref="L2xConfig.EvalEvery"/> steps on all test reviews with the MAP subset topk(theta)
/// (no noise): test MSE and subset precision.
/// </summary>
public sealed class L2xTask : ITrainingTask, IDisposable
{
    private readonly L2xConfig _config;
    private readonly L2xData _data;
    private readonly L2xModel _model;
    private readonly AdaptiveImleTarget? _adaptive;
    private readonly ScoreFunctionMap? _sfe;
    private readonly Generator _noise;
    private readonly EpochBatches _batches;
    private readonly bool _ownsData;

    /// <summary>Builds the model on the device of <paramref name="data"/>; <paramref name="data"/> is disposed with the task when <paramref name="ownsData"/>.</summary>
    public L2xTask(L2xConfig config, L2xData data, bool ownsData = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(data);
        config.Validate();
        if (data.Aspect != config.Aspect) throw new ArgumentException($"data are for the aspect {data.Aspect}, the configuration for {config.Aspect}.", nameof(data));
        _config = config;
        _data = data;
        _ownsData = ownsData;
        _noise = new Generator((ulong)config.Seed);
        _adaptive = config.Method is GradientMethod.AimleForward or GradientMethod.AimleCentral
            ? new AdaptiveImleTarget(config.AimleTargetNonZeros, config.AimleStep, config.AimleInitialBeta)
            : null;
        var layer = TopKLayers.Create(config.Method, config.K, ImleNoise.SumOfGamma(config.K, 10), config.Samples, config.Lambda, _adaptive,
            config.Temperature, _noise);
        _sfe = layer as ScoreFunctionMap;
        int samples = _sfe?.Samples ?? config.Samples;
        _model = SeededInitialisation.Build(config.Seed, () => new L2xModel(config, BeerReviewVocabulary.Size, layer, samples));
        _model.to(data.TrainTokens.device);
        Optimizer = new Optim.Adam(_model.parameters().Where(p => p.requires_grad), config.LearningRate);
        _batches = new EpochBatches(config.TrainReviews, config.BatchSize, config.Seed, data.TrainTokens.device);
    }

    /// <inheritdoc />
    public string Name => $"l2x-{GradientMethods.Key(_config.Method)}-k{_config.K}-{_config.Aspect.ToString().ToLowerInvariant()}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps => _config.Steps;
    /// <summary>The configuration.</summary>
    public L2xConfig Config => _config;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <summary>The L2X model.</summary>
    public L2xModel L2x => _model;
    /// <summary>The data.</summary>
    public L2xData Data => _data;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules => Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _noise };

    /// <summary>The estimator in words.</summary>
    public static string Estimator(L2xConfig c)
    {
        ArgumentNullException.ThrowIfNull(c);
        string noise = $"Sum-of-Gamma(k = {I(c.K)}, 10 terms) noise at temperature {I(c.Temperature)}";
        return c.Method switch
        {
            GradientMethod.ImleForward or GradientMethod.ImleCentral =>
                $"I-MLE ({(c.Method == GradientMethod.ImleCentral ? "central" : "forward")} difference), top-k, {noise}, fixed lambda {I(c.Lambda)}, gradient / lambda",
            GradientMethod.AimleForward or GradientMethod.AimleCentral =>
                $"AIMLE ({(c.Method == GradientMethod.AimleCentral ? "central" : "forward")} difference), top-k, {noise}, lambda = beta ||theta|| / ||dL/dz||, beta from {I(c.AimleInitialBeta)} in steps of {I(c.AimleStep)} towards {I(c.AimleTargetNonZeros)} non-zero gradient entries per review and sample",
            GradientMethod.StraightThrough => $"straight-through top-k: z = topk(theta + noise), {noise}, gradient dL/dz",
            GradientMethod.ScoreFunctionPam => $"score function on z = topk(theta + noise), {noise}, {Math.Max(2, c.Samples)} samples per review, leave-one-out baseline",
            GradientMethod.Simple => "SIMPLE: exact samples of the k-subset distribution, gradient of its exact marginals",
            _ => throw new ArgumentOutOfRangeException(nameof(c), c.Method, "no L2X estimator."),
        };
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration => new Dictionary<string, string>
    {
        ["estimator"] = Estimator(_config),
        ["aspect"] = _config.Aspect.ToString().ToLowerInvariant(),
        ["k"] = I(_config.K),
        ["data"] = $"synthetic beer reviews, {I(_config.TrainReviews)} train / {I(_config.TestReviews)} test, {I(_config.Length)} tokens, correlation {I(_config.Correlation)}, data seed {I(_config.DataSeed)}",
        ["embeddings"] = $"{(_config.Embeddings == L2xEmbeddings.Fixed ? "fixed random N(0, 1)" : "trainable")}, width {I(_config.EmbeddingDim)}",
        ["network"] = $"selector {I(_config.Filters)} filters, predictor {I(_config.EmbeddingDim)}-{I(_config.Hidden)}-1",
        ["samples"] = I(_model.Samples),
        ["steps"] = I(_config.Steps),
        ["batch"] = I(_config.BatchSize),
        ["optimiser"] = $"Adam lr {I(_config.LearningRate)}",
        ["seed"] = I(_config.Seed),
        ["device"] = DeviceNames.Of(_data.TrainTokens.device),
        ["torch threads"] = I(torch.get_num_threads()),
    };

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        var index = _batches.Indices(step);
        var tokens = _data.TrainTokens.index_select(0, index);
        var y = _data.TrainRatings.index_select(0, index);
        Optimizer.zero_grad();
        var o = _model.Forward(tokens);
        var target = _model.Samples == 1 ? y : y.repeat_interleave(_model.Samples, 0);
        var f = (o.Prediction - target).square();                                 // [B*S]
        var mse = f.mean();
        var loss = _sfe is null ? mse : mse + _sfe.Surrogate(o.Logits, o.Subset, f.detach() / tokens.shape[0]);
        loss.backward();
        Optimizer.step();
        var metrics = new Dictionary<string, double>
        {
            ["loss"] = mse.item<float>(),
            ["train_precision"] = L2xMetrics.SubsetPrecision(o.Subset, Repeat(_data.TrainRationale.index_select(0, index))),
        };
        if (_adaptive is not null)
        {
            metrics["beta"] = _adaptive.Beta;
            metrics["lambda"] = _adaptive.LastLambda;
            metrics["nonzero_rate"] = _adaptive.NonZeroRate;
        }
        return metrics;
    }

    private Tensor Repeat(Tensor x) => _model.Samples == 1 ? x : x.repeat_interleave(_model.Samples, 0);

    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_config.EvalEvery);

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        using var _ = torch.no_grad();
        var (z, prediction) = _model.Explain(_data.TestTokens);
        return new Dictionary<string, double>
        {
            ["test_mse"] = (prediction - _data.TestRatings).square().mean().item<float>(),
            ["precision"] = L2xMetrics.SubsetPrecision(z, _data.TestRationale),
        };
    }

    /// <summary>Test review <paramref name="index"/>: its words, its rationale, the MAP subset and the predicted and true ratings.</summary>
    public (IReadOnlyList<string> Words, bool[] Rationale, bool[] Selected, double Predicted, double Rating) Example(int index)
    {
        if (index < 0 || index >= _config.TestReviews)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index must be in [0, {_config.TestReviews - 1}].");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (z, prediction) = _model.Explain(_data.TestTokens.narrow(0, index, 1));
        var selected = z.reshape(-1).data<float>().ToArray().Select(v => v > 0.5f).ToArray();
        var rationale = Enumerable.Range(0, _config.Length).Select(t => _data.TestReviews.InRationale(index, t, _config.Aspect)).ToArray();
        return (_data.TestReviews.Words(index), rationale, selected, prediction.item<float>(), _data.TestReviews.Rating(index, _config.Aspect));
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) { }

    /// <summary>Disposes the data when the task owns it.</summary>
    public void Dispose()
    {
        _batches.Dispose();
        if (_ownsData) _data.Dispose();
    }

    private static string I(double x) => x.ToString(CultureInfo.InvariantCulture);
}
