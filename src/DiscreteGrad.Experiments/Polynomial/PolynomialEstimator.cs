using DiscreteGrad.Estimators;
using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Polynomial;

/// <summary>
/// The estimators of the polynomial-programming experiment: every pathwise <see cref="EstimatorKind"/> (through
/// <c>Categorical.Sample</c>) and the score-function family of the ReinMax paper's "ReinMax vs REINFORCE" comparison and
/// its successors. Each draws <see cref="PolynomialConfig.Batch"/> samples of z per step; what one step evaluates is in
/// <see cref="PolynomialEstimators.Evaluations"/>.
/// </summary>
public enum PolynomialEstimator
{
    /// <summary>Straight-through (pathwise).</summary>
    StraightThrough,
    /// <summary>Straight-through Gumbel-softmax (pathwise).</summary>
    StraightThroughGumbel,
    /// <summary>Gapped straight-through (pathwise).</summary>
    GappedStraightThrough,
    /// <summary>GR-MCK (pathwise).</summary>
    GumbelRao,
    /// <summary>ReinMax (pathwise).</summary>
    ReinMax,
    /// <summary>Gumbel-softmax, soft forward (pathwise).</summary>
    GumbelSoftmax,
    /// <summary>ZGR (pathwise).</summary>
    Zgr,
    /// <summary>Decoupled STGS, hard forward (pathwise).</summary>
    DecoupledStraightThroughGumbel,
    /// <summary>Decoupled Gumbel-softmax, soft forward at tau_f (pathwise).</summary>
    DecoupledGumbelSoftmax,
    /// <summary>REINFORCE (Williams 1992) with the moving-average baseline (decay 0.9) over the batch's samples.</summary>
    Reinforce,
    /// <summary>REINFORCE with the leave-one-out baseline over the batch's samples (RLOO, Kool et al. 2019).</summary>
    Rloo,
    /// <summary>ARM (Yin and Zhou 2019) on the Bernoulli logits theta_i0 - theta_i1: batch / 2 antithetic pairs.</summary>
    Arm,
    /// <summary>DisARM (Dong et al. 2020) on the Bernoulli logits: batch / 2 antithetic pairs.</summary>
    DisArm,
    /// <summary>IndeCateR (De Smet et al. 2023): each sample's N x 2 coordinate changes enumerated.</summary>
    IndeCateR,
    /// <summary>MuProp (Gu et al. 2016): first-order Taylor baseline at softmax(theta) with its analytic correction.</summary>
    MuProp,
    /// <summary>REBAR (Tucker et al. 2017): RELAX with the control variate eta f(softmax(z / lambda)) (eta, lambda trained on the variance).</summary>
    Rebar,
    /// <summary>RELAX (Grathwohl et al. 2018): the REBAR term plus a small network r(z), trained on the variance.</summary>
    Relax,
}

/// <summary>Keys, display names and families of <see cref="PolynomialEstimator"/>.</summary>
public static class PolynomialEstimators
{
    private static readonly (PolynomialEstimator Value, EstimatorKind? Kind, string Key, string Display)[] Table =
    {
        (PolynomialEstimator.StraightThrough, EstimatorKind.StraightThrough, "", ""),
        (PolynomialEstimator.StraightThroughGumbel, EstimatorKind.StraightThroughGumbel, "", ""),
        (PolynomialEstimator.GappedStraightThrough, EstimatorKind.GappedStraightThrough, "", ""),
        (PolynomialEstimator.GumbelRao, EstimatorKind.GumbelRao, "", ""),
        (PolynomialEstimator.ReinMax, EstimatorKind.ReinMax, "", ""),
        (PolynomialEstimator.GumbelSoftmax, EstimatorKind.GumbelSoftmax, "", ""),
        (PolynomialEstimator.Zgr, EstimatorKind.Zgr, "", ""),
        (PolynomialEstimator.DecoupledStraightThroughGumbel, EstimatorKind.DecoupledStraightThroughGumbel, "", ""),
        (PolynomialEstimator.DecoupledGumbelSoftmax, EstimatorKind.DecoupledGumbelSoftmax, "", ""),
        (PolynomialEstimator.Reinforce, null, "reinforce", "REINFORCE+MA"),
        (PolynomialEstimator.Rloo, null, "rloo", "RLOO"),
        (PolynomialEstimator.Arm, null, "arm", "ARM"),
        (PolynomialEstimator.DisArm, null, "disarm", "DisARM"),
        (PolynomialEstimator.IndeCateR, null, "indecater", "IndeCateR"),
        (PolynomialEstimator.MuProp, null, "muprop", "MuProp"),
        (PolynomialEstimator.Rebar, null, "rebar", "REBAR"),
        (PolynomialEstimator.Relax, null, "relax", "RELAX"),
    };

