using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>What <see cref="NvilBaseline.Surrogate"/> produces.</summary>
/// <param name="Surrogate">The REINFORCE surrogate sg(signal) (log p - sg(log p)) + f, shape of f, value f. It does NOT
/// contain the baseline network's loss.</param>
/// <param name="BaselineLoss">The baseline network's training loss mean((f - m - c_psi(x))^2) (scalar; zero without a
/// network). Returned separately: add it to the loss you minimise (its gradient reaches only psi, since f and m are
/// constants in it and x is detached), or step psi with its own optimiser.</param>
/// <param name="Signal">The learning signal (f - m - c_psi(x)) / max(1, sqrt(v)), detached.</param>
/// <param name="Scale">The divisor max(1, sqrt(v)) used this step (1 when normalisation is off or before the first update).</param>
public sealed record NvilResult(Tensor Surrogate, Tensor BaselineLoss, Tensor Signal, double Scale);

/// <summary>
/// NVIL control variates (Mnih and Gregor 2014, "Neural variational inference and learning in belief networks"
/// section 3.1): the learning signal of REINFORCE is centred by a running mean m of f, an input-dependent baseline
/// network c_psi(x) is subtracted, and the result is divided by max(1, sqrt(v)), v a running mean of the squared
/// residual:
/// <code>signal = (f - m - c_psi(x)) / max(1, sqrt(v)),   baseline loss = mean((f - m - c_psi(x))^2) (trains psi)</code>
/// m and v are exponential moving averages (bias-corrected, as in <see cref="MovingAverageBaseline"/>); the values used in
/// a step are those from before it, so for that step they are constants and c_psi(x) does not depend on z: the direction
/// of the estimator is unbiased and only the scale 1/max(1, sqrt v) changes it (an adaptive learning rate). Each instance
/// keeps its own running statistics.
/// </summary>
public sealed class NvilBaseline
{
    private double _mBiased, _vBiased;

    /// <summary>Creates the control variates.</summary>
    /// <param name="network">c_psi: maps the input x to values broadcastable to f, e.g. [B] for f [B] or [S, B]; a trailing
    /// singleton ([B, 1]) is dropped when needed. Null: centring and normalisation only.</param>
    /// <param name="decay">Decay of the running mean and variance, in (0, 1).</param>
    /// <param name="normaliseVariance">Divide by max(1, running std) (NVIL's variance normalisation).</param>
    public NvilBaseline(nn.Module<Tensor, Tensor>? network = null, double decay = 0.9, bool normaliseVariance = true)
    {
        Checks.Decay(decay, nameof(decay));
        Network = network;
        Decay = decay;
        NormaliseVariance = normaliseVariance;
    }

    /// <summary>The baseline network c_psi (null when none).</summary>
    public nn.Module<Tensor, Tensor>? Network { get; }
    /// <summary>Decay of the running statistics.</summary>
    public double Decay { get; }
    /// <summary>Whether the signal is divided by max(1, running std).</summary>
    public bool NormaliseVariance { get; }
    /// <summary>Number of updates so far.</summary>
    public long Steps { get; private set; }
    /// <summary>Running mean m of f (0 before the first update).</summary>
    public double Mean => Steps == 0 ? 0 : _mBiased / (1 - Math.Pow(Decay, Steps));
    /// <summary>Running mean v of the squared residual (f - m - c_psi(x))^2, m the updated mean (1 before the first update).</summary>
    public double Variance => Steps == 0 ? 1 : _vBiased / (1 - Math.Pow(Decay, Steps));
    /// <summary>The divisor max(1, sqrt(v)) the next step uses.</summary>
    public double Scale => NormaliseVariance ? Math.Max(1.0, Math.Sqrt(Variance)) : 1.0;

    /// <summary>Builds the NVIL surrogate for values f and log-probabilities of the same shape, then updates m and v.</summary>
    /// <param name="f">f(z) (for NVIL's ELBO: log p(x, z) - log q(z | x)), floating point and finite.</param>
    /// <param name="logProb">log q(z | x), shape of f.</param>
    /// <param name="input">x for the baseline network (detached before use); required when a network was given.</param>
    public NvilResult Surrogate(Tensor f, Tensor logProb, Tensor? input = null)
    {
        Reinforce.CheckSignal(f, logProb);
        if (Network is not null && input is null)
            throw new ArgumentException("input must be given when the NVIL baseline has a network c_psi(x).", nameof(input));
        using var scope = torch.NewDisposeScope();
        var fd = f.detach();
        double m = Mean, scale = Scale;
        var centred = fd - m;
        Tensor residual, loss;
        if (Network is not null)
        {
            var c = Network.call(input!.detach());
            // A trailing singleton ([B, 1] from a Linear(., 1)) is dropped when the output would not broadcast otherwise.
            if (!Checks.Broadcastable(c, fd) && c.dim() >= 1 && c.shape[^1] == 1) c = c.squeeze(-1);
            Checks.BroadcastsTo(c, fd, nameof(input), nameof(f));
            residual = centred - c.detach();
            loss = (centred - c).pow(2).mean();
        }
        else
        {
            residual = centred;
            loss = torch.zeros(Array.Empty<long>(), dtype: f.dtype, device: f.device);
        }
        var signal = scale == 1.0 ? residual : residual / scale;
        var surrogate = Reinforce.FromSignal(signal, logProb, f);

        // Update: m with mean(f); v with the squared residual about the updated m (so the first steps, whose m is still far
        // from E[f], do not inflate v with the squared mean of f).
        double fMean = fd.to(ScalarType.Float64).mean().item<double>();
        _mBiased = Decay * _mBiased + (1 - Decay) * fMean;
        Steps++;
        double mNew = _mBiased / (1 - Math.Pow(Decay, Steps));
        double r2 = (residual.to(ScalarType.Float64) + (m - mNew)).pow(2).mean().item<double>();
        _vBiased = Decay * _vBiased + (1 - Decay) * r2;
        return new NvilResult(scope.MoveToOuter(surrogate), scope.MoveToOuter(loss), scope.MoveToOuter(signal), scale);
    }

    /// <summary>Forgets the running statistics (the network is left as it is).</summary>
    public void Reset() { _mBiased = 0; _vBiased = 0; Steps = 0; }

    /// <summary>The running statistics (uncorrected averages of f and of the squared residual, update count), for
    /// checkpoints. The network's parameters are not part of it.</summary>
    public (double MeanBiased, double VarianceBiased, long Steps) GetState() => (_mBiased, _vBiased, Steps);

    /// <summary>Restores running statistics from <see cref="GetState"/>.</summary>
    /// <param name="meanBiased">Uncorrected running mean of f, finite.</param>
    /// <param name="varianceBiased">Uncorrected running mean of the squared residual, finite and &gt;= 0.</param>
    /// <param name="steps">Number of updates, &gt;= 0.</param>
    public void SetState(double meanBiased, double varianceBiased, long steps)
    {
        Checks.FiniteValue(meanBiased, nameof(meanBiased));
        Guard.NonNegative(varianceBiased, nameof(varianceBiased));
        Guard.AtLeast(steps, 0, nameof(steps));
        _mBiased = meanBiased;
        _vBiased = varianceBiased;
        Steps = steps;
    }
}
