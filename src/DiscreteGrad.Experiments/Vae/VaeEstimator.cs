using DiscreteGrad.Estimators;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>The estimators compared on the categorical VAE: the pathwise family of Table 2 of Liu et al. 2023
/// ("Bridging Discrete and Backpropagation: Straight-Through and Beyond") and the score-function family (REINFORCE, NVIL,
/// VIMCO, MuProp).</summary>
public enum VaeEstimator
{
    /// <summary>Straight-through (pathwise).</summary>
    StraightThrough,
    /// <summary>Straight-through Gumbel-softmax (pathwise).</summary>
    StraightThroughGumbel,
    /// <summary>Gapped straight-through, gap 1.0 (pathwise).</summary>
    GappedStraightThrough,
    /// <summary>Gumbel-Rao Monte Carlo, K conditional draws (pathwise).</summary>
    GumbelRao,
    /// <summary>ReinMax (pathwise, second order).</summary>
    ReinMax,
    /// <summary>REINFORCE with an exponential-moving-average baseline.</summary>
    Reinforce,
    /// <summary>NVIL: running-mean centring, input-dependent baseline network c_psi(x), variance normalisation.</summary>
    Nvil,
    /// <summary>VIMCO on the K-sample bound.</summary>
    Vimco,
    /// <summary>MuProp: first-order Taylor baseline at the mean-field point with its analytic correction.</summary>
    MuProp,
}

/// <summary>Short command-line names, display names and families of <see cref="VaeEstimator"/>.</summary>
public static class VaeEstimators
{
    private static readonly (string Key, VaeEstimator Kind, string Display)[] Table =
    {
        ("st", VaeEstimator.StraightThrough, "ST"),
        ("stgs", VaeEstimator.StraightThroughGumbel, "STGS"),
        ("gst", VaeEstimator.GappedStraightThrough, "GST-1.0"),
        ("grmck", VaeEstimator.GumbelRao, "GR-MCK"),
        ("reinmax", VaeEstimator.ReinMax, "ReinMax"),
        ("reinforce", VaeEstimator.Reinforce, "REINFORCE+MA"),
        ("nvil", VaeEstimator.Nvil, "NVIL"),
        ("vimco", VaeEstimator.Vimco, "VIMCO"),
        ("muprop", VaeEstimator.MuProp, "MuProp"),
    };

    /// <summary>All nine, in report order (pathwise first, as in that Table 2, then the score-function family).</summary>
    public static IReadOnlyList<VaeEstimator> All { get; } = Table.Select(t => t.Kind).ToArray();

    /// <summary>Every accepted short name.</summary>
    public static IReadOnlyList<string> Keys { get; } = Table.Select(t => t.Key).ToArray();

    /// <summary>Short name, e.g. "grmck".</summary>
    public static string Key(VaeEstimator e) => Table.First(t => t.Kind == e).Key;

    /// <summary>Display name, e.g. "GR-MCK".</summary>
    public static string Display(VaeEstimator e) => Table.First(t => t.Kind == e).Display;

    /// <summary>True for ST, STGS, GST-1.0, GR-MCK and ReinMax.</summary>
    public static bool IsPathwise(VaeEstimator e) => e <= VaeEstimator.ReinMax;

    /// <summary>The library estimator of a pathwise entry.</summary>
    public static EstimatorKind PathwiseKind(VaeEstimator e) => e switch
    {
        VaeEstimator.StraightThrough => EstimatorKind.StraightThrough,
        VaeEstimator.StraightThroughGumbel => EstimatorKind.StraightThroughGumbel,
        VaeEstimator.GappedStraightThrough => EstimatorKind.GappedStraightThrough,
        VaeEstimator.GumbelRao => EstimatorKind.GumbelRao,
        VaeEstimator.ReinMax => EstimatorKind.ReinMax,
        _ => throw new ArgumentOutOfRangeException(nameof(e), e, "not a pathwise estimator"),
    };

    /// <summary>A name as it is compared when parsed: trimmed, lower case, without '-', '_' and '+' ("GR-MCK" -> "grmck").</summary>
    public static string Normalize(string name) => (name ?? "").Trim().Replace("-", "").Replace("_", "").Replace("+", "").ToLowerInvariant();
}
