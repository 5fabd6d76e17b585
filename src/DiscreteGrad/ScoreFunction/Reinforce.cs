using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.ScoreFunction;

/// <summary>What a score-function estimator call produces.</summary>
/// <param name="Surrogate">The surrogate loss, shape of f(z) ([S, ...] for S samples): its forward value equals f(z) and
/// its gradient (one backward() of its mean or sum) is the estimator's gradient of E[f]. Minimise it when f is a loss;
/// maximise it (minimise its negative) when f is an objective.</param>
/// <param name="Sample">The hard sample z (no gradient).</param>
/// <param name="Values">f(z), detached (for logging and baselines).</param>
/// <param name="Signal">The learning signal that multiplies grad log p(z), detached (f - b for REINFORCE).</param>
public sealed record ScoreFunctionResult(Tensor Surrogate, Tensor Sample, Tensor Values, Tensor Signal);

/// <summary>
/// REINFORCE / score-function / likelihood-ratio estimator (Williams 1992; Glynn 1990; Schulman et al. 2015) as a surrogate
/// loss: for z ~ p_phi and a baseline b independent of z,
/// <code>surrogate = sg(f(z) - b) * (log p(z) - sg(log p(z))) + f(z)</code>
/// whose gradient is (f - b) grad_phi log p(z) + grad_theta f(z) (the pathwise part, when f depends on parameters) and
/// whose forward value is f(z) (the log p - sg(log p) factor is zero). This is the surrogate sg(f - b) log p(z) + f of
/// the usual surrogate-loss form with a forward value that is easy to log. Multi-sample: samples along a leading dimension S, f and
/// log p of shape [S, ...]; average the surrogate over S. Composes with pathwise estimators: anything else in the graph
/// (straight-through nodes, continuous parameters) receives its own gradient from the same backward().
/// </summary>
public static class Reinforce
{
    /// <summary>The REINFORCE surrogate with a fixed (or no) baseline tensor.</summary>
    /// <param name="f">f(z), floating point and finite, any shape; may carry a gradient path to other parameters.</param>
    /// <param name="logProb">log p(z) of the same shape (sum the log-probabilities of the latent nodes first), differentiable
    /// with respect to the distribution's parameters. Any distribution works: only this tensor is needed.</param>
    /// <param name="baseline">b, broadcastable to f without enlarging it; detached here. Null: b = 0.</param>
    public static Tensor Surrogate(Tensor f, Tensor logProb, Tensor? baseline = null)
    {
        CheckSignal(f, logProb);
        if (baseline is not null)
        {
            Checks.BroadcastsTo(baseline, f, nameof(baseline), nameof(f));
            Checks.FloatingFinite(baseline, nameof(baseline));
        }
        using var scope = torch.NewDisposeScope();
        var signal = baseline is null ? f.detach() : f.detach() - baseline.detach();
        return scope.MoveToOuter(FromSignal(signal, logProb, f));
    }

