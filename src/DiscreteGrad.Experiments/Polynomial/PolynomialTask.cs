using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>The logits theta [N, 2] of the polynomial-programming experiment as a module (so checkpoints carry them).</summary>
public sealed class PolynomialLogits : nn.Module
{
    /// <summary>Wraps <paramref name="theta"/> (registered as the parameter "theta").</summary>
    public PolynomialLogits(Parameter theta) : base(nameof(PolynomialLogits))
    {
        Theta = theta;
        register_parameter("theta", theta);
    }

    /// <summary>theta [N, 2].</summary>
    public Parameter Theta { get; }
}

/// <summary>
/// One run of the polynomial-programming experiment as an <see cref="ITrainingTask"/>: theta [N, 2] starts U(-r, r); each
/// step expands it to [B, N, 2], draws <c>Categorical.Sample</c> with the run's estimator, takes z = value[..., 0],
/// loss = mean_b (1/N) sum_i |z_i - c|^p and applies one Adam update. One <see cref="Generator"/> seeded with the seed
/// draws the initialisation and every sample, so a seed gives the same initial theta for every estimator and p.
/// <para>The curve is evaluated before the first step and every <see cref="PolynomialConfig.LogEvery"/> steps: at theta
/// after s updates, the exact E[f] = mean_i [q_i |1 - c|^p + (1 - q_i) |c|^p] (closed form, float64), E[f] - min f, mean_i q_i
/// and the loss of the batch the next step draws at that theta ("train_loss"; drawn from a copy of the generator's state,
/// so the step then draws the very same batch). The last evaluation adds the final training loss: the mean of the
/// training losses of the last min(FinalWindow, Steps) steps.</para>
/// </summary>
public sealed class PolynomialTask : ITrainingTask, IDisposable
{
    private readonly PolynomialConfig _config;
    private readonly PolynomialLogits _model;
    private readonly Generator _generator;
    private readonly EstimatorOptions _options;
    private double _windowSum;

    /// <summary>Creates the run: draws the initial theta from the seeded generator on <paramref name="device"/>.</summary>
    public PolynomialTask(PolynomialConfig config, Device device)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(device);
        _config = config;
        _options = config.EstimatorOptions;
        _generator = new Generator((ulong)config.Seed, device);
        Parameter theta;
        using (var init = torch.NewDisposeScope())
        {
            var u = torch.rand(new long[] { config.Dimension, 2 }, dtype: config.DType, device: device, generator: _generator);
            var t0 = u.mul(2 * config.InitRange).sub_(config.InitRange);
            theta = new Parameter(t0, requires_grad: true);
            init.MoveToOuter(theta);
        }
        _model = new PolynomialLogits(theta);
        Optimizer = torch.optim.Adam(new[] { theta }, config.LearningRate);
        Configuration = GridSpec<PolynomialConfig>.ToSettings(config);
    }

    /// <inheritdoc />
    public string Name => $"polynomial-{EstimatorNames.Key(_config.Estimator)}-p{Inv(_config.Power)}-seed{_config.Seed}";
    /// <inheritdoc />
    public long TotalSteps => _config.Steps;
    /// <inheritdoc />
    public nn.Module Model => _model;
    /// <inheritdoc />
    public OptimizerHelper Optimizer { get; }
    /// <inheritdoc />
    public IReadOnlyList<Schedule> Schedules { get; } = Array.Empty<Schedule>();
    /// <inheritdoc />
    public IReadOnlyList<Generator> Generators => new[] { _generator };
    /// <inheritdoc />
    public IReadOnlyDictionary<string, string> Configuration { get; }
    /// <inheritdoc />
    public EvaluationCadence Cadence => new(_config.LogEvery, AtStart: true);

    /// <summary>theta [N, 2].</summary>
    public Tensor Theta => _model.Theta;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(long step)
    {
        double loss = BatchLoss(out var lossTensor);
        if (!double.IsFinite(loss)) return new Dictionary<string, double> { ["loss"] = loss };   // the runner stops, naming the step
        if (step >= _config.Steps - _config.Window) _windowSum += loss;
        Optimizer.zero_grad();
        lossTensor.backward();
        Optimizer.step();
        return new Dictionary<string, double> { ["loss"] = loss };
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> Evaluate(long stepsDone)
    {
        double c = _config.Target, p = _config.Power;
        double batch;
        using (var state = _generator.get_state())
        {
            batch = BatchLoss(out _);
            _generator.set_state(state);   // the next step draws this batch again
        }
        if (!double.IsFinite(batch))
            throw new NonFiniteValueException($"the loss of the batch drawn after {stepsDone} steps is {Inv(batch)}.", "loss");
        var metrics = new Dictionary<string, double>
        {
            ["train_loss"] = batch,
            ["exact_loss"] = PolynomialObjective.ExpectedLoss(Theta, c, p),
            ["excess_loss"] = PolynomialObjective.ExpectedExcessLoss(Theta, c, p),
            ["mean_q"] = PolynomialObjective.MeanProbabilityOfOne(ThetaValues()),
        };
        if (stepsDone == TotalSteps) metrics["final_train_loss"] = _windowSum / _config.Window;
        return metrics;
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) { }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> GetExtraState() =>
        new Dictionary<string, Tensor> { ["window_sum"] = torch.tensor(_windowSum, dtype: ScalarType.Float64) };

    /// <inheritdoc />
    public void SetExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _windowSum = state["window_sum"].ToDouble();
    }

    /// <summary>theta [N, 2], row-major, as float64 (exact copies of the stored values).</summary>
    public double[] ThetaValues()
    {
        using var scope = torch.NewDisposeScope();
        return Theta.detach().to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Optimizer.Dispose();
        _model.Dispose();
        _generator.Dispose();
    }

    /// <summary>Draws a batch at the current theta; returns its loss and the loss tensor (with the estimator's gradient path).</summary>
    private double BatchLoss(out Tensor loss)
    {
        var logits = Theta.unsqueeze(0).expand(_config.Batch, _config.Dimension, 2);
        var sample = Categorical.Sample(logits, _config.Estimator, _options, generator: _generator);
        loss = PolynomialObjective.Loss(sample.Value.select(-1, 0), _config.Target, _config.Power);
        return loss.ToDouble();
    }

    private static string Inv(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
