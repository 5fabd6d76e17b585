using DiscreteGrad.Estimators;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// Seed 001's temperature experiment as a property: 10 random scores, 10k Gumbel-softmax samples per temperature. As tau
/// goes to 0 the soft samples become one-hot (max -> 1) and their mean is the true softmax; as tau grows they go uniform.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class TemperatureTests
{
    private static readonly double[] Taus = { 0.001, 0.1, 0.5, 1, 2, 10, 100 };

    [Fact]
    public void Soft_samples_go_one_hot_as_tau_falls_and_uniform_as_it_grows()
    {
        var gen = new Generator(1);
        var scores = randn(new long[] { 10 }, dtype: ScalarType.Float64, generator: gen);
        var logits = scores.expand(10_000, 10);
        var probs = Hand.Softmax(TorchAssert.ToArray(scores));
        var meanMax = new List<double>();
        foreach (var tau in Taus)
        {
            var y = discrete.functional.gumbel_softmax(logits, tau, beta: 1.0, generator: new Generator(42));
            meanMax.Add(y.amax(new long[] { -1 }).mean().item<double>());
            var empirical = TorchAssert.ToArray(y.mean(new long[] { 0 }));
            if (tau == 0.001)
            {
                // Essentially one-hot Gumbel-max samples: the empirical mean is the softmax, within 4.5 standard errors.
                for (int i = 0; i < 10; i++)
                {
                    double se = Math.Sqrt(probs[i] * (1 - probs[i]) / 10_000);
                    Assert.True(Math.Abs(empirical[i] - probs[i]) < 4.5 * se, $"category {i}: {empirical[i]} vs {probs[i]}");
                }
            }
            if (tau == 100)
                Assert.All(empirical, e => Assert.InRange(e, 0.095, 0.105));
        }
        for (int i = 1; i < meanMax.Count; i++)
            Assert.True(meanMax[i] < meanMax[i - 1], $"mean max did not fall from tau {Taus[i - 1]} to {Taus[i]}: {meanMax[i - 1]} -> {meanMax[i]}");
        Assert.True(meanMax[0] > 0.999, $"tau = 0.001: mean max {meanMax[0]}");
        Assert.True(meanMax[^1] < 0.11, $"tau = 100: mean max {meanMax[^1]}");
    }
}
