using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Imle;

/// <summary>
/// The target distribution of I-MLE (Niepert, Minervini and Franceschi, "Implicit MLE: Backpropagating Through Discrete
/// Exponential Family Distributions", NeurIPS 2021): q(z) = p(z; theta'), theta' = theta - lambda dz for a maximising
/// solver (theta + lambda dz for a minimising one), and the scale of the resulting gradient. It is the public base class
/// for target distributions of your own, the counterpart of <c>BaseTargetDistribution</c> in torch-imle and
/// torch-adaptive-imle: their <c>params(theta, dy)</c> returns theta' = alpha theta - beta dy, here
/// <see cref="ComputeLambda"/> returns the lambda of theta' = theta - lambda dz (alpha = 1), and their
/// <c>process(theta, dy, gradient_3d)</c> is <see cref="Process"/>.
/// <para>A target is a module: state it keeps across backward passes belongs in registered buffers (fields of type
/// <see cref="Tensor"/> and <c>RegisterComponents()</c>, or <c>register_buffer</c>), and <see cref="ImleLayer"/> registers its
/// target as the submodule <c>target</c>, so that state travels with the layer's <c>state_dict</c> and <c>to(device)</c>.
/// Built in: <see cref="Fixed"/> (constant lambda) and <see cref="AdaptiveImleTarget"/> (AIMLE).</para>
/// <para>Contract, once per backward pass of the layer: first <see cref="ComputeLambda"/>, then the solver calls, then
/// <see cref="Process"/> with the per-sample differences. Both run under <c>no_grad</c> inside a dispose scope (tensors a
/// target creates there are freed afterwards; update buffers in place). They run inside the autograd backward pass, where
/// TorchSharp cannot hand an exception to the caller of <c>backward()</c>: an exception they throw, or the layer's
/// <see cref="InvalidOperationException"/> for a lambda that is negative or not finite or for a gradient of the wrong shape,
/// ends the process with its message rather than letting a wrong gradient through.</para>
/// </summary>
public abstract class ImleTargetDistribution : nn.Module
{
    /// <summary>Creates the target.</summary>
    /// <param name="name">Module name.</param>
    protected ImleTargetDistribution(string name) : base(name) { }

    /// <summary>A constant lambda.</summary>
    /// <param name="lambda">Perturbation size lambda &gt; 0.</param>
    /// <param name="scaleByInverseLambda">True (default): gradient (z - z') / lambda, the finite-difference estimate. False:
    /// z - z', as in the original I-MLE library (lambda then only sets which z' is reached, not the gradient's scale).</param>
    public static FixedImleTarget Fixed(double lambda, bool scaleByInverseLambda = true) => new(lambda, scaleByInverseLambda);

    /// <summary>
    /// The perturbation size lambda &gt;= 0 of this backward pass (finite; 0 means no perturbation and a zero gradient).
    /// </summary>
    /// <param name="theta">The layer's weights [B, ...] (not repeated over the S samples).</param>
    /// <param name="dz">The per-sample upstream gradient [B*S, ...] (row b*S + s).</param>
    public abstract double ComputeLambda(Tensor theta, Tensor dz);

    /// <summary>
    /// The per-sample gradients [B, S, ...] from the per-sample differences [B, S, ...] (z - z' for the forward difference,
    /// (z+ - z-) / 2 for the central one, sign-corrected for a minimising solver; the layer then averages over S). Called once
    /// per backward pass, after the solver calls: the place to update any adaptive state.
    /// </summary>
    /// <param name="difference">The differences [B, S, ...].</param>
    /// <param name="lambda">The lambda <see cref="ComputeLambda"/> returned for this pass.</param>
    public abstract Tensor Process(Tensor difference, double lambda);
}

