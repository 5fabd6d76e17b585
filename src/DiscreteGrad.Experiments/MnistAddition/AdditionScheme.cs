namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// The training configurations of the MNIST-addition experiment of Friede and Niepert, "Efficient Learning of
/// Discrete-Continuous Computation Graphs" (NeurIPS 2021, Figure 4).
/// </summary>
public enum AdditionScheme
{
    /// <summary>Constant tau = 8, beta = 1.</summary>
    Base,
    /// <summary>tau annealed by exponential decay to a floor, beta = 1.</summary>
    TauAnn,
    /// <summary>tau = 8 fixed, beta_t = tau (1 - exp(-gamma t)) (TEMPMATCH).</summary>
    TempMatch,
    /// <summary>Base with DROPRES residuals, alpha rising linearly 0 -> 1.</summary>
    DropRes,
    /// <summary>TEMPMATCH and DROPRES together.</summary>
    TempMatchDropRes,
}

/// <summary>How MNIST addition is evaluated; always without the DropRes residual (alpha = 1).</summary>
public enum AdditionEvaluation
{
    /// <summary>A hard sample per image, D ~ Cat(softmax(theta)) by Gumbel-max with beta = 1 (the default).</summary>
    Sample,
    /// <summary>The most probable category per image.</summary>
    Argmax,
    /// <summary>The training relaxation, softmax((theta + g) / tau) with g ~ Gumbel(0, 1) at the current tau (beta = 1).</summary>
    Relaxed,
}

/// <summary>Names of the schemes on the command line and in reports.</summary>
public static class AdditionSchemes
{
    /// <summary>Command-line name: base, tauann, tempmatch, dropres, tempmatch-dropres.</summary>
    public static string Name(AdditionScheme s) => s switch
    {
        AdditionScheme.Base => "base",
        AdditionScheme.TauAnn => "tauann",
        AdditionScheme.TempMatch => "tempmatch",
        AdditionScheme.DropRes => "dropres",
        AdditionScheme.TempMatchDropRes => "tempmatch-dropres",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    /// <summary>Display name as in the paper (Base, TauAnn, TM, DropRes, TM + DropRes).</summary>
    public static string Display(AdditionScheme s) => s switch
    {
        AdditionScheme.Base => "Base",
        AdditionScheme.TauAnn => "TauAnn",
        AdditionScheme.TempMatch => "TM",
        AdditionScheme.DropRes => "DropRes",
        AdditionScheme.TempMatchDropRes => "TM + DropRes",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    /// <summary>Whether the scheme raises beta (TEMPMATCH).</summary>
    public static bool UsesTempMatch(this AdditionScheme s) => s is AdditionScheme.TempMatch or AdditionScheme.TempMatchDropRes;
    /// <summary>Whether the scheme uses DROPRES.</summary>
    public static bool UsesDropRes(this AdditionScheme s) => s is AdditionScheme.DropRes or AdditionScheme.TempMatchDropRes;
}
