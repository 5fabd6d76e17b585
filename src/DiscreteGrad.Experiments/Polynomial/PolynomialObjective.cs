using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>
/// The objective of the polynomial-programming experiment: f(z) = (1/N) sum_i |z_i - c|^p for z in {0, 1}^N, with
/// z_i = 1 exactly when category 0 of node i is drawn, so P(z_i = 1) = q_i = softmax(theta_i)[0].
/// </summary>
public static class PolynomialObjective
{
    /// <summary>f for a batch of relaxed or hard samples z [B, N]: the mean over the batch of (1/N) sum_i |z_i - c|^p (a scalar).</summary>
    public static Tensor Loss(Tensor z, double target, double power) => Distance(z - target).pow(power).mean();

    /// <summary>f for every joint state, for enumeration: one-hot states [S, N, 2] in, values [S] out (z_i = states[s, i, 0]).</summary>
    public static Tensor StateValues(Tensor states, double target, double power)
        => Distance(states.select(-1, 0) - target).pow(power).mean(new long[] { -1 });

    /// <summary>The value of f at z_i = 1, |1 - c|^p.</summary>
    public static double CostOfOne(double target, double power) => Math.Pow(Math.Abs(1 - target), power);

    /// <summary>The value of f at z_i = 0, |c|^p.</summary>
    public static double CostOfZero(double target, double power) => Math.Pow(Math.Abs(target), power);

    /// <summary>min over z of f(z) = min(|1 - c|^p, |c|^p); 0.45^p for the paper's c = 0.45 (reached at z = 0).</summary>
    public static double Optimum(double target, double power) => Math.Min(CostOfOne(target, power), CostOfZero(target, power));

    /// <summary>
    /// The point q* = |c|^(p-1) / (|c|^(p-1) + |1 - c|^(p-1)) (for 0 &lt; c &lt; 1) where E[f'(z_i)] = q p |1 - c|^(p-1) -
    /// (1 - q) p |c|^(p-1) vanishes. The expected straight-through gradient (tau = 1) is q (1 - q) E[f'(z_i)], so ST stalls
    /// at P(z_i = 1) = q* instead of reaching the optimum q = 0 (for c &lt; 1/2); q* = c for p = 2.
    /// </summary>
    public static double StraightThroughFixedPoint(double target, double power)
    {
        double b = Math.Pow(Math.Abs(target), power - 1), a = Math.Pow(Math.Abs(1 - target), power - 1);
        return b / (a + b);
    }

    /// <summary>mean_i softmax(theta_i)[0], the average P(z_i = 1), from theta [N, 2] stored row-major as float64.</summary>
    public static double MeanProbabilityOfOne(IReadOnlyList<double> thetaRowMajor)
    {
        ArgumentNullException.ThrowIfNull(thetaRowMajor);
        if (thetaRowMajor.Count == 0 || thetaRowMajor.Count % 2 != 0)
            throw new ArgumentException($"theta must hold N x 2 values (got {thetaRowMajor.Count}).", nameof(thetaRowMajor));
        double sum = 0;
        for (int i = 0; i < thetaRowMajor.Count; i += 2) sum += 1.0 / (1.0 + Math.Exp(thetaRowMajor[i + 1] - thetaRowMajor[i]));
        return sum / (thetaRowMajor.Count / 2);
    }

    /// <summary>
    /// The exact expected loss, in closed form (computed in float64): E[f] = mean_i [q_i |1 - c|^p + (1 - q_i) |c|^p],
    /// q_i = softmax(theta_i)[0].
    /// </summary>
    /// <param name="theta">Logits [N, 2] (no gradient is taken).</param>
    /// <param name="target">c.</param>
    /// <param name="power">p.</param>
    public static double ExpectedLoss(Tensor theta, double target, double power)
    {
        CheckTheta(theta);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var probs = theta.detach().to(ScalarType.Float64).softmax(-1);
        double a = CostOfOne(target, power), b = CostOfZero(target, power);
        return (probs.select(-1, 0) * a + probs.select(-1, 1) * b).mean().ToDouble();
    }

    /// <summary>
    /// E[f] - min f, computed without cancellation (float64): mean_i q_i (a - b) when b = |c|^p &lt;= a = |1 - c|^p, otherwise
    /// mean_i (1 - q_i) (b - a). Always &gt;= 0; the quantity drawn on the log-scale plots.
    /// </summary>
    public static double ExpectedExcessLoss(Tensor theta, double target, double power)
    {
        CheckTheta(theta);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var probs = theta.detach().to(ScalarType.Float64).softmax(-1);
        double a = CostOfOne(target, power), b = CostOfZero(target, power);
        return b <= a
            ? probs.select(-1, 0).mean().ToDouble() * (a - b)
            : probs.select(-1, 1).mean().ToDouble() * (b - a);
    }

