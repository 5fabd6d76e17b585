namespace DiscreteGrad.Estimators;

/// <summary>Hyperparameters of the pathwise estimators. Unused ones are ignored by an estimator that has no use for them.</summary>
/// <param name="Tau">Temperature tau &gt; 0 of the relaxation (the softmax_tau in the gradient path).</param>
/// <param name="Beta">Scale beta &gt;= 0 of the Gumbel noise (Gumbel-softmax and STGS only); beta = 0 is the plain softmax.
/// Separate from tau as in the DCCG paper (Friede and Niepert 2021).</param>
/// <param name="Gap">Gap of GST (default 1.0, the GST-1.0 of the ReinMax paper), &gt;= 0.</param>
/// <param name="GumbelRaoK">Number K &gt;= 1 of conditional Gumbel samples of GR-MCK (default 100).</param>
public sealed record EstimatorOptions(double Tau = 1.0, double Beta = 1.0, double Gap = 1.0, int GumbelRaoK = 100)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        Guard.Temperature(Tau, nameof(Tau));
        Guard.Scale(Beta, nameof(Beta));
        Guard.NonNegative(Gap, nameof(Gap));
        Guard.AtLeast(GumbelRaoK, 1, nameof(GumbelRaoK));
    }
}
