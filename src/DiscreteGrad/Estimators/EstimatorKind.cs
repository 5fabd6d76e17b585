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
    /// <summary>
    /// ZGR (Shekhovtsov 2023, "Cold Rao-Blackwellized Straight-Through Gumbel-Softmax Gradient Estimator"): D ~
    /// Cat(softmax(theta)) forward, gradient the average of the ST (tau = 1) and DARN Jacobians; no temperature (tau is
    /// ignored). The kind of <c>discrete.functional.zgr</c>. Its gradient equals ReinMax's at tau = 1 sample by sample:
    /// 2 J((D + p) / 2) - J(p) / 2 - [J(p) + (D - p)(D - p)^T] / 2 = diag(D) - D D^T = 0 for a one-hot D (test:
    /// NewKindDispatchTests).
    /// </summary>
    Zgr,
    /// <summary>
    /// Decoupled STGS (Shah, Yan, Mozer and Liu 2024, arXiv:2410.13331), hard form: forward one_hot(argmax(theta + beta g)),
    /// gradient of the Gumbel-softmax at the backward temperature tau_b = <see cref="EstimatorOptions.Tau"/> (tau is the
    /// gradient-path temperature of every estimator); the forward temperature <see cref="EstimatorOptions.TauForward"/>
    /// does not change a one-hot argmax, so in value and gradient this is STGS at tau = tau_b. The kind of
    /// <c>discrete.functional.decoupled_gumbel_softmax(hard: true)</c>.
    /// </summary>
    DecoupledStraightThroughGumbel,
    /// <summary>
    /// Decoupled Gumbel-softmax, the soft form of decoupled STGS: forward softmax((theta + beta g) / tau_f) with tau_f =
    /// <see cref="EstimatorOptions.TauForward"/>, gradient of the Gumbel-softmax at tau_b = <see cref="EstimatorOptions.Tau"/>
    /// with the same g. With tau_f = tau_b it is the Gumbel-softmax. The kind of
    /// <c>discrete.functional.decoupled_gumbel_softmax(hard: false)</c>.
    /// </summary>
    DecoupledGumbelSoftmax,
}
