using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// Score-function (REINFORCE) estimator for a MAP solver, the unbiased-but-noisy baseline of the AIMLE comparisons.
/// <para>Model: as I-MLE, the perturb-and-MAP samples z = MAP(theta + T eps) are treated as samples of the exponential family
/// p(z; theta) ∝ exp(&lt;theta, z&gt;) (exp(-&lt;theta, z&gt;) for a minimising solver), whose score is
/// grad log p(z) = ±(z - mu(theta)). With S &gt;= 2 samples per instance and the leave-one-out baseline
/// b_s = mean_{s' != s} f(z_{s'}), the estimate
/// g_b = ± (1/S) sum_s (f(z_{b,s}) - b_{b,s}) z_{b,s}
/// is unbiased for grad_theta_b E[f(z)] under that model without knowing mu: sum_s (f_s - b_s) = 0, so the mu term cancels
/// exactly. (Exact for Gumbel noise with a one-hot / top-1 solver; an approximation wherever perturb-and-MAP is.)</para>
/// <para>Use: <c>var z = sfe.Sample(theta)</c> (no gradient), compute per-sample losses f [B*S], then add
/// <c>sfe.Surrogate(theta, z, f)</c> to the loss: its value is 0 and its gradient for theta is g, summed over the batch
/// (scale f by 1/B for a batch mean).</para>
/// <para>A module without parameters or state (usable in a <c>Sequential</c>, where <c>forward</c> draws the samples);
/// created by <see cref="discrete.ScoreFunctionMap"/>.</para>
/// </summary>
public sealed class ScoreFunctionMap : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="solver">The batched MAP solver.</param>
    /// <param name="noise">Noise distribution (must not be <see cref="ImleNoise.None"/>: without noise the distribution is a point mass).</param>
    /// <param name="temperature">Noise temperature T &gt; 0.</param>
    /// <param name="samples">Samples S &gt;= 2 per input (the baseline needs the others).</param>
    /// <param name="minimise">True for a cost-minimising solver.</param>
    /// <param name="generator">Random source of the noise.</param>
    public ScoreFunctionMap(IMapSolver solver, ImleNoise noise, double temperature = 1.0, int samples = 2, bool minimise = false,
        Generator? generator = null) : base(nameof(ScoreFunctionMap))
    {
        ArgumentNullException.ThrowIfNull(solver);
        ArgumentNullException.ThrowIfNull(noise);
        if (noise.IsZero) throw new ArgumentException("noise must be a real distribution for the score-function estimator (got None).", nameof(noise));
        Guard.Temperature(temperature, nameof(temperature));
        Guard.AtLeast(samples, 2, nameof(samples));
        Solver = solver;
        Noise = noise;
        Temperature = temperature;
        Samples = samples;
        Minimise = minimise;
        Generator = generator;
    }

    /// <summary>The wrapped solver.</summary>
    public IMapSolver Solver { get; }
    /// <summary>Noise distribution.</summary>
    public ImleNoise Noise { get; }
    /// <summary>Noise temperature.</summary>
    public double Temperature { get; }
    /// <summary>Samples per input.</summary>
    public int Samples { get; }
    /// <summary>Whether the solver minimises.</summary>
    public bool Minimise { get; }
    /// <summary>Random source of the noise.</summary>
    public Generator? Generator { get; set; }

    /// <summary>The same as <see cref="Sample"/> without pinned noise: S samples per instance z [B*S, ...], without gradient.</summary>
    /// <param name="theta">Weights [B, ...].</param>
    public override Tensor forward(Tensor theta) => Sample(theta);

    /// <summary>S samples per instance, z [B*S, ...] (row b*S + s), without gradient; <paramref name="noise"/> optionally pins eps.</summary>
    public Tensor Sample(Tensor theta, Tensor? noise = null)
    {
        PerturbAndMap.CheckTheta(theta);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var t = theta.detach();
        var eps = PerturbAndMap.Noise(t, Samples, Noise, Generator, noise);
        var z = PerturbAndMap.Solve(Solver, torch.add(PerturbAndMap.Repeat(t, Samples), eps, alpha: Temperature));
        return scope.MoveToOuter(z);
    }

    /// <summary>A scalar with value 0 whose gradient for theta [B, ...] is the estimate g (see the class summary).</summary>
    /// <param name="theta">The weights the samples were drawn from, [B, ...].</param>
    /// <param name="samples">The samples of <see cref="Sample"/>, [B*S, ...].</param>
    /// <param name="losses">Per-sample losses f(z), [B*S] (their gradient is not used).</param>
    public Tensor Surrogate(Tensor theta, Tensor samples, Tensor losses)
    {
        PerturbAndMap.CheckTheta(theta);
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(losses);
        var stacked = PerturbAndMap.StackedShape(theta, Samples);
        if (!samples.shape.SequenceEqual(stacked))
            throw new ArgumentException($"samples must have shape [{string.Join(", ", stacked)}] (got {BatchArrays.Shape(samples)}).", nameof(samples));
        if (losses.dim() != 1 || losses.shape[0] != stacked[0])
            throw new ArgumentException($"losses must have shape [{stacked[0]}] (one per sample; got {BatchArrays.Shape(losses)}).", nameof(losses));
        using var scope = torch.NewDisposeScope();
        long batch = theta.shape[0];
        var f = losses.detach().to(theta.dtype, theta.device).reshape(batch, Samples);
        // Leave-one-out baseline: b_s = (sum f - f_s) / (S - 1); the coefficient (f_s - b_s) / S.
        var coef = (f - (f.sum(1, keepdim: true) - f) / (Samples - 1)) / Samples;
        var z = PerturbAndMap.Split(samples.detach().to(theta.dtype, theta.device), batch, Samples);
        var shape = new long[z.dim()];
        shape[0] = batch; shape[1] = Samples;
        for (int i = 2; i < shape.Length; i++) shape[i] = 1;
        var direction = (coef.reshape(shape) * z).sum(1);            // [B, ...]
        var s = (theta * direction).sum();
        if (Minimise) s = s.neg();
        return scope.MoveToOuter(s - s.detach());
    }
}