    /// <summary>The targets c_1..c_N: c for every i (<see cref="TargetVector.Constant"/>) or (i - 1/2) / N (<see cref="TargetVector.Ramp"/>).</summary>
    public static double[] Targets(TargetVector vector, double constant, int dimension)
    {
        Guard.AtLeast(dimension, 1, nameof(dimension));
        return vector switch
        {
            TargetVector.Constant => Enumerable.Repeat(constant, dimension).ToArray(),
            TargetVector.Ramp => Enumerable.Range(1, dimension).Select(i => (i - 0.5) / dimension).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(vector), vector, "unknown target vector"),
        };
    }

    /// <summary>f for a batch of samples z [B, N] and per-coordinate targets c [N] (a tensor of z's dtype): the mean over
    /// the batch of (1/N) sum_i |z_i - c_i|^p.</summary>
    public static Tensor Loss(Tensor z, Tensor targets, double power) => Distance(z - targets).pow(power).mean();

    /// <summary>f per sample for per-coordinate targets: z [..., N] to (1/N) sum_i |z_i - c_i|^p, [...].</summary>
    public static Tensor Values(Tensor z, Tensor targets, double power) => Distance(z - targets).pow(power).mean(new long[] { -1 });

    /// <summary>The smallest |z_i - c_i| the objective uses (<see cref="Distance"/>).</summary>
    public const double MinDistance = 1e-30;

    /// <summary>
    /// |u| clamped below at <see cref="MinDistance"/>. The value and first derivative of |u|^p are those of |u| wherever
    /// a float holds u != 0 (the smallest non-zero |z - c| in float32 near a target in (0, 1) is about 1e-10 and more);
    /// at u = 0 exactly, which a relaxed sample can hit (a float32 sigmoid lands on a dyadic target such as 63.5 / 128
    /// about once in 2^24 draws), the second derivative of |u|^p for p &lt; 2 is infinite and times the zero derivative
    /// of |u| gave NaN in RELAX's variance gradient (which differentiates twice); clamped, the derivatives there are 0.
    /// Hard samples z in {0, 1} with targets in (0, 1) never reach the clamp.
    /// </summary>
    public static Tensor Distance(Tensor u) => u.abs().clamp_min(MinDistance);

    /// <summary>min over z of f = mean_i min(|1 - c_i|^p, |c_i|^p).</summary>
    public static double Optimum(IReadOnlyList<double> targets, double power)
    {
        ArgumentNullException.ThrowIfNull(targets);
        return targets.Average(c => Optimum(c, power));
    }

    /// <summary>The exact E[f] for per-coordinate targets (float64): mean_i [q_i |1 - c_i|^p + (1 - q_i) |c_i|^p].</summary>
    public static double ExpectedLoss(Tensor theta, IReadOnlyList<double> targets, double power)
    {
        var (q, a, b) = PerCoordinate(theta, targets, power);
        double sum = 0;
        for (int i = 0; i < q.Length; i++) sum += q[i] * a[i] + (1 - q[i]) * b[i];
        return sum / q.Length;
    }

    /// <summary>E[f] - min f for per-coordinate targets, without cancellation (float64): mean_i of q_i (a_i - b_i) where
    /// b_i = |c_i|^p &lt;= a_i = |1 - c_i|^p (the optimum has z_i = 0), else (1 - q_i) (b_i - a_i).</summary>
    public static double ExpectedExcessLoss(Tensor theta, IReadOnlyList<double> targets, double power)
    {
        var (q, a, b) = PerCoordinate(theta, targets, power);
        double sum = 0;
        for (int i = 0; i < q.Length; i++) sum += b[i] <= a[i] ? q[i] * (a[i] - b[i]) : (1 - q[i]) * (b[i] - a[i]);
        return sum / q.Length;
    }

    private static (double[] Q, double[] A, double[] B) PerCoordinate(Tensor theta, IReadOnlyList<double> targets, double power)
    {
        CheckTheta(theta);
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count != theta.shape[0])
            throw new ArgumentException($"targets must hold one c_i per row of theta ({theta.shape[0]}; got {targets.Count}).", nameof(targets));
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var q = theta.detach().to(ScalarType.Float64).softmax(-1).select(-1, 0).cpu().contiguous().data<double>().ToArray();
        return (q, targets.Select(c => CostOfOne(c, power)).ToArray(), targets.Select(c => CostOfZero(c, power)).ToArray());
    }

    private static void CheckTheta(Tensor theta)
    {
        ArgumentNullException.ThrowIfNull(theta);
        if (theta.dim() != 2 || theta.shape[1] != 2)
            throw new ArgumentException($"theta must have shape [N, 2] (got [{string.Join(", ", theta.shape)}]).", nameof(theta));
    }
}
