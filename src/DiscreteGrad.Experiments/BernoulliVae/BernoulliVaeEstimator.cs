using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.BernoulliVae;

/// <summary>
/// Gradient estimators compared on the Bernoulli VAE, and what K (the number of evaluations of the decoder term f per
/// example and step, the budget of Table 6 of Liu et al. 2023) means for each.
/// </summary>
public enum BernoulliVaeEstimator
{
    /// <summary>ReinMax (pathwise, library <c>Bernoulli.Sample</c>): K independent samples, the mean of K single-sample estimates.</summary>
    ReinMax,
    /// <summary>DisARM (Dong et al. 2020): K/2 antithetic pairs (K even; K = 2 is one pair), the mean of the pair estimates.</summary>
    DisArm,
    /// <summary>ARM (Yin and Zhou 2019): K/2 antithetic pairs (K even), the mean of the pair estimates.</summary>
    Arm,
    /// <summary>REINFORCE with the leave-one-out baseline over K &gt;= 2 samples (RLOO, Kool et al. 2019).</summary>
    Rloo,
    /// <summary>NVIL (Mnih and Gregor 2014): K independent single-sample NVIL estimates (running-mean centring, baseline
    /// network c(x), variance normalisation), averaged.</summary>
    Nvil,
}

/// <summary>Command-line keys and display names of <see cref="BernoulliVaeEstimator"/>, and the rule on K.</summary>
public static class BernoulliVaeEstimators
{
    private static readonly (string Key, BernoulliVaeEstimator Kind, string Display)[] Table =
    {
        ("reinmax", BernoulliVaeEstimator.ReinMax, "ReinMax"),
        ("disarm", BernoulliVaeEstimator.DisArm, "DisARM"),
        ("arm", BernoulliVaeEstimator.Arm, "ARM"),
        ("rloo", BernoulliVaeEstimator.Rloo, "RLOO"),
        ("nvil", BernoulliVaeEstimator.Nvil, "NVIL"),
    };

    /// <summary>Every key, in report order: reinmax, disarm, arm, rloo, nvil.</summary>
    public static IReadOnlyList<string> Keys { get; } = Table.Select(t => t.Key).ToArray();

    /// <summary>The command-line key (e.g. "disarm").</summary>
    public static string Key(BernoulliVaeEstimator e) => Table.First(t => t.Kind == e).Key;

    /// <summary>The display name (e.g. "DisARM").</summary>
    public static string Display(BernoulliVaeEstimator e) => Table.First(t => t.Kind == e).Display;

    /// <summary>Why K is invalid for the estimator, or null when it is valid: K &gt;= 1 for ReinMax and NVIL, K &gt;= 2 for
    /// RLOO, K even and &gt;= 2 for ARM and DisARM.</summary>
    public static string? InvalidEvaluations(BernoulliVaeEstimator e, int k) => e switch
    {
        BernoulliVaeEstimator.ReinMax or BernoulliVaeEstimator.Nvil when k < 1 => $"{Display(e)} needs K >= 1 evaluations (got {k}).",
        BernoulliVaeEstimator.Rloo when k < 2 => $"RLOO needs K >= 2 samples for the leave-one-out baseline (got {k}).",
        BernoulliVaeEstimator.Arm or BernoulliVaeEstimator.DisArm when k < 2 || k % 2 != 0 =>
            $"{Display(e)} evaluates f at antithetic pairs: K must be even and >= 2 (got {k}).",
        _ => null,
    };

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="parameter"/> when K is invalid.</summary>
    public static void CheckEvaluations(BernoulliVaeEstimator e, int k, string parameter)
    {
        if (InvalidEvaluations(e, k) is string why) throw new ArgumentOutOfRangeException(parameter, k, why);
    }
}

/// <summary>Words of <see cref="BernoulliVaeEstimator"/>: the keys (display names accepted, '-' and '_' ignored) and "all".</summary>
public sealed class BernoulliVaeEstimatorWords : SettingWords<BernoulliVaeEstimator>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, BernoulliVaeEstimator Value, string[] Aliases)> Table { get; } =
        Enum.GetValues<BernoulliVaeEstimator>().Select(e => (BernoulliVaeEstimators.Key(e), e, new[] { BernoulliVaeEstimators.Display(e) })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, BernoulliVaeEstimator[] Values)> Groups { get; } = new[] { ("all", Enum.GetValues<BernoulliVaeEstimator>()) };

    /// <inheritdoc />
    protected override string Normalize(string text) => text.Trim().Replace("-", "").Replace("_", "").ToLowerInvariant();
}
