using DiscreteGrad.Estimators;

namespace DiscreteGrad.Experiments.Vae;

/// <summary>The estimators compared on the categorical VAE: the pathwise family of Table 2 of Liu et al. 2023
/// ("Bridging Discrete and Backpropagation: Straight-Through and Beyond") and the score-function family (REINFORCE, NVIL,
/// VIMCO, MuProp), then the estimators added since (Gumbel-softmax, ZGR, the decoupled forms, IndeCateR, REBAR, RELAX).
/// The word "all" is the first nine (what the existing reports ran); "every" is all of them.</summary>
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
    /// <summary>Gumbel-softmax, soft forward (pathwise): the decoder sees the relaxed code in training.</summary>
    GumbelSoftmax,
    /// <summary>ZGR (pathwise, no temperature).</summary>
    Zgr,
    /// <summary>Decoupled STGS, hard forward, gradient at tau_b (pathwise).</summary>
    DecoupledStraightThroughGumbel,
    /// <summary>Decoupled Gumbel-softmax, soft forward at tau_f, gradient at tau_b (pathwise).</summary>
    DecoupledGumbelSoftmax,
    /// <summary>IndeCateR: one sample per image, its L C one-variable changes decoded in one batch (L C decoder
    /// evaluations per image and step).</summary>
    IndeCateR,
    /// <summary>REBAR: RELAX with the control variate eta BCE(softmax(z / lambda), x), eta and lambda trained on the variance.</summary>
    Rebar,
    /// <summary>RELAX: the REBAR term plus a network r(z) (L C - h - 1, tanh), trained on the variance.</summary>
    Relax,
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
        ("gs", VaeEstimator.GumbelSoftmax, "Gumbel-softmax"),
        ("zgr", VaeEstimator.Zgr, "ZGR"),
        ("dstgs", VaeEstimator.DecoupledStraightThroughGumbel, "decoupled STGS"),
        ("dgs", VaeEstimator.DecoupledGumbelSoftmax, "decoupled GS"),
        ("indecater", VaeEstimator.IndeCateR, "IndeCateR"),
        ("rebar", VaeEstimator.Rebar, "REBAR"),
        ("relax", VaeEstimator.Relax, "RELAX"),
    };

    /// <summary>The nine of the existing reports ("all"), in report order (pathwise first, as in that Table 2, then the
    /// score-function family).</summary>
    public static IReadOnlyList<VaeEstimator> All { get; } = Table.Take(9).Select(t => t.Kind).ToArray();

    /// <summary>Every estimator ("every"): the nine, then Gumbel-softmax, ZGR, decoupled STGS, decoupled GS, IndeCateR, REBAR, RELAX.</summary>
    public static IReadOnlyList<VaeEstimator> Every { get; } = Table.Select(t => t.Kind).ToArray();

    /// <summary>Every accepted short name.</summary>
    public static IReadOnlyList<string> Keys { get; } = Table.Select(t => t.Key).ToArray();

    /// <summary>Short name, e.g. "grmck".</summary>
    public static string Key(VaeEstimator e) => Table.First(t => t.Kind == e).Key;

    /// <summary>Display name, e.g. "GR-MCK".</summary>
    public static string Display(VaeEstimator e) => Table.First(t => t.Kind == e).Display;

    /// <summary>True for ST, STGS, GST-1.0, GR-MCK, ReinMax, Gumbel-softmax, ZGR and the decoupled forms.</summary>
    public static bool IsPathwise(VaeEstimator e) => e is <= VaeEstimator.ReinMax or VaeEstimator.GumbelSoftmax or VaeEstimator.Zgr
        or VaeEstimator.DecoupledStraightThroughGumbel or VaeEstimator.DecoupledGumbelSoftmax;

    /// <summary>The decoupled forms, whose --tau is the backward temperature tau_b.</summary>
    public static bool IsDecoupled(VaeEstimator e) => e is VaeEstimator.DecoupledStraightThroughGumbel or VaeEstimator.DecoupledGumbelSoftmax;

    /// <summary>The library estimator of a pathwise entry.</summary>
    public static EstimatorKind PathwiseKind(VaeEstimator e) => e switch
    {
        VaeEstimator.StraightThrough => EstimatorKind.StraightThrough,
        VaeEstimator.StraightThroughGumbel => EstimatorKind.StraightThroughGumbel,
        VaeEstimator.GappedStraightThrough => EstimatorKind.GappedStraightThrough,
        VaeEstimator.GumbelRao => EstimatorKind.GumbelRao,
        VaeEstimator.ReinMax => EstimatorKind.ReinMax,
        VaeEstimator.GumbelSoftmax => EstimatorKind.GumbelSoftmax,
        VaeEstimator.Zgr => EstimatorKind.Zgr,
        VaeEstimator.DecoupledStraightThroughGumbel => EstimatorKind.DecoupledStraightThroughGumbel,
        VaeEstimator.DecoupledGumbelSoftmax => EstimatorKind.DecoupledGumbelSoftmax,
        _ => throw new ArgumentOutOfRangeException(nameof(e), e, "not a pathwise estimator"),
    };

    /// <summary>Whether the estimator's draws have continuous noise (Gumbel or uniform variates besides the code), so that
    /// its expected gradient cannot be had by enumerating the codes: STGS, GR-MCK, Gumbel-softmax, the decoupled forms,
    /// REBAR and RELAX.</summary>
    public static bool HasContinuousNoise(VaeEstimator e) => e is VaeEstimator.StraightThroughGumbel or VaeEstimator.GumbelRao
        or VaeEstimator.GumbelSoftmax or VaeEstimator.DecoupledStraightThroughGumbel or VaeEstimator.DecoupledGumbelSoftmax
        or VaeEstimator.Rebar or VaeEstimator.Relax;

    /// <summary>A name as it is compared when parsed: trimmed, lower case, without '-', '_', '+' and spaces ("GR-MCK" -> "grmck").</summary>
    public static string Normalize(string name) => (name ?? "").Trim().Replace("-", "").Replace("_", "").Replace("+", "").Replace(" ", "").ToLowerInvariant();
}
