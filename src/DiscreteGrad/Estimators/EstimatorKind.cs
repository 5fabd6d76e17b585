namespace DiscreteGrad.Estimators;

/// <summary>The pathwise estimators for a categorical (or Bernoulli) node. Each estimator's file gives its formula.</summary>
public enum EstimatorKind
{
    /// <summary>Gumbel-softmax / Concrete (Jang et al. 2017; Maddison et al. 2017): y = softmax((theta + g) / tau), g ~ Gumbel(0, beta). Soft forward.</summary>
    GumbelSoftmax,
    /// <summary>Straight-through Gumbel-softmax (STGS): forward one_hot(argmax(theta + g)), gradient of the Gumbel-softmax.</summary>
    StraightThroughGumbel,
    /// <summary>Straight-through (ST, Bengio et al. 2013): D ~ Cat(softmax(theta)), gradient of softmax(theta / tau).</summary>
    StraightThrough,
    /// <summary>ReinMax (Liu et al. 2023): second-order (Heun) estimator, D ~ Cat(softmax(theta)).</summary>
    ReinMax,
    /// <summary>Gapped straight-through (GST, Fan et al. 2022) with a gap parameter (default 1.0).</summary>
    GappedStraightThrough,
    /// <summary>Gumbel-Rao Monte Carlo (GR-MCK, Paulus et al. 2021): Rao-Blackwellised STGS over K conditional Gumbel draws.</summary>
    GumbelRao,
}
