namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>The gradient estimators of the study (AIMLE, Minervini et al. 2023, Figure 2 and the synthetic optimisation).</summary>
public enum GradientMethod
{
    /// <summary>I-MLE, forward (one-sided) difference, fixed lambda, gradient scaled by 1/lambda.</summary>
    ImleForward,
    /// <summary>I-MLE, central (two-sided) difference, fixed lambda.</summary>
    ImleCentral,
    /// <summary>AIMLE: forward difference with the adaptive lambda = beta ||theta|| / ||dz||.</summary>
    AimleForward,
    /// <summary>AIMLE: central difference with the adaptive lambda.</summary>
    AimleCentral,
    /// <summary>Straight-through: the upstream gradient dL/dz of the perturb-and-MAP sample, as the gradient of theta.</summary>
    StraightThrough,
    /// <summary>Score function with exact samples of p_theta and the exact score z - mu(theta), no baseline (the reference's SFE).</summary>
    ScoreFunctionExact,
    /// <summary>Score function on perturb-and-MAP samples with the leave-one-out baseline (<see cref="DiscreteGrad.Imle.ScoreFunctionMap"/>).</summary>
    ScoreFunctionPam,
    /// <summary>The exact gradient (only in the optimisation curves, as the reference line).</summary>
    Exact,
    /// <summary>SIMPLE (Ahmed et al., ICLR 2023): exact samples of p_theta, backward through the exact marginals, Cov_p(z) dL/dz.</summary>
    Simple,
}

/// <summary>Names of the methods in tables, plots and CSV files.</summary>
public static class GradientMethods
{
    /// <summary>Short label.</summary>
    public static string Label(GradientMethod m) => m switch
    {
        GradientMethod.ImleForward => "I-MLE forward",
        GradientMethod.ImleCentral => "I-MLE central",
        GradientMethod.AimleForward => "AIMLE forward",
        GradientMethod.AimleCentral => "AIMLE central",
        GradientMethod.StraightThrough => "STE",
        GradientMethod.ScoreFunctionExact => "SFE (exact sampling)",
        GradientMethod.ScoreFunctionPam => "SFE (PaM, LOO baseline)",
        GradientMethod.Exact => "exact gradient",
        GradientMethod.Simple => "SIMPLE",
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, null),
    };

    /// <summary>Command-line key (imle-forward, imle-central, aimle-forward, aimle-central, ste, sfe-exact, sfe-pam, simple, exact).</summary>
    public static string Key(GradientMethod m) => m switch
    {
        GradientMethod.ImleForward => "imle-forward",
        GradientMethod.ImleCentral => "imle-central",
        GradientMethod.AimleForward => "aimle-forward",
        GradientMethod.AimleCentral => "aimle-central",
        GradientMethod.StraightThrough => "ste",
        GradientMethod.ScoreFunctionExact => "sfe-exact",
        GradientMethod.ScoreFunctionPam => "sfe-pam",
        GradientMethod.Exact => "exact",
        GradientMethod.Simple => "simple",
        _ => throw new ArgumentOutOfRangeException(nameof(m), m, null),
    };

    /// <summary>The method of a <see cref="Key"/>, or false.</summary>
    public static bool TryParse(string key, out GradientMethod method)
    {
        foreach (var m in Enum.GetValues<GradientMethod>())
            if (string.Equals(Key(m), key, StringComparison.OrdinalIgnoreCase)) { method = m; return true; }
        method = default;
        return false;
    }

    /// <summary>True for the methods with a fixed lambda (swept over the grid).</summary>
    public static bool UsesFixedLambda(GradientMethod m) => m is GradientMethod.ImleForward or GradientMethod.ImleCentral;

    /// <summary>The estimators compared in the cosine study (all but <see cref="GradientMethod.Exact"/>).</summary>
    public static readonly GradientMethod[] Estimators =
    {
        GradientMethod.ImleForward, GradientMethod.ImleCentral, GradientMethod.AimleForward, GradientMethod.AimleCentral,
        GradientMethod.StraightThrough, GradientMethod.ScoreFunctionExact, GradientMethod.ScoreFunctionPam, GradientMethod.Simple,
    };
}
