using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>
/// A control variate b for the REINFORCE learning signal f - b that does not depend on the sample it multiplies, so
/// E[(f(z) - b) grad log p(z)] = grad E[f] (Williams, 1992). Each instance holds its own state.
/// </summary>
public interface IBaseline
{
    /// <summary>
    /// The baseline for the values <paramref name="f"/>: a tensor without gradient that broadcasts to f's shape. Stateful
    /// baselines return the value they held before this call (a constant for this step, hence unbiased) and then update
    /// their state with f.
    /// </summary>
    Tensor Compute(Tensor f);
}

/// <summary>A fixed baseline b (a constant: REINFORCE stays unbiased for any value).</summary>
public sealed class ConstantBaseline : IBaseline
{
    /// <summary>Creates the baseline.</summary>
    /// <param name="value">b, finite.</param>
    public ConstantBaseline(double value)
    {
        Checks.FiniteValue(value, nameof(value));
        Value = value;
    }

    /// <summary>b.</summary>
    public double Value { get; }

    /// <inheritdoc />
    public Tensor Compute(Tensor f) => torch.tensor(Value, dtype: f.dtype, device: f.device);
}

/// <summary>
/// Exponential moving average of f: m_t = decay m_{t-1} + (1 - decay) mean(f_t), with Adam-style bias correction
/// b_t = m_t / (1 - decay^t) so the early values are not pulled towards 0. The baseline used at step t is b_{t-1}, the
/// value before f_t is seen (before the first update: <see cref="InitialValue"/>), so it is a constant for that step and
/// the estimator is unbiased. Decay 0.9-0.95 is customary (NVIL, Mnih and Gregor 2014).
/// </summary>
public sealed class MovingAverageBaseline : IBaseline
{
    private double _biased;

    /// <summary>Creates the baseline.</summary>
    /// <param name="decay">Decay rate in (0, 1).</param>
    /// <param name="initialValue">The baseline before any update (0: plain REINFORCE on the first step).</param>
    public MovingAverageBaseline(double decay = 0.9, double initialValue = 0.0)
    {
        Checks.Decay(decay, nameof(decay));
        Checks.FiniteValue(initialValue, nameof(initialValue));
        Decay = decay;
        InitialValue = initialValue;
    }

    /// <summary>The decay rate.</summary>
    public double Decay { get; }
    /// <summary>The baseline before the first update.</summary>
    public double InitialValue { get; }
    /// <summary>Number of updates so far.</summary>
    public long Steps { get; private set; }
    /// <summary>The current (bias-corrected) running mean: the baseline the next <see cref="Compute"/> returns.</summary>
    public double Value => Steps == 0 ? InitialValue : _biased / (1 - Math.Pow(Decay, Steps));

    /// <inheritdoc />
    public Tensor Compute(Tensor f)
    {
        Checks.FloatingFinite(f, nameof(f));
        var b = torch.tensor(Value, dtype: f.dtype, device: f.device);
        Update(f);
        return b;
    }

    /// <summary>Folds mean(f) into the running mean (one device synchronisation).</summary>
    public void Update(Tensor f)
    {
        ArgumentNullException.ThrowIfNull(f);
        using var _ = torch.NewDisposeScope();
        double m = f.detach().to(ScalarType.Float64).mean().item<double>();
        if (!double.IsFinite(m)) throw new NonFiniteValueException("f must be finite; its mean is NaN or infinite.", nameof(f));
        _biased = Decay * _biased + (1 - Decay) * m;
        Steps++;
    }

    /// <summary>Forgets all updates.</summary>
    public void Reset() { _biased = 0; Steps = 0; }

    /// <summary>The running state (the uncorrected average and the update count), for checkpoints.</summary>
    public (double Biased, long Steps) GetState() => (_biased, Steps);

    /// <summary>Restores a state from <see cref="GetState"/> (the decay and initial value are not part of it).</summary>
    /// <param name="biased">The uncorrected running average, finite.</param>
    /// <param name="steps">The number of updates, &gt;= 0.</param>
    public void SetState(double biased, long steps)
    {
        Checks.FiniteValue(biased, nameof(biased));
        Guard.AtLeast(steps, 0, nameof(steps));
        _biased = biased;
        Steps = steps;
    }
}

/// <summary>
/// Leave-one-out baseline over S samples (RLOO; Kool, van Hoof and Welling 2019, "Buy 4 REINFORCE samples, get a baseline
/// for free!"): for f [S, ...], b_s = (sum_{j != s} f_j) / (S - 1). b_s does not depend on z_s, so each term is unbiased;
/// average the surrogates over the sample dimension. Needs S &gt;= 2.
/// </summary>
public sealed class LeaveOneOutBaseline : IBaseline
{
    /// <inheritdoc />
    public Tensor Compute(Tensor f)
    {
        ArgumentNullException.ThrowIfNull(f);
        Checks.SamplesAlongDim0(f, 2, nameof(f), "The leave-one-out (RLOO) baseline");
        using var scope = torch.NewDisposeScope();
        var fd = f.detach();
        long s = f.shape[0];
        var b = (fd.sum(dim: 0, keepdim: true) - fd) / (s - 1);
        return scope.MoveToOuter(b);
    }
}
