using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>No NaN or inf anywhere on logits mixing {-1e4, 0, 1e4} x tau in {1e-3, 1, 1e3} x beta in {0, 1, 1e3}, fp32 and fp64.</summary>
[Collection(GlobalGenerator.Name)]
public class NumericalStabilityTests
{
    private static readonly double[,] Mixes =
    {
        { -1e4, 0, 1e4 }, { 1e4, 1e4, -1e4 }, { 0, 0, 0 }, { -1e4, -1e4, -1e4 }, { 1e4, 0, 0 }, { -1e4, 1e4, 0 },
        { 1e4, 1e4, 1e4 }, { 0, -1e4, -1e4 },
    };

    public static IEnumerable<object[]> Grid()
    {
        foreach (EstimatorKind kind in Enum.GetValues<EstimatorKind>())
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
                yield return new object[] { kind, dtype };
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void Categorical_outputs_and_gradients_stay_finite(EstimatorKind kind, ScalarType dtype)
    {
        var gen = new Generator(123);
        foreach (var tau in new[] { 1e-3, 1.0, 1e3 })
            foreach (var beta in new[] { 0.0, 1.0, 1e3 })
            {
                var theta = tensor(Mixes, dtype: ScalarType.Float64).to(dtype).requires_grad_(true);
                var w = randn(theta.shape, dtype: dtype, generator: gen);
                var s = Categorical.Sample(theta, kind, new EstimatorOptions(tau, beta, GumbelRaoK: 16), generator: gen);
                ((s.Value * w).sum() + (s.Probs * w).sum() + (s.LogProbs * w).sum()).backward();
                string at = $"{kind} {dtype} tau={tau} beta={beta}";
                TorchAssert.AllFinite(s.Value, $"value at {at}");
                TorchAssert.AllFinite(s.Hard, $"hard at {at}");
                TorchAssert.AllFinite(s.Probs, $"probs at {at}");
                TorchAssert.AllFinite(s.LogProbs, $"log-probs at {at}");
                TorchAssert.AllFinite(theta.grad!, $"gradient at {at}");
                Assert.True((s.Hard.sum(-1) == 1).all().item<bool>(), $"hard sample is not one-hot at {at}");
            }
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void Bernoulli_outputs_and_gradients_stay_finite(EstimatorKind kind, ScalarType dtype)
    {
        var gen = new Generator(321);
        foreach (var tau in new[] { 1e-3, 1.0, 1e3 })
            foreach (var beta in new[] { 0.0, 1.0, 1e3 })
            {
                var theta = tensor(new[] { -1e4, 0, 1e4, -1e4, 1e4 }, dtype: ScalarType.Float64).to(dtype).requires_grad_(true);
                var s = Bernoulli.Sample(theta, kind, new EstimatorOptions(tau, beta, GumbelRaoK: 16), generator: gen);
                ((s.Value * 2).sum() + s.LogProb.sum() + s.Probs.sum()).backward();
                string at = $"{kind} {dtype} tau={tau} beta={beta}";
                TorchAssert.AllFinite(s.Value, $"value at {at}");
                TorchAssert.AllFinite(s.LogProb, $"log-prob at {at}");
                TorchAssert.AllFinite(theta.grad!, $"gradient at {at}");
            }
    }
}
