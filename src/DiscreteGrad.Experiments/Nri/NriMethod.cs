using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.Nri;

/// <summary>How the gradient reaches the encoder's edge logits through the spanning-tree latent.</summary>
public enum NriMethod
{
    /// <summary>Spanning-tree stochastic softmax trick (Paulus et al. 2020): Kruskal(theta + G) forward, the gradient of the
    /// matrix-tree marginals of (theta + G) / tau backward (<see cref="DiscreteGrad.Relaxations.SpanningTreeSst"/>).</summary>
    Sst,
    /// <summary>I-MLE (Niepert et al. 2021) around Kruskal, fixed lambda, forward difference.</summary>
    ImleForward,
    /// <summary>I-MLE around Kruskal, fixed lambda, central difference.</summary>
    ImleCentral,
    /// <summary>AIMLE (Minervini et al. 2023) around Kruskal, adaptive lambda, forward difference.</summary>
    AimleForward,
    /// <summary>AIMLE around Kruskal, adaptive lambda, central difference.</summary>
    AimleCentral,
}

/// <summary>Names and properties of <see cref="NriMethod"/>.</summary>
public static class NriMethods
{
    /// <summary>All methods, in table order.</summary>
    public static IReadOnlyList<NriMethod> All { get; } = Enum.GetValues<NriMethod>();

    /// <summary>Command-line name: sst, imle-forward, imle-central, aimle-forward, aimle-central.</summary>
    public static string Name(NriMethod m) => m switch
    {
        NriMethod.Sst => "sst",
        NriMethod.ImleForward => "imle-forward",
        NriMethod.ImleCentral => "imle-central",
        NriMethod.AimleForward => "aimle-forward",
        NriMethod.AimleCentral => "aimle-central",
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, "unknown NRI method."),
    };

    /// <summary>Name for tables, e.g. "AIMLE (central)".</summary>
    public static string Display(NriMethod m) => m switch
    {
        NriMethod.Sst => "SST (spanning tree)",
        NriMethod.ImleForward => "I-MLE (forward)",
        NriMethod.ImleCentral => "I-MLE (central)",
        NriMethod.AimleForward => "AIMLE (forward)",
        NriMethod.AimleCentral => "AIMLE (central)",
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, "unknown NRI method."),
    };

    /// <summary>Whether the method is I-MLE or AIMLE (a perturb-and-MAP layer around Kruskal).</summary>
    public static bool IsPerturbAndMap(this NriMethod m) => m != NriMethod.Sst;

    /// <summary>Whether the method adapts lambda (AIMLE).</summary>
    public static bool IsAdaptive(this NriMethod m) => m is NriMethod.AimleForward or NriMethod.AimleCentral;

    /// <summary>Whether the method takes the central difference.</summary>
    public static bool IsCentral(this NriMethod m) => m is NriMethod.ImleCentral or NriMethod.AimleCentral;
}

/// <summary>The words of <see cref="NriMethod"/> ("all": the five).</summary>
public sealed class NriMethodWords : SettingWords<NriMethod>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, NriMethod Value, string[] Aliases)> Table { get; } =
        NriMethods.All.Select(m => (NriMethods.Name(m), m, new[] { NriMethods.Display(m) })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, NriMethod[] Values)> Groups { get; } = new[] { ("all", NriMethods.All.ToArray()) };
}
