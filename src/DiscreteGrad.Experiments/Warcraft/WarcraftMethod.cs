namespace DiscreteGrad.Experiments.Warcraft;

/// <summary>How a model learns shortest paths from map images.</summary>
public enum WarcraftMethod
{
    /// <summary>CNN -&gt; cell costs -&gt; I-MLE around Dijkstra (fixed lambda), Hamming loss to the true path.</summary>
    Imle,
    /// <summary>CNN -&gt; cell costs -&gt; AIMLE around Dijkstra (adaptive lambda), Hamming loss to the true path.</summary>
    Aimle,
    /// <summary>CNN -&gt; N x N path logits, binary cross-entropy to the true path; decoded by Dijkstra on softplus(-logits).</summary>
    Direct,
}

/// <summary>Names of <see cref="WarcraftMethod"/> on the command line and in reports.</summary>
public static class WarcraftMethods
{
    /// <summary>Command-line name (imle, aimle, direct).</summary>
    public static string Name(WarcraftMethod m) => m.ToString().ToLowerInvariant();

    /// <summary>Name for tables.</summary>
    public static string Display(WarcraftMethod m) => m switch
    {
        WarcraftMethod.Imle => "I-MLE",
        WarcraftMethod.Aimle => "AIMLE",
        WarcraftMethod.Direct => "direct CNN",
        _ => m.ToString(),
    };
}
