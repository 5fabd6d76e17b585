using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using DiscreteGrad.Sampling;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>Every bad parameter raises an ArgumentException whose ParamName names it and whose message gives the allowed range.</summary>
[Collection(GlobalGenerator.Name)]
public class ArgumentValidationTests
{
    private static Tensor Logits => tensor(new double[,] { { 0.1, 0.2, 0.3 } });

    private static void Throws(string param, Action act, string? rangeText = null)
    {
        var e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Equal(param, e.ParamName);
        if (rangeText != null) Assert.Contains(rangeText, e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Bad_temperature(double tau)
    {
        Throws("tau", () => discrete.functional.gumbel_softmax(Logits, tau), "> 0");
        Throws("tau", () => discrete.functional.straight_through(Logits, tau), "> 0");
        Throws("tau", () => discrete.functional.reinmax(Logits, tau), "> 0");
        Throws("tau", () => discrete.functional.gapped_straight_through(Logits, tau), "> 0");
        Throws("tau", () => discrete.functional.gumbel_rao(Logits, tau), "> 0");
        Throws("Tau", () => Categorical.Sample(Logits, EstimatorKind.ReinMax, new EstimatorOptions(Tau: tau)), "> 0");
        Throws("Tau", () => new CategoricalNode(EstimatorKind.StraightThrough, new EstimatorOptions(Tau: tau)), "> 0");
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void Bad_gumbel_scale(double beta)
    {
        Throws("beta", () => discrete.functional.gumbel_softmax(Logits, 1.0, beta: beta), ">= 0");
        Throws("beta", () => Gumbel.Sample(new long[] { 3 }, beta), ">= 0");
        Throws("Beta", () => Categorical.Sample(Logits, EstimatorKind.StraightThroughGumbel, new EstimatorOptions(Beta: beta)), ">= 0");
        var node = new CategoricalNode(EstimatorKind.GumbelSoftmax);
        Throws("Beta", () => node.Beta = beta);
    }

    [Fact]
    public void Fewer_than_two_categories()
    {
        foreach (EstimatorKind kind in Enum.GetValues<EstimatorKind>())
            Throws("logits", () => Categorical.Sample(tensor(new double[,] { { 0.3 } }), kind), "K >= 2");
    }

    [Fact]
    public void Gumbel_rao_needs_at_least_one_sample()
    {
        Throws("k", () => discrete.functional.gumbel_rao(Logits, 1.0, k: 0), ">= 1");
        Throws("GumbelRaoK", () => Categorical.Sample(Logits, EstimatorKind.GumbelRao, new EstimatorOptions(GumbelRaoK: 0)), ">= 1");
    }

    [Fact]
    public void Negative_gap() => Throws("gap", () => discrete.functional.gapped_straight_through(Logits, 1.0, gap: -1), ">= 0");

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Non_finite_logits(double bad)
    {
        var logits = tensor(new double[,] { { 0.1, bad, 0.3 } });
        foreach (EstimatorKind kind in Enum.GetValues<EstimatorKind>())
            Throws("logits", () => Categorical.Sample(logits, kind), "finite");
        Throws("logits", () => Bernoulli.Sample(tensor(new[] { bad }), EstimatorKind.ReinMax), "finite");
    }

    [Fact]
    public void Wrong_dimensions_and_shapes()
    {
        Throws("logits", () => Categorical.Sample(tensor(1.0), EstimatorKind.StraightThrough));
        Throws("logits", () => Categorical.Sample(tensor(new long[] { 1, 2 }), EstimatorKind.StraightThrough), "floating");
        Throws("sample", () => discrete.functional.straight_through(Logits, sample: tensor(new double[] { 1, 0 })));
        Throws("sample", () => discrete.functional.reinmax(Logits, sample: tensor(new double[,] { { 1, 1, 0 } })), "one-hot");
        Throws("noise", () => discrete.functional.gumbel_softmax(Logits, noise: zeros(2, 3, dtype: ScalarType.Float64)));
        Throws("noise", () => discrete.functional.gumbel_rao(Logits, k: 4, noise: ones(1, 3, 5, dtype: ScalarType.Float64)));
        Throws("sample", () => Bernoulli.Sample(tensor(new[] { 0.2, 0.1 }), EstimatorKind.StraightThrough, sample: tensor(new[] { 0.5, 1.0 })), "0 and 1");
        Throws("logits", () => Enumeration.Exact(tensor(new double[] { 0.1, 0.2 }), z => z.sum(new long[] { 1, 2 })), "[N, K]");
    }
}
