using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using OptimizerHelper = TorchSharp.Modules.OptimizerHelper;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>The logits theta [N, 2] of the polynomial-programming experiment as a module (so checkpoints carry them), with
/// REBAR's or RELAX's control variate when the run trains one.</summary>
public sealed class PolynomialLogits : nn.Module
{
    /// <summary>Wraps <paramref name="theta"/> (registered as the parameter "theta") and the control variate (as "control").</summary>
    public PolynomialLogits(Parameter theta, RelaxControl? control = null) : base(nameof(PolynomialLogits))
    {
        Theta = theta;
        Control = control;
        register_parameter("theta", theta);
        if (control is not null) register_module("control", control);
    }

    /// <summary>theta [N, 2].</summary>
    public Parameter Theta { get; }

    /// <summary>The control variate of REBAR / RELAX, or null.</summary>
    public RelaxControl? Control { get; }
}

/// <summary>
/// One run of the polynomial-programming experiment as an <see cref="ITrainingTask"/>: theta [N, 2] starts U(-r, r); each
/// step expands it to [B, N, 2], draws <c>Categorical.Sample</c> with the run's estimator, takes z = value[..., 0],
/// loss = mean_b (1/N) sum_i |z_i - c_i|^p and applies one Adam update. One <see cref="Generator"/> seeded with the seed
/// draws the initialisation and every sample, so a seed gives the same initial theta for every estimator and p.
/// <para>The score-function estimators draw B hard samples z ~ q per step (ARM and DisARM B / 2 antithetic pairs on the
/// Bernoulli logits theta_i0 - theta_i1, q_i = sigmoid of it) and apply the library's surrogate (REINFORCE with a moving
/// average of decay 0.9, RLOO, ARM, DisARM, IndeCateR, MuProp) or, for REBAR and RELAX, the estimate of
/// <c>Relax.Categorical</c> with the run's <see cref="RelaxControl"/>, whose parameters Adam steps on the variance with
/// the same learning rate; their training loss is the mean of f over the hard samples.</para>
/// <para>The curve is evaluated before the first step and every <see cref="PolynomialConfig.LogEvery"/> steps: at theta
/// after s updates, the exact E[f] = mean_i [q_i |1 - c|^p + (1 - q_i) |c|^p] (closed form, float64), E[f] - min f, mean_i q_i
/// and the loss of the batch the next step draws at that theta ("train_loss"; drawn from a copy of the generator's state,
/// so the step then draws the very same batch; for the score-function estimators: the mean of f over B samples z ~ q
/// drawn from that copy). The last evaluation adds the final training loss: the mean of the training losses of the last
/// min(FinalWindow, Steps) steps. With the ramp target vector the exact losses use the closed forms per coordinate.</para>
/// </summary>
public sealed class PolynomialTask : ITrainingTask, IDisposable
{
    private readonly PolynomialConfig _config;
    private readonly PolynomialLogits _model;
    private readonly Generator _generator;
    private readonly EstimatorOptions _options;
    private readonly double[] _targets;
    private readonly Tensor? _targetTensor;
    private readonly MovingAverageBaseline? _movingAverage;
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
        _targets = config.Targets;
        if (config.TargetVector != TargetVector.Constant)
            _targetTensor = torch.tensor(_targets, dtype: config.DType, device: device).DetachFromDisposeScope();
        if (config.Estimator == PolynomialEstimator.Reinforce) _movingAverage = new MovingAverageBaseline(0.9);
        // RELAX's network is initialised from TorchSharp's global generator, seeded under its process-wide lock.
        RelaxControl? control = config.Estimator is PolynomialEstimator.Rebar or PolynomialEstimator.Relax
            ? SeededInitialisation.Build(config.Seed, () => new RelaxControl(categorical: true, eventDims: 2, eventSize: 2L * config.Dimension,
                config.Estimator == PolynomialEstimator.Relax ? config.RelaxHidden : null, config.DType))
            : null;
        control?.to(device);
        _model = new PolynomialLogits(theta, control);
        Optimizer = control is null
            ? torch.optim.Adam(new[] { theta }, config.LearningRate)
            : torch.optim.Adam(new[] { theta }.Concat(control.parameters()), config.LearningRate);
        Configuration = GridSpec<PolynomialConfig>.ToSettings(config);
    }

    /// <inheritdoc />
    public string Name => $"polynomial-{PolynomialEstimators.Key(_config.Estimator)}-p{Inv(_config.Power)}"
                          + (_config.TargetVector == TargetVector.Constant ? "" : "-ramp") + $"-seed{_config.Seed}";
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
            batch = PolynomialEstimators.IsPathwise(_config.Estimator) ? BatchLoss(out _) : SampledLoss();
            _generator.set_state(state);   // the next step draws this batch again
        }
        if (!double.IsFinite(batch))
            throw new NonFiniteValueException($"the loss of the batch drawn after {stepsDone} steps is {Inv(batch)}.", "loss");
        bool constant = _targetTensor is null;
        var metrics = new Dictionary<string, double>
        {
            ["train_loss"] = batch,
            ["exact_loss"] = constant ? PolynomialObjective.ExpectedLoss(Theta, c, p) : PolynomialObjective.ExpectedLoss(Theta, _targets, p),
            ["excess_loss"] = constant ? PolynomialObjective.ExpectedExcessLoss(Theta, c, p) : PolynomialObjective.ExpectedExcessLoss(Theta, _targets, p),
            ["mean_q"] = PolynomialObjective.MeanProbabilityOfOne(ThetaValues()),
        };
        if (stepsDone == TotalSteps) metrics["final_train_loss"] = _windowSum / _config.Window;
        return metrics;
    }

    /// <inheritdoc />
    public void OnRestored(long stepsDone) { }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> GetExtraState()
    {
        var state = new Dictionary<string, Tensor> { ["window_sum"] = torch.tensor(_windowSum, dtype: ScalarType.Float64) };
        if (_movingAverage is not null)
        {
            var (biased, steps) = _movingAverage.GetState();
            state["baseline"] = torch.tensor(new[] { biased, steps }, dtype: ScalarType.Float64);
        }
        return state;
    }

    /// <inheritdoc />
    public void SetExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _windowSum = state["window_sum"].ToDouble();
        if (_movingAverage is not null && state.TryGetValue("baseline", out var b))
        {
            var v = b.data<double>().ToArray();
            _movingAverage.SetState(v[0], (long)v[1]);
        }
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
        _targetTensor?.Dispose();
    }

    /// <summary>f per sample: z [..., N] (z_i = 1 for category 0) to (1/N) sum_i |z_i - c_i|^p, [...].</summary>
    private Tensor F(Tensor z) => _targetTensor is null
        ? PolynomialObjective.Distance(z - _config.Target).pow(_config.Power).mean(new long[] { -1 })
        : PolynomialObjective.Values(z, _targetTensor, _config.Power);

    /// <summary>f of a one-hot (or relaxed) two-class state [..., N, 2], through its first coordinate.</summary>
    private Tensor FOfStates(Tensor states) => F(states.select(-1, 0));

    /// <summary>
    /// Draws a batch at the current theta; returns its loss and the tensor whose backward() applies the estimator: the
    /// loss itself for the pathwise estimators, the score-function surrogate (or REBAR / RELAX's, <see cref="RelaxControl.Surrogate"/>)
    /// otherwise, whose value is the mean of f over the hard samples.
    /// </summary>
    private double BatchLoss(out Tensor loss)
    {
        int batch = _config.Batch;
        if (PolynomialEstimators.PathwiseKind(_config.Estimator) is { } kind)
        {
            var logits = Theta.unsqueeze(0).expand(batch, _config.Dimension, 2);
            var sample = Categorical.Sample(logits, kind, _options, generator: _generator);
            loss = _targetTensor is null
                ? PolynomialObjective.Loss(sample.Value.select(-1, 0), _config.Target, _config.Power)
                : PolynomialObjective.Loss(sample.Value.select(-1, 0), _targetTensor, _config.Power);
            return loss.ToDouble();
        }
        Tensor values;
        switch (_config.Estimator)
        {
            case PolynomialEstimator.Reinforce or PolynomialEstimator.Rloo:
            {
                IBaseline baseline = _movingAverage ?? (IBaseline)new LeaveOneOutBaseline();
                var r = Reinforce.Categorical(Theta, FOfStates, baseline, samples: batch, generator: _generator);
                (loss, values) = (r.Surrogate.mean(), r.Values);
                break;
            }
            case PolynomialEstimator.Arm or PolynomialEstimator.DisArm:
            {
                // P(z_i = 1) = softmax(theta_i)[0] = sigmoid(theta_i0 - theta_i1).
                var phi = (Theta.select(-1, 0) - Theta.select(-1, 1)).unsqueeze(0).expand(batch / 2, _config.Dimension);
                var r = _config.Estimator == PolynomialEstimator.DisArm ? DisArm.Bernoulli(phi, F, _generator) : Arm.Bernoulli(phi, F, _generator);
                (loss, values) = (r.Surrogate.mean(), r.Values);
                break;
            }
            case PolynomialEstimator.IndeCateR:
            {
                var r = ScoreFunction.IndeCateR.Categorical(Theta, FOfStates, batch, _generator);
                (loss, values) = (r.Surrogate.mean(), r.Values);
                break;
            }
            case PolynomialEstimator.MuProp:
            {
                var r = ScoreFunction.MuProp.Categorical(Theta, FOfStates, batch, _generator);
                (loss, values) = (r.Surrogate.mean(), r.Values);
                break;
            }
            default:
            {
                var control = _model.Control!;
                var r = Relax.Categorical(Theta, FOfStates, z => control.Value(z, FOfStates), batch, _generator);
                (loss, values) = (control.Surrogate(Theta, r), r.Values.detach());
                break;
            }
        }
        return values.mean().ToDouble();
    }

    /// <summary>The mean of f over B samples z ~ q at the current theta (the training loss of the score-function estimators).</summary>
    private double SampledLoss()
    {
        using var scope = torch.NewDisposeScope();
        var z = Samples.Categorical(Theta.detach(), _config.Batch, _generator);
        return FOfStates(z).mean().ToDouble();
    }

    private static string Inv(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