/// <summary>Constant lambda: gradient = difference / lambda, or the bare difference (original I-MLE library). No state.</summary>
public sealed class FixedImleTarget : ImleTargetDistribution
{
    internal FixedImleTarget(double lambda, bool scaleByInverseLambda) : base(nameof(FixedImleTarget))
    {
        if (!(lambda > 0) || double.IsInfinity(lambda))
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, $"lambda must be a finite number > 0 (got {lambda}).");
        Lambda = lambda;
        ScaleByInverseLambda = scaleByInverseLambda;
    }

    /// <summary>Perturbation size lambda.</summary>
    public double Lambda { get; }
    /// <summary>Whether the gradient is divided by lambda.</summary>
    public bool ScaleByInverseLambda { get; }

    /// <inheritdoc />
    public override double ComputeLambda(Tensor theta, Tensor dz) => Lambda;
    /// <inheritdoc />
    public override Tensor Process(Tensor difference, double lambda) => ScaleByInverseLambda ? difference / lambda : difference.clone();
}

/// <summary>
/// Adaptive target distribution of AIMLE (Minervini, Franceschi and Niepert, "Adaptive Perturbation-Based Gradient
/// Estimation for Discrete Latent Variable Models", AAAI 2023).
/// <para>lambda = beta ||theta_S|| / ||dz|| = beta sqrt(S) ||theta|| / ||dz|| (Frobenius norms over the whole batch;
/// theta_S is theta [B, ...] repeated for each of the S samples, as the reference code computes it, so that lambda does
/// not shrink as S grows; dz [B*S, ...] is the per-sample upstream gradient; lambda = 0 when dz = 0), gradient = difference / lambda (0 where lambda = 0). After each backward
/// pass: r = number of non-zero entries of the difference per sample (averaged over the B*S samples);
/// rate &lt;- decay * rate + (1 - decay) * r; beta &lt;- max(0, beta + step) if rate &lt; target, max(0, beta - step) if
/// rate &gt; target, unchanged if equal. So lambda grows until the gradient has about <see cref="TargetNonZeros"/> non-zero
/// entries per sample. (The reference divides the gradient by beta ||theta|| / ||dz|| without the sqrt(S): for S &gt; 1
/// its gradient is sqrt(S) times this one; see docs/guide/imle-name-map.md.)</para>
/// <para>Defaults follow the reference library (torch-adaptive-imle): initial beta 1, initial rate 1, step 1e-4, decay 0.9,
/// target 1. The state is three registered buffers, <c>beta</c> and <c>nonzero_rate</c> (float64) and <c>updates</c>
/// (int64), so it is part of the <c>state_dict</c> of every module that holds the target (an <see cref="ImleLayer"/> as
/// <c>target.beta</c>, ...), moves with <c>to(device)</c> and keeps its dtype under <c>to(dtype)</c>. Thread-safe.</para>
/// </summary>
public sealed class AdaptiveImleTarget : ImleTargetDistribution
{
    private readonly object _gate = new();
    private Tensor beta;
    private Tensor nonzero_rate;
    private Tensor updates;
    private double _lastLambda = double.NaN;

    /// <summary>Creates the target.</summary>
    /// <param name="targetNonZeros">Desired number of non-zero gradient entries per sample, &gt;= 0.</param>
    /// <param name="step">Change of beta per backward pass, &gt; 0 (reference: 1e-3 or 1e-4).</param>
    /// <param name="initialBeta">Starting beta &gt;= 0.</param>
    /// <param name="initialNonZeroRate">Starting value of the running non-zero rate, &gt;= 0.</param>
    /// <param name="decay">Decay of the running mean, in [0, 1).</param>
    public AdaptiveImleTarget(double targetNonZeros = 1.0, double step = 1e-4, double initialBeta = 1.0,
        double initialNonZeroRate = 1.0, double decay = 0.9) : base(nameof(AdaptiveImleTarget))
    {
        Guard.NonNegative(targetNonZeros, nameof(targetNonZeros));
        Guard.Temperature(step, nameof(step));
        Guard.NonNegative(initialBeta, nameof(initialBeta));
        Guard.NonNegative(initialNonZeroRate, nameof(initialNonZeroRate));
        if (!(decay >= 0 && decay < 1))
            throw new ArgumentOutOfRangeException(nameof(decay), decay, $"decay must be in [0, 1) (got {decay}).");
        TargetNonZeros = targetNonZeros;
        Step = step;
        Decay = decay;
        beta = ScalarBuffer.Create(initialBeta);
        nonzero_rate = ScalarBuffer.Create(initialNonZeroRate);
        updates = ScalarBuffer.Create(0, ScalarType.Int64);
        RegisterComponents();
    }

