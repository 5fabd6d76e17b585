using DiscreteGrad.ScoreFunction;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.ScoreFunction;

/// <summary>Bad configuration raises an ArgumentException whose ParamName names the parameter and whose message gives the allowed range.</summary>
[Collection(GlobalGenerator.Name)]
public class ScoreFunctionArgumentTests
{
    private static Tensor Logits => tensor(new double[,] { { 0.1, 0.2, 0.3 } });
    private static Tensor Phi => tensor(new[] { 0.1, -0.2 });

    private static void Throws(string param, Action act, string? rangeText = null)
    {
        var e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Equal(param, e.ParamName);
        if (rangeText != null) Assert.Contains(rangeText, e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Decay_outside_the_open_unit_interval(double decay)
    {
        Throws("decay", () => new MovingAverageBaseline(decay), "(0, 1)");
        Throws("decay", () => new NvilBaseline(decay: decay), "(0, 1)");
    }

    [Fact]
    public void Rloo_and_vimco_with_one_sample()
    {
        Throws("f", () => new LeaveOneOutBaseline().Compute(tensor(new double[,] { { 1, 2 } })), "S >= 2");
        Throws("f", () => new LeaveOneOutBaseline().Compute(tensor(3.0)), "S >= 2");
        Throws("f", () => Reinforce.Categorical(Logits, z => z.sum(new long[] { -1, -2 }), new LeaveOneOutBaseline(), samples: 1), "S >= 2");
        Throws("logWeights", () => Vimco.Surrogate(tensor(new double[,] { { 1, 2 } }), tensor(new double[,] { { 0, 0 } })), "S >= 2");
        Throws("logWeights", () => Vimco.LearningSignals(tensor(new[] { 0.5 })), "S >= 2");
    }

    [Fact]
    public void Mismatched_shapes()
    {
        Throws("logProb", () => Reinforce.Surrogate(tensor(new[] { 1.0, 2.0, 3.0 }), tensor(new[] { 0.0, 0.0 })), "shape of f");
        Throws("baseline", () => Reinforce.Surrogate(tensor(new[] { 1.0, 2.0, 3.0 }), zeros(3), tensor(new[] { 1.0, 2.0 })), "broadcast");
        Throws("baseline", () => Reinforce.Surrogate(tensor(new[] { 1.0, 2.0 }), zeros(2), zeros(3, 2)), "broadcast");
        Throws("logProb", () => Vimco.Surrogate(zeros(3, 2), zeros(3)), "shape of logWeights");
        Throws("sample", () => LogProb.Categorical(Logits, tensor(new[] { 1.0, 0.0 })), "[..., 1, 3]");
        Throws("sample", () => Reinforce.Categorical(Logits, z => z.sum(new long[] { -1, -2 }), sample: tensor(new double[,] { { 1, 1, 0 } })), "one-hot");
        Throws("sample", () => Reinforce.Bernoulli(Phi, z => z.sum(-1), sample: tensor(new[] { 0.5, 1.0 })), "0 and 1");
        Throws("uniform", () => Arm.Bernoulli(Phi, z => z.sum(-1), uniform: tensor(new[] { 0.5 })), "shape");
        Throws("uniform", () => DisArm.Bernoulli(Phi, z => z.sum(-1), uniform: tensor(new[] { 0.5, 1.5 })), "[0, 1]");
        Throws("uniform", () => DisArm.Categorical(Logits, z => z.sum(new long[] { -1, -2 }), uniform: tensor(new double[,] { { 0.5, 0.5, 0.5 } })), "[1, 2]");
        Throws("uniform", () => DisArm.Categorical(Logits, z => z.sum(new long[] { -1, -2 }), uniform: tensor(new double[,] { { 0.5, -0.5 } })), "[0, 1]");
        // f must keep leading dimensions and drop the category dimension.
        Throws("f", () => Reinforce.Categorical(Logits, z => z.sum(-2)), "leading part");
        Throws("f", () => MuProp.Categorical(Logits, z => z), "leading part");
        Throws("f", () => Arm.Bernoulli(Phi, z => z.sum(-1).unsqueeze(0)), "leading part");
        Throws("mean", () => MuProp.Surrogate(zeros(2, 3), zeros(4), zeros(2), z => z.sum(-1)), "broadcast");
        Throws("eventDims", () => LogProb.Bernoulli(Phi, tensor(new[] { 1.0, 0.0 }), eventDims: 2), "[0, 1]");
        Throws("count", () => Samples.Categorical(Logits, count: 0), ">= 1");
    }

    [Fact]
    public void Non_finite_logits_and_values()
    {
        var bad = tensor(new double[,] { { 0.1, double.NaN, 0.3 } });
        var badPhi = tensor(new[] { 0.1, double.PositiveInfinity });
        Throws("logits", () => Samples.Categorical(bad), "finite");
        Throws("logits", () => LogProb.Categorical(bad, tensor(new double[,] { { 1, 0, 0 } })), "finite");
        Throws("logits", () => Reinforce.Categorical(bad, z => z.sum(new long[] { -1, -2 })), "finite");
        Throws("logits", () => MuProp.Categorical(bad, z => z.sum(new long[] { -1, -2 })), "finite");
        Throws("logits", () => Samples.Bernoulli(badPhi), "finite");
        Throws("logits", () => Darn.Bernoulli(badPhi, z => z.sum(-1)), "finite");
        Throws("logits", () => Arm.Bernoulli(badPhi, z => z.sum(-1)), "finite");
        Throws("logits", () => DisArm.Bernoulli(badPhi, z => z.sum(-1)), "finite");
        Throws("logits", () => DisArm.Categorical(bad, z => z.sum(new long[] { -1, -2 })), "finite");
        Throws("logits", () => Samples.Categorical(tensor(new double[,] { { 0.3 } })), "K >= 2");
        Throws("f", () => Reinforce.Surrogate(tensor(new[] { double.NaN }), zeros(1)), "finite");
        Throws("f", () => new MovingAverageBaseline().Compute(tensor(new[] { double.PositiveInfinity })), "finite");
        Throws("logWeights", () => Vimco.Bound(tensor(new[] { 0.0, double.NaN })), "finite");
        Throws("value", () => new ConstantBaseline(double.NaN), "finite");
        Throws("initialValue", () => new MovingAverageBaseline(0.9, double.NegativeInfinity), "finite");
    }

    [Fact]
    public void Nvil_with_a_network_needs_an_input_of_a_compatible_shape()
    {
        var nvil = new NvilBaseline(nn.Linear(1, 1, dtype: ScalarType.Float64));
        Throws("input", () => nvil.Surrogate(zeros(4, dtype: ScalarType.Float64), zeros(4, dtype: ScalarType.Float64)), "input must be given");
        Throws("input", () => nvil.Surrogate(zeros(4, dtype: ScalarType.Float64), zeros(4, dtype: ScalarType.Float64),
            zeros(3, 1, dtype: ScalarType.Float64)), "broadcast");
        Assert.Equal(0, nvil.Steps);                                                         // failed calls leave the state alone
    }
}
