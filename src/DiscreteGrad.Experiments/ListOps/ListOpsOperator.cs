namespace DiscreteGrad.Experiments.ListOps;

/// <summary>
/// The list operators of ListOps (Nangia and Bowman, "ListOps: A Diagnostic Dataset for Latent Tree Learning", 2018).
/// Each takes a list of digits 0-9 and returns a digit; <see cref="ListOpsEvaluator.Apply"/> gives the formulas.
/// </summary>
public enum ListOpsOperator
{
    /// <summary><c>[MIN</c>: the smallest argument.</summary>
    Min = 0,
    /// <summary><c>[MAX</c>: the largest argument.</summary>
    Max = 1,
    /// <summary><c>[MED</c>: the median, rounded down as Python's <c>int(np.median(args))</c>.</summary>
    Med = 2,
    /// <summary><c>[SM</c>: the sum modulo 10.</summary>
    SumMod = 3,
}