    /// <summary>The score-function family of the "ReinMax vs REINFORCE" comparison: REINFORCE+MA, RLOO, DisARM, IndeCateR, RELAX.</summary>
    public static IReadOnlyList<PolynomialEstimator> ScoreFunctionSet { get; } = new[]
    {
        PolynomialEstimator.Reinforce, PolynomialEstimator.Rloo, PolynomialEstimator.DisArm, PolynomialEstimator.IndeCateR, PolynomialEstimator.Relax,
    };

    /// <summary>Every estimator, in report order (pathwise first).</summary>
    public static IReadOnlyList<PolynomialEstimator> All { get; } = Table.Select(t => t.Value).ToArray();

    /// <summary>The pathwise kind of an entry, or null for the score-function family.</summary>
    public static EstimatorKind? PathwiseKind(PolynomialEstimator e) => Find(e).Kind;

    /// <summary>Whether the entry is a pathwise estimator.</summary>
    public static bool IsPathwise(PolynomialEstimator e) => PathwiseKind(e) is not null;

    /// <summary>The command-line key: the pathwise estimators' <see cref="EstimatorNames.Key"/> ("st", "reinmax", ...), "reinforce", "rloo", ...</summary>
    public static string Key(PolynomialEstimator e) => Find(e) is { Kind: { } k } ? EstimatorNames.Key(k) : Find(e).Key;

    /// <summary>The display name ("ReinMax", "REINFORCE+MA", ...).</summary>
    public static string Display(PolynomialEstimator e) => Find(e) is { Kind: { } k } ? EstimatorNames.Display(k) : Find(e).Display;

    /// <summary>Evaluations of f per step at batch B and N variables: B for the pathwise estimators and for REINFORCE,
    /// RLOO, ARM, DisARM (B / 2 pairs); B N 2 for IndeCateR; B + 1 for MuProp (the Taylor point); 3 B for REBAR and RELAX
    /// (f at b and the control variate at two relaxed points).</summary>
    public static long Evaluations(PolynomialEstimator e, int batch, int dimension) => e switch
    {
        PolynomialEstimator.IndeCateR => (long)batch * dimension * 2,
        PolynomialEstimator.MuProp => batch + 1L,
        PolynomialEstimator.Rebar or PolynomialEstimator.Relax => 3L * batch,
        _ => batch,
    };

    private static (PolynomialEstimator Value, EstimatorKind? Kind, string Key, string Display) Find(PolynomialEstimator e)
    {
        foreach (var t in Table) if (t.Value == e) return t;
        throw new ArgumentOutOfRangeException(nameof(e), e, "unknown estimator");
    }
}

/// <summary>
/// Words of <see cref="PolynomialEstimator"/>: the keys (display names accepted, '-', '_', '+' and spaces ignored), and
/// the groups "pathwise" (the nine pathwise estimators), "score-function" (REINFORCE+MA, RLOO, DisARM, IndeCateR,
/// RELAX) and "all" (every one).
/// </summary>
public sealed class PolynomialEstimatorWords : SettingWords<PolynomialEstimator>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, PolynomialEstimator Value, string[] Aliases)> Table { get; } =
        PolynomialEstimators.All.Select(e => (PolynomialEstimators.Key(e), e, new[] { PolynomialEstimators.Display(e) })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, PolynomialEstimator[] Values)> Groups { get; } = new[]
    {
        ("all", PolynomialEstimators.All.ToArray()),
        ("pathwise", PolynomialEstimators.All.Where(PolynomialEstimators.IsPathwise).ToArray()),
        ("score-function", PolynomialEstimators.ScoreFunctionSet.ToArray()),
    };

    /// <inheritdoc />
    protected override string Normalize(string text) =>
        text.Trim().Replace("-", "").Replace("_", "").Replace("+", "").Replace(" ", "").ToLowerInvariant();
}
