namespace DiscreteGrad.Estimators;

/// <summary>Hyperparameters of the pathwise estimators. Unused ones are ignored by an estimator that has no use for them.</summary>
/// <param name="Tau">Temperature tau &gt; 0 of the relaxation (the softmax_tau in the gradient path), and at least the
/// smallest normal number of the logits' dtype (float32 1.1754944E-38, float64 2.2250738585072014E-308; checked by the
/// estimator, which knows the dtype). Gumbel-softmax and STGS compute the tau -&gt; 0 limit stably: where
/// (theta + beta g) / tau would overflow, the scores are shifted by their row maximum first (forward: the one-hot argmax;
/// gradient: 0).</param>
/// <param name="Beta">Scale beta &gt;= 0 of the Gumbel noise (Gumbel-softmax and STGS only); beta = 0 is the plain softmax.
/// Separate from tau as in the DCCG paper (Friede and Niepert 2021). At most the largest number of the logits' dtype, and
/// theta + beta g must be finite in it (checked with the logits' finite check; an overflow is refused naming beta).</param>
/// <param name="Gap">Gap of GST (default 1.0, the GST-1.0 of the ReinMax paper), &gt;= 0.</param>
/// <param name="GumbelRaoK">Number K &gt;= 1 of conditional Gumbel samples of GR-MCK (default 100).</param>
/// <param name="TauForward">Forward temperature tau_f &gt; 0 of the decoupled Gumbel-softmax (Shah et al. 2024; default 1.0):
/// its soft forward value is softmax((theta + beta g) / tau_f) while <paramref name="Tau"/> is its backward temperature
/// tau_b. Only <see cref="EstimatorKind.DecoupledGumbelSoftmax"/> uses it (the hard decoupled STGS forward is the
/// argmax, which no temperature changes); same range as <paramref name="Tau"/>.</param>
public sealed record EstimatorOptions(double Tau = 1.0, double Beta = 1.0, double Gap = 1.0, int GumbelRaoK = 100, double TauForward = 1.0)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid parameter.</summary>
    public void Validate()
    {
        Guard.Temperature(Tau, nameof(Tau));
        Guard.Scale(Beta, nameof(Beta));
        Guard.NonNegative(Gap, nameof(Gap));
        Guard.AtLeast(GumbelRaoK, 1, nameof(GumbelRaoK));
        Guard.Temperature(TauForward, nameof(TauForward));
    }
}
