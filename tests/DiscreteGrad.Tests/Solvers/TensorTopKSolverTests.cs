using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Solvers;

[Collection(GlobalGenerator.Name)]
public class TensorTopKSolverTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void Equals_TopKSolver_on_small_integer_weights_with_many_ties(int k)
    {
        var g = new Generator(11);
        // Integers in [0, 3): almost every instance has ties, so the tie rule (lowest index wins) is exercised.
        var w = torch.randint(0, 3, new long[] { 500, 8 }, generator: g).to(ScalarType.Float64);
        var expected = new TopKSolver(k).Solve(w);
        var actual = new TensorTopKSolver(k).Solve(w);
        Assert.True((expected == actual).all().item<bool>());
        Assert.True((actual.sum(dim: 1) == k).all().item<bool>());
    }

    [Fact]
    public void Equals_TopKSolver_on_random_float32_blocks_of_higher_rank_and_keeps_dtype()
    {
        var g = new Generator(12);
        var w = torch.randn(new long[] { 64, 4, 5 }, generator: g);
        var expected = new TopKSolver(10).Solve(w);
        var actual = new TensorTopKSolver(10).Solve(w);
        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.Equal(w.shape, actual.shape);
        Assert.True((expected == actual).all().item<bool>());
    }

    [Fact]
    public void Bad_input_names_the_parameter()
    {
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => new TensorTopKSolver(0)).ParamName);
        Assert.Equal("k", Assert.Throws<ArgumentOutOfRangeException>(() => new TensorTopKSolver(5).Solve(torch.zeros(2, 4))).ParamName);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => new TensorTopKSolver(1).Solve(torch.zeros(4))).ParamName);
        Assert.Equal("weights", Assert.Throws<NonFiniteValueException>(() => new TensorTopKSolver(1).Solve(torch.tensor(new[] { 0.0, double.NaN }).view(1, 2))).ParamName);
        Assert.Equal("weights", Assert.Throws<ArgumentException>(() => new TensorTopKSolver(1).Solve(torch.zeros(new long[] { 2, 3 }, dtype: ScalarType.Int64))).ParamName);
    }
}
