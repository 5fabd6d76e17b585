using DiscreteGrad.Estimators;
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
    /// <summary>Straight-through (pathwise, as ReinMax: K samples at --tau).</summary>
    StraightThrough,
    /// <summary>Straight-through Gumbel-softmax (pathwise, K samples).</summary>
    StraightThroughGumbel,
    /// <summary>Gapped straight-through, gap 1 (pathwise, K samples).</summary>
    GappedStraightThrough,
    /// <summary>GR-MCK with 100 conditional draws (pathwise, K samples).</summary>
    GumbelRao,
    /// <summary>Gumbel-softmax, soft forward (pathwise, K samples; the decoder sees the relaxed z in training).</summary>
    GumbelSoftmax,
    /// <summary>ZGR (pathwise, K samples).</summary>
    Zgr,
    /// <summary>Decoupled STGS, hard forward, gradient at tau_b = --tau (pathwise, K samples).</summary>
    DecoupledStraightThroughGumbel,
    /// <summary>Decoupled Gumbel-softmax, soft forward at --tau-forward, gradient at --tau (pathwise, K samples).</summary>
    DecoupledGumbelSoftmax,
    /// <summary>REBAR (Tucker et al. 2017): K/3 samples (f at b, the control variate at z and z~: three evaluations each).</summary>
    Rebar,
    /// <summary>RELAX (Grathwohl et al. 2018): the REBAR term plus a network r(z), K/3 samples.</summary>
    Relax,
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
        ("st", BernoulliVaeEstimator.StraightThrough, "ST"),
        ("stgs", BernoulliVaeEstimator.StraightThroughGumbel, "STGS"),
        ("gst", BernoulliVaeEstimator.GappedStraightThrough, "GST-1.0"),
        ("grmck", BernoulliVaeEstimator.GumbelRao, "GR-MCK"),
        ("gs", BernoulliVaeEstimator.GumbelSoftmax, "Gumbel-softmax"),
        ("zgr", BernoulliVaeEstimator.Zgr, "ZGR"),
        ("dstgs", BernoulliVaeEstimator.DecoupledStraightThroughGumbel, "decoupled STGS"),
        ("dgs", BernoulliVaeEstimator.DecoupledGumbelSoftmax, "decoupled GS"),
        ("rebar", BernoulliVaeEstimator.Rebar, "REBAR"),
        ("relax", BernoulliVaeEstimator.Relax, "RELAX"),
    };

    /// <summary>Every key, in report order: reinmax, disarm, arm, rloo, nvil, then the estimators added since.</summary>
    public static IReadOnlyList<string> Keys { get; } = Table.Select(t => t.Key).ToArray();

    /// <summary>The five of the existing reports ("all"): ReinMax, DisARM, ARM, RLOO, NVIL.</summary>
    public static IReadOnlyList<BernoulliVaeEstimator> All { get; } = Table.Take(5).Select(t => t.Kind).ToArray();

    /// <summary>Every estimator ("every").</summary>
    public static IReadOnlyList<BernoulliVaeEstimator> Every { get; } = Table.Select(t => t.Kind).ToArray();

    /// <summary>The library estimator of a pathwise entry (ReinMax and the ones added since), or null.</summary>
    public static EstimatorKind? PathwiseKind(BernoulliVaeEstimator e) => e switch
    {
        BernoulliVaeEstimator.ReinMax => EstimatorKind.ReinMax,
        BernoulliVaeEstimator.StraightThrough => EstimatorKind.StraightThrough,
        BernoulliVaeEstimator.StraightThroughGumbel => EstimatorKind.StraightThroughGumbel,
        BernoulliVaeEstimator.GappedStraightThrough => EstimatorKind.GappedStraightThrough,
        BernoulliVaeEstimator.GumbelRao => EstimatorKind.GumbelRao,
        BernoulliVaeEstimator.GumbelSoftmax => EstimatorKind.GumbelSoftmax,
        BernoulliVaeEstimator.Zgr => EstimatorKind.Zgr,
        BernoulliVaeEstimator.DecoupledStraightThroughGumbel => EstimatorKind.DecoupledStraightThroughGumbel,
        BernoulliVaeEstimator.DecoupledGumbelSoftmax => EstimatorKind.DecoupledGumbelSoftmax,
        _ => null,
    };

    /// <summary>The command-line key (e.g. "disarm").</summary>
    public static string Key(BernoulliVaeEstimator e) => Table.First(t => t.Kind == e).Key;

    /// <summary>The display name (e.g. "DisARM").</summary>
    public static string Display(BernoulliVaeEstimator e) => Table.First(t => t.Kind == e).Display;

    /// <summary>Why K is invalid for the estimator, or null when it is valid: K &gt;= 1 for the pathwise estimators and NVIL,
    /// K &gt;= 2 for RLOO, K even and &gt;= 2 for ARM and DisARM, K a multiple of 3 for REBAR and RELAX.</summary>
    public static string? InvalidEvaluations(BernoulliVaeEstimator e, int k) => e switch
    {
        _ when (PathwiseKind(e) is not null || e == BernoulliVaeEstimator.Nvil) && k < 1 => $"{Display(e)} needs K >= 1 evaluations (got {k}).",
        BernoulliVaeEstimator.Rebar or BernoulliVaeEstimator.Relax when k < 3 || k % 3 != 0 =>
            $"{Display(e)} evaluates f at b and its control variate at two relaxed points per sample: K must be a multiple of 3 (got {k}).",
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

/// <summary>Words of <see cref="BernoulliVaeEstimator"/>: the keys (display names accepted, '-', '_' and spaces ignored),
/// "all" (the five of the existing reports) and "every" (all of them).</summary>
public sealed class BernoulliVaeEstimatorWords : SettingWords<BernoulliVaeEstimator>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, BernoulliVaeEstimator Value, string[] Aliases)> Table { get; } =
        BernoulliVaeEstimators.Every.Select(e => (BernoulliVaeEstimators.Key(e), e, new[] { BernoulliVaeEstimators.Display(e) })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, BernoulliVaeEstimator[] Values)> Groups { get; } = new[]
    {
        ("all", BernoulliVaeEstimators.All.ToArray()), ("every", BernoulliVaeEstimators.Every.ToArray()),
    };

    /// <inheritdoc />
    protected override string Normalize(string text) => text.Trim().Replace("-", "").Replace("_", "").Replace(" ", "").ToLowerInvariant();
}
