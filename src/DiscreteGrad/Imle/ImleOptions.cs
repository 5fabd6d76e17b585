namespace DiscreteGrad.Imle;

/// <summary>Which finite difference the I-MLE backward pass takes.</summary>
public enum FiniteDifference
{
    /// <summary>
    /// One-sided (Niepert et al. 2021): grad = (MAP(theta + T_t eps) - MAP(theta - lambda dz + T_t eps)) / lambda; when
    /// T_t = T_in the first term is the forward sample itself and is not recomputed.
    /// </summary>
    Forward,
    /// <summary>
    /// Two-sided / symmetric (Minervini et al. 2023): grad = (MAP(theta + lambda dz + T_t eps) - MAP(theta - lambda dz + T_t eps))
    /// / (2 lambda). Exactly odd in dz: flipping the upstream gradient flips the estimate.
    /// </summary>
    Central,
}

/// <summary>How the S samples per input leave the layer.</summary>
public enum SampleLayout
{
    /// <summary>
    /// Output [B*S, ...], sample s of instance b at row b*S + s (the reference layout: repeat labels S times). The gradient of
    /// theta_b is the MEAN over its S samples of the per-sample estimates, each built from the upstream gradient of its own
    /// row, as in the reference library (the plain chain rule through S copies would sum them; the mean keeps the scale
    /// independent of S).
    /// </summary>
    Stacked,
    /// <summary>
    /// Output [B, ...] = (1/S) sum_s z_{b,s}, a Monte Carlo estimate of the marginals. Every sample sees the upstream gradient of
    /// the mean and the gradient of theta_b is the mean of the per-sample estimates: the chain rule of the average.
    /// </summary>
    Mean,
}

/// <summary>
/// Options of <see cref="ImleLayer"/>. z = MAP(theta + T_in eps), eps ~ <see cref="Noise"/>; in the backward pass the target
/// distribution uses theta' = theta - lambda dz (maximisation) and the SAME eps scaled by T_t.
/// </summary>
public sealed record ImleOptions
{
    /// <summary>Noise distribution of eps (default <see cref="ImleNoise.None"/>).</summary>
    public ImleNoise Noise { get; init; } = ImleNoise.None;
    /// <summary>Input noise temperature T_in &gt;= 0: the forward pass solves theta + T_in eps (default 1).</summary>
    public double InputTemperature { get; init; } = 1.0;
    /// <summary>Target noise temperature T_t &gt;= 0: the backward pass solves theta' + T_t eps (default 1).</summary>
    public double TargetTemperature { get; init; } = 1.0;
    /// <summary>Number of noise samples S &gt;= 1 per input (default 1).</summary>
    public int Samples { get; init; } = 1;
    /// <summary>Target distribution: fixed lambda or adaptive (AIMLE). Default: fixed lambda = 1 with 1/lambda scaling.
    /// Any <see cref="ImleTargetDistribution"/>, including one of your own. The layer registers it as its submodule
    /// <c>target</c>; an <see cref="AdaptiveImleTarget"/> is stateful, so give each layer its own instance (its state is then
    /// in that layer's state_dict).</summary>
    public ImleTargetDistribution Target { get; init; } = ImleTargetDistribution.Fixed(1.0);
    /// <summary>Forward (one-sided) or central (two-sided) difference (default forward).</summary>
    public FiniteDifference Difference { get; init; } = FiniteDifference.Forward;
    /// <summary>
    /// False (default): the solver maximises &lt;theta, z&gt;. True: it minimises (e.g. shortest path on costs); the target
    /// perturbation then changes sign, theta' = theta + lambda dz, and so does the estimate:
    /// grad = (MAP(theta + lambda dz + T_t eps) - MAP(theta + T_t eps)) / lambda (as the reference, noise is added to the costs).
    /// </summary>
    public bool Minimise { get; init; }
    /// <summary>Output layout of the S samples (default <see cref="SampleLayout.Stacked"/>).</summary>
    public SampleLayout Layout { get; init; } = SampleLayout.Stacked;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Noise, nameof(Noise));
        ArgumentNullException.ThrowIfNull(Target, nameof(Target));
        Guard.NonNegative(InputTemperature, nameof(InputTemperature));
        Guard.NonNegative(TargetTemperature, nameof(TargetTemperature));
        Guard.AtLeast(Samples, 1, nameof(Samples));
        if (!Enum.IsDefined(Difference))
            throw new ArgumentOutOfRangeException(nameof(Difference), Difference, "Difference must be Forward or Central.");
        if (!Enum.IsDefined(Layout))
            throw new ArgumentOutOfRangeException(nameof(Layout), Layout, "Layout must be Stacked or Mean.");
    }
}