    /// <summary>The REINFORCE surrogate with a baseline object (its <see cref="IBaseline.Compute"/> is called once, with f).</summary>
    public static Tensor Surrogate(Tensor f, Tensor logProb, IBaseline baseline)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        CheckSignal(f, logProb);
        using var scope = torch.NewDisposeScope();
        var b = baseline.Compute(f.detach());
        Checks.BroadcastsTo(b, f, nameof(baseline), nameof(f));
        return scope.MoveToOuter(FromSignal(f.detach() - b.detach(), logProb, f));
    }

    /// <summary>
    /// Samples a categorical node, evaluates f and builds the surrogate in one call.
    /// </summary>
    /// <param name="logits">theta [..., K].</param>
    /// <param name="f">Maps the one-hot sample [S?, ..., K] to values whose shape is a leading part of it (e.g. [S?, B] for
    /// logits [B, N, K]: the log-probabilities of the remaining node dimensions are summed).</param>
    /// <param name="baseline">Baseline (null: none). A <see cref="LeaveOneOutBaseline"/> needs <paramref name="samples"/> &gt;= 2
    /// (or a pinned sample with a leading sample dimension).</param>
    /// <param name="samples">Number of samples along a new leading dimension (null: one sample, no extra dimension).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned one-hot sample (shape [..., K] or [S, ..., K]) instead of drawing one.</param>
    public static ScoreFunctionResult Categorical(Tensor logits, Func<Tensor, Tensor> f, IBaseline? baseline = null,
        long? samples = null, Generator? generator = null, Tensor? sample = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.CategoricalLogits(logits);
        if (sample is not null) Checks.OneHotSample(sample, logits, nameof(sample));
        RequireSampleDimension(baseline, samples, sample, logits);
        using var scope = torch.NewDisposeScope();
        var z = sample?.detach().to(logits.dtype) ?? Samples.Categorical(logits, samples, generator);
        var fz = f(z);
        int eventDims = Checks.EventDims(z, fz, 1, nameof(f));
        var lp = LogProb.CategoricalCore(logits, z, eventDims - 1);
        return Finish(scope, z, fz, lp, baseline);
    }

    /// <summary>Samples a Bernoulli node (P(z = 1) = sigmoid(theta)), evaluates f and builds the surrogate.</summary>
    /// <param name="logits">theta [...].</param>
    /// <param name="f">Maps z [S?, ...] to values whose shape is a leading part of it.</param>
    /// <param name="baseline">Baseline (null: none). A <see cref="LeaveOneOutBaseline"/> needs <paramref name="samples"/> &gt;= 2
    /// (or a pinned sample with a leading sample dimension).</param>
    /// <param name="samples">Number of samples along a new leading dimension (null: one).</param>
    /// <param name="generator">Random source.</param>
    /// <param name="sample">Optional pinned z in {0, 1}.</param>
    public static ScoreFunctionResult Bernoulli(Tensor logits, Func<Tensor, Tensor> f, IBaseline? baseline = null,
        long? samples = null, Generator? generator = null, Tensor? sample = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        Guard.BernoulliLogits(logits);
        if (sample is not null) Checks.BinarySample(sample, logits, nameof(sample));
        RequireSampleDimension(baseline, samples, sample, logits);
        using var scope = torch.NewDisposeScope();
        var z = sample?.detach().to(logits.dtype) ?? Samples.Bernoulli(logits, samples, generator);
        var fz = f(z);
        int eventDims = Checks.EventDims(z, fz, 0, nameof(f));
        var lp = LogProb.BernoulliCore(logits, z, eventDims);
        return Finish(scope, z, fz, lp, baseline);
    }

    /// <summary>
    /// A <see cref="LeaveOneOutBaseline"/> averages over dimension 0, which must then be a sample dimension: set by
    /// <paramref name="samples"/>, or present in a pinned sample with more dimensions than the logits. Without one,
    /// dimension 0 would be the batch and the "baseline" would mix other rows' values.
    /// </summary>
    private static void RequireSampleDimension(IBaseline? baseline, long? samples, Tensor? sample, Tensor logits)
    {
        if (baseline is not LeaveOneOutBaseline || samples is not null || (sample is not null && sample.dim() > logits.dim())) return;
        throw new ArgumentException(
            "A LeaveOneOutBaseline averages over a leading sample dimension: set samples >= 2 (or pin a sample [S, ...] with S >= 2); "
            + "with samples = null dimension 0 is the batch, not samples.", nameof(samples));
    }

    private static ScoreFunctionResult Finish(DisposeScope scope, Tensor z, Tensor fz, Tensor lp, IBaseline? baseline)
    {
        Checks.FloatingFinite(fz, "f");
        var fd = fz.detach();
        Tensor signal;
        if (baseline is null) signal = fd;
        else
        {
            var b = baseline.Compute(fd);
            Checks.BroadcastsTo(b, fz, nameof(baseline), "f");
            signal = fd - b.detach();
        }
        var s = FromSignal(signal, lp, fz);
        return new ScoreFunctionResult(scope.MoveToOuter(s), scope.MoveToOuter(z), scope.MoveToOuter(fd), scope.MoveToOuter(signal));
    }

    /// <summary>signal * (log p - sg(log p)) + f: value f, gradient signal * grad log p + grad f.</summary>
    internal static Tensor FromSignal(Tensor signal, Tensor logProb, Tensor f)
        => signal * (logProb - logProb.detach()) + f;

    internal static void CheckSignal(Tensor f, Tensor logProb)
    {
        Checks.FloatingFinite(f, nameof(f));
        Guard.SameShape(logProb, f, nameof(logProb), nameof(f), " Sum the log-probabilities over the latent dimensions first.");
        Checks.FloatingFinite(logProb, nameof(logProb));
    }
}
