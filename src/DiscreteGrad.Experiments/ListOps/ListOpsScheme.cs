using DiscreteGrad.Experiments.Runner;

namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The training schemes of the DCCG ListOps experiment (David Friede and Mathias Niepert, "Efficient Learning of
/// Discrete-Continuous Computation Graphs", NeurIPS 2021, Figure 1 bottom and Figure 6). tau is fixed in every scheme;
/// TEMPMATCH raises the Gumbel scale beta_t = tau (1 - e^(-gamma t)) from 0, DROPRES keeps the residual around each digit
/// component with probability 1 - alpha_t, alpha_t = min(1, t / 500), t counting schedule updates.
/// </summary>
public enum ListOpsScheme
{
    /// <summary>The discrete network with tau = beta = 1 fixed and no residual.</summary>
    Base,
    /// <summary>TEMPMATCH alone.</summary>
    TempMatch,
    /// <summary>DROPRES alone (beta = 1).</summary>
    DropRes,
    /// <summary>TEMPMATCH and DROPRES together.</summary>
    TempMatchDropRes,
    /// <summary>The same network without discretisation: softmax attention over the positions, no digit component.</summary>
    Continuous,
}

/// <summary>Names and properties of <see cref="ListOpsScheme"/>.</summary>
public static class ListOpsSchemes
{
    /// <summary>Every scheme, in report order.</summary>
    public static IReadOnlyList<ListOpsScheme> All { get; } = Enum.GetValues<ListOpsScheme>();

    /// <summary>Command-line word: base, tempmatch, dropres, tempmatch-dropres, continuous.</summary>
    public static string Name(ListOpsScheme s) => s switch
    {
        ListOpsScheme.Base => "base",
        ListOpsScheme.TempMatch => "tempmatch",
        ListOpsScheme.DropRes => "dropres",
        ListOpsScheme.TempMatchDropRes => "tempmatch-dropres",
        ListOpsScheme.Continuous => "continuous",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, "unknown scheme."),
    };

    /// <summary>Display name: Base, TM, DropRes, TM + DropRes, Continuous.</summary>
    public static string Display(ListOpsScheme s) => s switch
    {
        ListOpsScheme.Base => "Base",
        ListOpsScheme.TempMatch => "TM",
        ListOpsScheme.DropRes => "DropRes",
        ListOpsScheme.TempMatchDropRes => "TM + DropRes",
        ListOpsScheme.Continuous => "Continuous",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, "unknown scheme."),
    };

    /// <summary>Whether the scheme raises beta by TEMPMATCH.</summary>
    public static bool UsesTempMatch(this ListOpsScheme s) => s is ListOpsScheme.TempMatch or ListOpsScheme.TempMatchDropRes;
    /// <summary>Whether the scheme uses DROPRES.</summary>
    public static bool UsesDropRes(this ListOpsScheme s) => s is ListOpsScheme.DropRes or ListOpsScheme.TempMatchDropRes;
    /// <summary>Whether the network has discrete nodes.</summary>
    public static bool IsDiscrete(this ListOpsScheme s) => s != ListOpsScheme.Continuous;
}

/// <summary>The words of <see cref="ListOpsScheme"/> ("all": the five).</summary>
public sealed class ListOpsSchemeWords : SettingWords<ListOpsScheme>
{
    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, ListOpsScheme Value, string[] Aliases)> Table { get; } =
        ListOpsSchemes.All.Select(s => (ListOpsSchemes.Name(s), s, new[] { ListOpsSchemes.Display(s) })).ToArray();

    /// <inheritdoc />
    protected override IReadOnlyList<(string Word, ListOpsScheme[] Values)> Groups { get; } = new[] { ("all", ListOpsSchemes.All.ToArray()) };
}