    /// <summary>Desired number of non-zero gradient entries per sample.</summary>
    public double TargetNonZeros { get; }
    /// <summary>Change of beta per backward pass.</summary>
    public double Step { get; }
    /// <summary>Decay of the running non-zero rate.</summary>
    public double Decay { get; }

    /// <summary>Current beta (the buffer <c>beta</c>).</summary>
    public double Beta { get { lock (_gate) return ScalarBuffer.Read(beta); } }
    /// <summary>Running mean of the non-zero gradient entries per sample (the buffer <c>nonzero_rate</c>).</summary>
    public double NonZeroRate { get { lock (_gate) return ScalarBuffer.Read(nonzero_rate); } }
    /// <summary>Number of backward passes seen so far (the buffer <c>updates</c>).</summary>
    public long Updates { get { lock (_gate) return updates.ToInt64(); } }
    /// <summary>The lambda of the last backward pass (NaN before the first; not part of the state).</summary>
    public double LastLambda { get { lock (_gate) return _lastLambda; } }

    /// <inheritdoc />
    public override double ComputeLambda(Tensor theta, Tensor dz)
    {
        double b = Beta;
        double normDz = dz.norm().ToDouble();
        double samples = (double)dz.numel() / Math.Max(1, theta.numel());
        double lambda = normDz > 0 && b > 0 ? b * Math.Sqrt(samples) * theta.norm().ToDouble() / normDz : 0.0;
        if (!double.IsFinite(lambda)) lambda = 0.0;
        lock (_gate) _lastLambda = lambda;
        return lambda;
    }

    /// <inheritdoc />
    public override Tensor Process(Tensor difference, double lambda)
    {
        long samples = difference.shape[0] * difference.shape[1];
        double nonZeros = difference.count_nonzero().ToDouble() / Math.Max(1, samples);
        lock (_gate)
        {
            double rate = Decay * ScalarBuffer.Read(nonzero_rate) + (1 - Decay) * nonZeros;
            double b = ScalarBuffer.Read(beta);
            if (rate < TargetNonZeros) b += Step;
            else if (rate > TargetNonZeros) b = Math.Max(0.0, b - Step);
            ScalarBuffer.Write(nonzero_rate, rate);
            ScalarBuffer.Write(beta, b);
            ScalarBuffer.Write(updates, updates.ToInt64() + 1);
        }
        return lambda > 0 ? difference / lambda : torch.zeros_like(difference);
    }

    /// <summary>Converts the module's other tensors; the state keeps its dtypes and exact values.</summary>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking)
    {
        lock (_gate)
        {
            var (b, r, u) = (ScalarBuffer.Read(beta), ScalarBuffer.Read(nonzero_rate), updates.ToInt64());
            base._to(dtype, non_blocking);
            KeepDtypes(b, r, u);
        }
        return this;
    }

    /// <summary>Moves and converts the module's other tensors; the state moves and keeps its dtypes and exact values.</summary>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking)
    {
        lock (_gate)
        {
            var (b, r, u) = (ScalarBuffer.Read(beta), ScalarBuffer.Read(nonzero_rate), updates.ToInt64());
            base._to(device, dtype, non_blocking);
            KeepDtypes(b, r, u);
        }
        return this;
    }

    private void KeepDtypes(double b, double r, long u)
    {
        beta = ScalarBuffer.Restore(beta, b, (n, x) => ConditionallyRegisterBuffer(n, x), nameof(beta));
        nonzero_rate = ScalarBuffer.Restore(nonzero_rate, r, (n, x) => ConditionallyRegisterBuffer(n, x), nameof(nonzero_rate));
        updates = ScalarBuffer.Restore(updates, u, (n, x) => ConditionallyRegisterBuffer(n, x), nameof(updates), ScalarType.Int64);
    }
}
