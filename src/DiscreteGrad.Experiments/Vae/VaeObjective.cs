using DiscreteGrad.Estimators;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>What one training forward of the VAE gives.</summary>
/// <param name="Loss">The scalar to minimise (backward() gives the estimator's gradients of every parameter).</param>
/// <param name="Nelbo">Single-sample -ELBO per image, BCE(z, x) + KL, at the hard sample(s) drawn in this step (for VIMCO
/// the mean over its K samples), detached [B].</param>
/// <param name="Bce">BCE(z, x) per image at those samples, detached [B].</param>
/// <param name="Kl">KL(q || uniform) per image, detached [B].</param>
/// <param name="NegativeBound">VIMCO only: -log (1/K) sum_k w_k per image, detached [B]; null otherwise.</param>
public sealed record VaeLoss(Tensor Loss, Tensor Nelbo, Tensor Bce, Tensor Kl, Tensor? NegativeBound);

/// <summary>
/// The training objective of the categorical VAE for one estimator, with that estimator's state (random generator, the
/// moving-average baseline, NVIL's baseline network and running statistics). It is a module so that NVIL's network is
/// optimised and checkpointed with the VAE; the running statistics of the baselines are not module state: the task
/// checkpoints them through its extra-state hook (<see cref="GetBaselineState"/>, <see cref="SetBaselineState"/>).
/// <list type="bullet">
/// <item>Pathwise (ST, STGS, GST-1.0, GR-MCK, ReinMax): z = <see cref="DiscreteGrad.Estimators.Categorical.Sample(Tensor, DiscreteGrad.Estimators.EstimatorKind, DiscreteGrad.Estimators.EstimatorOptions?, long, Generator?, Tensor?, Tensor?)"/>(theta).Value, loss =
/// mean_B(BCE(z, x) + KL(theta)); the gradient reaches theta through the estimator and the decoder through z.</item>
/// <item>Score-function (REINFORCE with a moving-average baseline, NVIL, MuProp): f(z) = BCE(z, x) at a hard sample
/// z ~ q(.|x); the encoder gets the estimator's gradient of E_q[f] through log q(z | x), the KL term is differentiated
/// analytically, the decoder gets grad BCE(z, x) (the pathwise part of the surrogates). loss = mean_B(surrogate + KL)
/// (+ NVIL's baseline-network loss, whose gradient reaches only that network).</item>
/// <item>VIMCO: the K-sample bound L = log (1/K) sum_k w_k, log w_k = -BCE(z_k, x) - L log C - log q(z_k | x) (uniform prior),
/// loss = -mean_B(VIMCO surrogate); it trains the K-sample bound (not the ELBO), as VIMCO is defined.</item>
/// <item>IndeCateR: one code per image and its L C one-variable changes, decoded in one batch (f = BCE per image); the
/// surrogate gives the encoder its estimate and the decoder grad BCE at the sampled code.</item>
/// <item>REBAR / RELAX: <see cref="Relax.Categorical"/> with one sample per image and the objective's
/// <see cref="RelaxControl"/> (a module of the objective, so Adam steps it and checkpoints carry it); the encoder gets the
/// estimate through <see cref="RelaxControl.Surrogate"/>, the decoder grad BCE(b, x), the control variate the gradient of
/// the Monte Carlo variance.</item>
/// </list>
/// </summary>
public sealed class VaeObjective : nn.Module
{
    private readonly VaeConfig _config;
    private readonly Generator _generator;
    private readonly MovingAverageBaseline? _movingAverage;
    private readonly NvilBaseline? _nvil;
    private readonly Sequential? nvil_network;
    private readonly RelaxControl? relax_control;

