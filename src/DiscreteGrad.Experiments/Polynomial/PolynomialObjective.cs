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
    public static Tensor Loss(Tensor z, double target, double power) => (z - target).abs().pow(power).mean();

    /// <summary>f for every joint state, for enumeration: one-hot states [S, N, 2] in, values [S] out (z_i = states[s, i, 0]).</summary>
    public static Tensor StateValues(Tensor states, double target, double power)
        => (states.select(-1, 0) - target).abs().pow(power).mean(new long[] { -1 });

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

    private static void CheckTheta(Tensor theta)
    {
        ArgumentNullException.ThrowIfNull(theta);
        if (theta.dim() != 2 || theta.shape[1] != 2)
            throw new ArgumentException($"theta must have shape [N, 2] (got [{string.Join(", ", theta.shape)}]).", nameof(theta));
    }
}
