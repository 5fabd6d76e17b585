using DiscreteGrad.Imle;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.ImleGradients;

/// <summary>
/// The k-subset layer of each <see cref="GradientMethod"/> that has one, over the last axis of theta [B, ..., n]:
/// I-MLE (Niepert, Minervini and Franceschi, "Implicit MLE: Backpropagating Through Discrete Exponential Family
/// Distributions", NeurIPS 2021) and AIMLE (Minervini, Franceschi and Niepert, "Adaptive Perturbation-Based Gradient
/// Estimation for Discrete Latent Variable Models", AAAI 2023) as an <see cref="ImleLayer"/> on <see cref="TensorTopKSolver"/>
/// (z = topk(theta + T eps); gradient (z - topk(theta - lambda dL/dz + T eps)) / lambda, forward or central difference;
/// lambda fixed or adaptive), the straight-through <see cref="StraightThroughMapLayer"/> (gradient dL/dz), the score function
/// <see cref="ScoreFunctionMap"/> on perturb-and-MAP samples with the leave-one-out baseline (S &gt;= 2: max(2, S)), and
/// SIMPLE (Ahmed, Zeng, Niepert and Van den Broeck, "SIMPLE: A Gradient Estimator for k-Subset Sampling", ICLR 2023),
/// <see cref="SimpleKSubsetLayer"/> (exact samples, no noise). Samples are stacked, [B*S, ..., n] with row b*S + s.
/// </summary>
public static class TopKLayers
{
    /// <summary>Whether <paramref name="method"/> has a layer (all but the exact gradient and the exact-sampling score function).</summary>
    public static bool HasLayer(GradientMethod method) => method is not (GradientMethod.Exact or GradientMethod.ScoreFunctionExact);

    /// <summary>Builds the layer of <paramref name="method"/>.</summary>
    /// <param name="method">The estimator (one with <see cref="HasLayer"/>).</param>
    /// <param name="k">Subset size k &gt;= 1.</param>
    /// <param name="noise">Noise of the perturb-and-MAP layers (ignored by SIMPLE).</param>
    /// <param name="samples">Samples S &gt;= 1 per instance (the score function takes max(2, S)).</param>
    /// <param name="lambda">Fixed lambda &gt; 0 of I-MLE (ignored by the other methods).</param>
    /// <param name="adaptive">The adaptive target of AIMLE (required by the AIMLE methods, ignored by the others).</param>
    /// <param name="temperature">Noise temperature T &gt;= 0 (input and target of I-MLE / AIMLE).</param>
    /// <param name="generator">Random source of the noise or of SIMPLE's samples.</param>
    /// <returns>An <see cref="ImleLayer"/>, <see cref="StraightThroughMapLayer"/>, <see cref="ScoreFunctionMap"/> or
    /// <see cref="SimpleKSubsetLayer"/>; for the score function, <c>forward</c> draws the samples without gradient and
    /// <see cref="ScoreFunctionMap.Surrogate"/> carries the estimate.</returns>
    public static nn.Module<Tensor, Tensor> Create(GradientMethod method, int k, ImleNoise noise, int samples, double lambda = 1.0,
        AdaptiveImleTarget? adaptive = null, double temperature = 1.0, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(noise);
        Guard.AtLeast(k, 1, nameof(k));
        Guard.AtLeast(samples, 1, nameof(samples));
        switch (method)
        {
            case GradientMethod.StraightThrough:
                return new StraightThroughMapLayer(new TensorTopKSolver(k), noise, temperature, samples, generator: generator);
            case GradientMethod.ScoreFunctionPam:
                return new ScoreFunctionMap(new TensorTopKSolver(k), noise, temperature, Math.Max(2, samples), false, generator);
            case GradientMethod.Simple:
                return new SimpleKSubsetLayer(k, samples, SampleLayout.Stacked, generator);
            case GradientMethod.ImleForward or GradientMethod.ImleCentral or GradientMethod.AimleForward or GradientMethod.AimleCentral:
                bool fixedLambda = method is GradientMethod.ImleForward or GradientMethod.ImleCentral;
                if (!fixedLambda && adaptive is null) throw new ArgumentNullException(nameof(adaptive), $"{method} needs an AdaptiveImleTarget.");
                return new ImleLayer(new TensorTopKSolver(k), new ImleOptions
                {
                    Noise = noise,
                    InputTemperature = temperature,
                    TargetTemperature = temperature,
                    Samples = samples,
                    Target = fixedLambda ? ImleTargetDistribution.Fixed(lambda) : adaptive!,
                    Difference = method is GradientMethod.ImleCentral or GradientMethod.AimleCentral ? FiniteDifference.Central : FiniteDifference.Forward,
                    Layout = SampleLayout.Stacked,
                }, generator);
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, $"{method} has no k-subset layer (the exact gradient and the exact-sampling score function are computed, not layered).");
        }
    }
}