    /// <summary>Creates the objective of <paramref name="config"/>'s estimator, drawing every sample from <paramref name="generator"/>.</summary>
    public VaeObjective(VaeConfig config, Generator generator) : base(nameof(VaeObjective))
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(generator);
        config.Validate();
        _config = config;
        _generator = generator;
        if (config.Estimator == VaeEstimator.Reinforce) _movingAverage = new MovingAverageBaseline(config.BaselineDecay);
        if (config.Estimator == VaeEstimator.Nvil)
        {
            nvil_network = nn.Sequential(("fc1", nn.Linear(CategoricalVae.Pixels, config.NvilHidden)), ("tanh", nn.Tanh()),
                ("fc2", nn.Linear(config.NvilHidden, 1)));
            register_module("nvil_network", nvil_network);
            _nvil = new NvilBaseline(nvil_network, config.BaselineDecay);
        }
        if (config.Estimator is VaeEstimator.Rebar or VaeEstimator.Relax)
        {
            relax_control = new RelaxControl(categorical: true, eventDims: 2, eventSize: config.CodeSize,
                config.Estimator == VaeEstimator.Relax ? config.RelaxHidden : null);
            register_module("relax_control", relax_control);
        }
    }

    /// <summary>REBAR's or RELAX's control variate (those two only).</summary>
    public RelaxControl? Control => relax_control;

    /// <summary>The estimator.</summary>
    public VaeEstimator Estimator => _config.Estimator;

    /// <summary>The moving-average baseline (REINFORCE only).</summary>
    public MovingAverageBaseline? MovingAverage => _movingAverage;

    /// <summary>NVIL's control variates (NVIL only).</summary>
    public NvilBaseline? Nvil => _nvil;

    /// <summary>The training loss on images x [B, 784] (see the class remarks).</summary>
    public VaeLoss Loss(CategoricalVae vae, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(vae);
        if (vae.Categories != _config.Categories || vae.Latents != _config.Latents)
            throw new ArgumentException($"vae is {vae.Categories}x{vae.Latents}; this objective was built for {_config.Shape}.", nameof(vae));
        using var scope = torch.NewDisposeScope();
        var theta = vae.EncoderLogits(x);
        var kl = CategoricalVae.KlToUniform(theta);
        Tensor loss, bce;
        Tensor? negBound = null;
        Func<Tensor, Tensor> f = z => vae.Bce(z, x);
        switch (_config.Estimator)
        {
            case var e when VaeEstimators.IsPathwise(e):
            {
                var s = DiscreteGrad.Estimators.Categorical.Sample(theta, VaeEstimators.PathwiseKind(e), _config.PathwiseOptions, generator: _generator);
                var b = vae.Bce(s.Value, x);
                loss = (b + kl).mean();
                bce = b.detach();
                break;
            }
            case VaeEstimator.Reinforce:
            {
                var r = Reinforce.Categorical(theta, f, _movingAverage, generator: _generator);
                loss = r.Surrogate.mean() + kl.mean();
                bce = r.Values;
                break;
            }
            case VaeEstimator.Nvil:
            {
                // NVIL's learning signal is the whole single-sample -ELBO, BCE + log q(z | x) - log p(z) (Mnih & Gregor
                // 2014), so its variance normalisation scales the KL part too. (With the analytic KL outside the signal,
                // the normalised REINFORCE gradient was ~1/std of the KL gradient and the posterior collapsed.)
                var z = Samples.Categorical(theta, null, _generator);
                var fz = f(z);
                var lp = LogProb.Categorical(theta, z, 1);
                var signal = fz + lp.detach() + _config.Latents * Math.Log(_config.Categories);
                var r = _nvil!.Surrogate(signal, lp, x);
                loss = r.Surrogate.mean() + r.BaselineLoss;
                bce = fz.detach();
                break;
            }
            case VaeEstimator.Vimco:
            {
                var z = Samples.Categorical(theta, _config.VimcoSamples, _generator);      // [K, B, L, C]
                var fz = f(z);                                                              // [K, B]
                var lq = LogProb.Categorical(theta, z, 1);                                  // [K, B]
                var logW = -fz - _config.Latents * Math.Log(_config.Categories) - lq;
                var r = Vimco.Surrogate(logW, lq);
                loss = -r.Surrogate.mean();
                bce = fz.detach().mean(new long[] { 0 });
                negBound = -r.Bound;
                break;
            }
            case VaeEstimator.MuProp:
            {
                var r = MuProp.Categorical(theta, f, generator: _generator);
                loss = r.Surrogate.mean() + kl.mean();
                bce = r.Values;
                break;
            }
            case VaeEstimator.IndeCateR:
            {
                var r = ScoreFunction.IndeCateR.Categorical(theta, f, 1, _generator);           // surrogate [1, B]
                loss = r.Surrogate.mean() + kl.mean();
                bce = r.Values.squeeze(0);
                break;
            }
            case VaeEstimator.Rebar or VaeEstimator.Relax:
            {
                var control = relax_control!;
                var r = ScoreFunction.Relax.Categorical(theta, f, z => control.Value(z, f), 1, _generator);   // values [1, B]
                loss = control.Surrogate(theta, r, 1.0 / theta.shape[0]) + r.Values.mean() + kl.mean();
                bce = r.Values.detach().squeeze(0);
                break;
            }
            default:
                throw new InvalidOperationException($"unknown estimator {_config.Estimator}");
        }
        var kd = kl.detach();
        return new VaeLoss(scope.MoveToOuter(loss), scope.MoveToOuter(bce + kd), scope.MoveToOuter(bce), scope.MoveToOuter(kd),
            negBound is null ? null : scope.MoveToOuter(negBound));
    }

    /// <summary>
    /// The baselines' running statistics as float64 [3] on the CPU: (moving average, 0, updates) for REINFORCE, (biased
    /// mean, biased variance, updates) for NVIL; null for the estimators that keep none. What a resume needs besides the
    /// parameters (the statistics are exact in float64).
    /// </summary>
    public Tensor? GetBaselineState()
    {
        double[] s;
        if (_movingAverage is not null) { var (b, n) = _movingAverage.GetState(); s = new[] { b, 0, n }; }
        else if (_nvil is not null) { var (m, v, n) = _nvil.GetState(); s = new[] { m, v, n }; }
        else return null;
        return torch.tensor(s, dtype: ScalarType.Float64);
    }

    /// <summary>Restores the statistics of <see cref="GetBaselineState"/> (a float64 [3] tensor).</summary>
    public void SetBaselineState(Tensor state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.dtype != ScalarType.Float64 || state.numel() != 3)
            throw new ArgumentException($"state must be a float64 tensor of 3 values (got {state.dtype} [{string.Join(", ", state.shape)}]).", nameof(state));
        var s = state.cpu().data<double>().ToArray();
        _movingAverage?.SetState(s[0], (long)s[2]);
        _nvil?.SetState(s[0], s[1], (long)s[2]);
    }
}

/// <summary>The VAE and its objective as one module (what the runner checkpoints and the optimiser steps).</summary>
public sealed class VaeWithObjective : nn.Module
{
    private readonly CategoricalVae vae;
    private readonly VaeObjective objective;

    /// <summary>Pairs the two.</summary>
    public VaeWithObjective(CategoricalVae vae, VaeObjective objective) : base(nameof(VaeWithObjective))
    {
        this.vae = vae;
        this.objective = objective;
        RegisterComponents();
    }

    /// <summary>The VAE.</summary>
    public CategoricalVae Vae => vae;
    /// <summary>Its objective.</summary>
    public VaeObjective Objective => objective;
}
