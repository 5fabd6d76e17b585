using DiscreteGrad.Estimators;
using DiscreteGrad.ScoreFunction;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.BernoulliVae;

/// <summary>What <see cref="BernoulliVaeObjective.Compute"/> returns.</summary>
/// <param name="Loss">Scalar to minimise with one backward(): its gradient is the estimator's gradient of the batch-mean
/// negative ELBO (plus, for NVIL, the squared-error loss of the baseline network, which reaches only that network).</param>
/// <param name="NegativeElbo">Batch mean of the K-evaluation estimate of -ELBO (mean over the evaluations of -log p(x | z)
/// plus the exact KL), detached: the quantity reported as train -ELBO.</param>
/// <param name="NegLogLikelihood">Batch mean of the mean of -log p(x | z) over the evaluations, detached.</param>
/// <param name="Kl">Batch mean of KL(q || p), detached.</param>
public sealed record BernoulliVaeStep(Tensor Loss, Tensor NegativeElbo, Tensor NegLogLikelihood, Tensor Kl);

/// <summary>
/// The training objective of the Bernoulli VAE for each estimator. With f(z) = -log p(x | z) and encoder logits phi:
/// <code>-ELBO(x) = E_{z ~ q(.|x)}[f(z)] + KL(q(.|x) || p)</code>
/// The KL is exact (differentiated by autograd, as in the reference code); the estimator supplies the gradient of
/// E_q[f] with respect to phi from K evaluations of f, and the decoder receives the mean of its K pathwise gradients:
/// ReinMax (and every other pathwise estimator) averages K single-sample estimates (K samples drawn at once), RLOO uses K
/// samples with the leave-one-out baseline, NVIL averages K single-sample estimates whose learning signal is centred and
/// scaled by its running statistics and baseline network, ARM and DisARM average K/2 antithetic pairs, REBAR and RELAX
/// average K/3 samples of <see cref="Relax.Bernoulli"/> with the model's <see cref="RelaxControl"/> (applied through
/// <see cref="RelaxControl.Surrogate"/>, which also gives the control variate the gradient of the variance).
/// </summary>
public static class BernoulliVaeObjective
{
    /// <summary>Computes the loss for one batch.</summary>
    /// <param name="model">The VAE (its decoder and prior are used; the encoder is not called: pass its logits).</param>
    /// <param name="x">Binary images [B, pixels].</param>
    /// <param name="logits">Encoder logits phi [B, D] (normally model.forward(x); a leaf in tests).</param>
    /// <param name="estimator">Estimator.</param>
    /// <param name="evaluations">K (validated per estimator: <see cref="BernoulliVaeEstimators.InvalidEvaluations"/>).</param>
    /// <param name="tau">Temperature of the pathwise estimators (ignored when <paramref name="options"/> is given).</param>
    /// <param name="generator">Random source of the samples.</param>
    /// <param name="nvil">NVIL's control variates (required for NVIL, ignored otherwise); its running statistics are updated.</param>
    /// <param name="options">The pathwise estimators' options (null: tau alone, what ReinMax has always used).</param>
    public static BernoulliVaeStep Compute(BernoulliVaeModel model, Tensor x, Tensor logits, BernoulliVaeEstimator estimator,
        int evaluations, double tau, Generator generator, NvilBaseline? nvil = null, EstimatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        BernoulliVaeEstimators.CheckEvaluations(estimator, evaluations, nameof(evaluations));
        if (x.dim() != 2 || x.shape[1] != model.Pixels)
            throw new ArgumentException($"x must have shape [B, {model.Pixels}] (got [{string.Join(", ", x.shape)}]).", nameof(x));
        if (logits.dim() != 2 || logits.shape[0] != x.shape[0] || logits.shape[1] != model.Latent)
            throw new ArgumentException($"logits must have shape [{x.shape[0]}, {model.Latent}] (got [{string.Join(", ", logits.shape)}]).", nameof(logits));
        if (estimator == BernoulliVaeEstimator.Nvil && nvil is null)
            throw new ArgumentException("NVIL needs its control variates (an NvilBaseline).", nameof(nvil));
        if (estimator is BernoulliVaeEstimator.Rebar or BernoulliVaeEstimator.Relax && model.Control is null)
            throw new ArgumentException($"{BernoulliVaeEstimators.Display(estimator)} needs the model's control variate (a model built with a RelaxControl).", nameof(model));
        using var scope = torch.NewDisposeScope();
        long k = evaluations, b = x.shape[0], d = model.Latent;
        Tensor surrogate, values, extra;
        switch (estimator)
        {
            case var e when BernoulliVaeEstimators.PathwiseKind(e) is { } kind:
            {
                var expanded = logits.unsqueeze(0).expand(k, b, d);
                var s = Bernoulli.Sample(expanded, kind, options ?? new EstimatorOptions(Tau: tau), generator);
                surrogate = model.NegLogLikelihood(x, s.Value);                             // [K, B]
                values = surrogate.detach();
                extra = torch.zeros(Array.Empty<long>(), dtype: logits.dtype, device: logits.device);
                break;
            }
            case BernoulliVaeEstimator.DisArm:
            case BernoulliVaeEstimator.Arm:
            {
                var expanded = logits.unsqueeze(0).expand(k / 2, b, d);
                Func<Tensor, Tensor> f = z => model.NegLogLikelihood(x, z);
                var r = estimator == BernoulliVaeEstimator.DisArm
                    ? DisArm.Bernoulli(expanded, f, generator)
                    : ScoreFunction.Arm.Bernoulli(expanded, f, generator);
                surrogate = r.Surrogate;                                                   // [K/2, B]
                values = r.Values;
                extra = torch.zeros(Array.Empty<long>(), dtype: logits.dtype, device: logits.device);
                break;
            }
            case BernoulliVaeEstimator.Rloo:
            {
                var r = Reinforce.Bernoulli(logits, z => model.NegLogLikelihood(x, z), new LeaveOneOutBaseline(), k, generator);
                surrogate = r.Surrogate;                                                   // [K, B]
                values = r.Values;
                extra = torch.zeros(Array.Empty<long>(), dtype: logits.dtype, device: logits.device);
                break;
            }
            case BernoulliVaeEstimator.Rebar or BernoulliVaeEstimator.Relax:
            {
                var control = model.Control!;
                Func<Tensor, Tensor> f = z => model.NegLogLikelihood(x, z);
                var r = Relax.Bernoulli(logits, f, z => control.Value(z, f), k / 3, generator);   // values [K/3, B]
                surrogate = r.Values;                                                      // the decoder's pathwise term
                values = r.Values.detach();
                extra = control.Surrogate(logits, r, 1.0 / b);
                break;
            }
            case BernoulliVaeEstimator.Nvil:
            {
                var z = Samples.Bernoulli(logits, k, generator);                          // [K, B, D]
                var f = model.NegLogLikelihood(x, z);                                      // [K, B]
                var lp = LogProb.Bernoulli(logits, z, 1);                                  // [K, B]
                // NVIL's learning signal is the whole single-sample -ELBO, f + log q(z | x) - log p(z) (Mnih & Gregor
                // 2014), so the variance normalisation scales the KL part too; the prior gets its gradient through
                // -log p(z) (the exact KL below is then left out: it would count the KL twice).
                var signal = f + lp.detach() - model.PriorLogProb(z);
                var r = nvil!.Surrogate(signal, lp, model.Baseline is null ? null : x);
                surrogate = r.Surrogate;
                values = f.detach();
                extra = r.BaselineLoss;
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(estimator), estimator, "unknown estimator");
        }
        var kl = model.Kl(logits);                                                         // [B]
        var loss = estimator == BernoulliVaeEstimator.Nvil ? surrogate.mean() + extra : surrogate.mean() + kl.mean() + extra;
        var nll = values.mean();
        var klMean = kl.detach().mean();
        return new BernoulliVaeStep(scope.MoveToOuter(loss), scope.MoveToOuter(nll + klMean), scope.MoveToOuter(nll),
            scope.MoveToOuter(klMean));
    }
}
