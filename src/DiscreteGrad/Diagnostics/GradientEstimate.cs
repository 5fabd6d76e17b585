using static TorchSharp.torch;

namespace DiscreteGrad.Diagnostics;

/// <summary>The expected gradient of an estimator and its spread.</summary>
/// <param name="Mean">E[estimated gradient], shape of the logits.</param>
/// <param name="StandardError">Per-coordinate standard error of <see cref="Mean"/> (Monte Carlo); zeros when exact.</param>
/// <param name="Variance">Total variance: E ||g - E g||^2 (trace of the covariance of one estimate).</param>
/// <param name="Samples">Number of Monte Carlo estimates averaged, or the number of enumerated samples when exact.</param>
/// <param name="Exact">True when the expectation over the sample was computed by enumeration (no Monte Carlo error).</param>
public sealed record GradientEstimate(Tensor Mean, Tensor StandardError, double Variance, long Samples, bool Exact);

/// <summary>How an estimator's expected gradient compares with the exact gradient.</summary>
/// <param name="CosineSimilarity">cos(E[g_hat], grad).</param>
/// <param name="RelativeL2Error">||E[g_hat] - grad|| / ||grad||.</param>
/// <param name="Variance">Total variance of one estimate.</param>
/// <param name="MaxStandardError">Largest per-coordinate standard error of the mean (0 when exact).</param>
/// <param name="Exact">Whether the expectation was enumerated.</param>
public sealed record BiasReport(double CosineSimilarity, double RelativeL2Error, double Variance, double MaxStandardError, bool Exact);
