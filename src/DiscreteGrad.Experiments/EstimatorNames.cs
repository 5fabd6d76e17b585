using DiscreteGrad.Estimators;

namespace DiscreteGrad.Experiments;

/// <summary>Short command-line names and display names of the estimators compared in the experiments.</summary>
public static class EstimatorNames
{
    private static readonly (string Key, EstimatorKind Kind, string Display)[] Table =
    {
        ("st", EstimatorKind.StraightThrough, "ST"),
        ("stgs", EstimatorKind.StraightThroughGumbel, "STGS"),
        ("gst", EstimatorKind.GappedStraightThrough, "GST-1.0"),
        ("grmck", EstimatorKind.GumbelRao, "GR-MCK"),
        ("reinmax", EstimatorKind.ReinMax, "ReinMax"),
        ("gs", EstimatorKind.GumbelSoftmax, "Gumbel-softmax"),
        ("zgr", EstimatorKind.Zgr, "ZGR"),
        ("dstgs", EstimatorKind.DecoupledStraightThroughGumbel, "decoupled STGS"),
        ("dgs", EstimatorKind.DecoupledGumbelSoftmax, "decoupled GS"),
    };

    /// <summary>The five estimators of the ReinMax paper's comparisons, in the order used in reports: ST, STGS, GST-1.0, GR-MCK, ReinMax.</summary>
    public static IReadOnlyList<EstimatorKind> ReinMaxPaperSet { get; } = new[]
    {
        EstimatorKind.StraightThrough, EstimatorKind.StraightThroughGumbel, EstimatorKind.GappedStraightThrough,
        EstimatorKind.GumbelRao, EstimatorKind.ReinMax,
    };

    /// <summary>Every accepted short name: "st", "stgs", "gst", "grmck", "reinmax", "gs", "zgr", "dstgs", "dgs".</summary>
    public static IReadOnlyList<string> Keys { get; } = Table.Select(t => t.Key).ToArray();

    /// <summary>The short command-line name of an estimator (e.g. "grmck").</summary>
    public static string Key(EstimatorKind kind) => Find(kind).Key;

    /// <summary>The display name used in tables and plots (e.g. "GR-MCK").</summary>
    public static string Display(EstimatorKind kind) => Find(kind).Display;

    /// <summary>Parses one short name (case-insensitive, '-', '_' and spaces ignored, so "GR-MCK" works too); false when unknown.</summary>
    public static bool TryParse(string name, out EstimatorKind kind)
    {
        var key = (name ?? "").Trim().Replace("-", "").Replace("_", "").Replace(" ", "").ToLowerInvariant();
        foreach (var t in Table)
        {
            if (t.Key == key || t.Display.Replace("-", "").Replace(" ", "").ToLowerInvariant() == key)
            {
                kind = t.Kind;
                return true;
            }
        }
        kind = default;
        return false;
    }

    private static (string Key, EstimatorKind Kind, string Display) Find(EstimatorKind kind)
    {
        foreach (var t in Table) if (t.Kind == kind) return t;
        throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown estimator");
    }
}
