using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Layers;

/// <summary>The nodes' Tau and Beta are float64 buffers: state_dict, save and load carry them; to(dtype) keeps them exact.</summary>
[Collection(GlobalGenerator.Name)]
public sealed class NodeStateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-node-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static Tensor Logits() => randn(new long[] { 6, 4 }, dtype: ScalarType.Float64, generator: new Generator(3));

    [Fact]
    public void A_saved_node_reloads_with_the_temperature_it_was_trained_at()
    {
        var trained = discrete.CategoricalNode(EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 1.0, Beta: 1.0), generator: new Generator(5));
        trained.train();
        trained.Tau = 0.3;                               // as an annealing schedule would
        trained.Beta = 0.6;
        Assert.Equal(new[] { "beta", "tau" }, trained.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(ScalarType.Float64, trained.state_dict()["tau"].dtype);
        string path = Path.Combine(_dir, "node.bin");
        trained.save(path);

        var fresh = discrete.CategoricalNode(EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 1.0, Beta: 1.0), generator: new Generator(5));
        fresh.train();
        Assert.Equal(1.0, fresh.Tau);
        fresh.load(path);
        Assert.Equal(0.3, fresh.Tau);
        Assert.Equal(0.6, fresh.Beta);

        // The same generator seed gives identical outputs, which a node at tau = 1 would not.
        trained.Generator = new Generator(7);
        fresh.Generator = new Generator(7);
        var logits = Logits();
        Assert.Equal(TorchAssert.ToArray(trained.forward(logits)), TorchAssert.ToArray(fresh.forward(logits)));
        var atOne = discrete.CategoricalNode(EstimatorKind.GumbelSoftmax, new EstimatorOptions(Tau: 1.0, Beta: 0.6), generator: new Generator(7));
        Assert.NotEqual(TorchAssert.ToArray(trained.forward(logits)), TorchAssert.ToArray(atOne.forward(logits)));
        // And the value is softmax((theta + 0.6 g) / 0.3) for the generator's Gumbel draw.
        var g = DiscreteGrad.Sampling.Gumbel.SampleLike(logits, 1.0, new Generator(9));
        fresh.Generator = new Generator(9);
        TorchAssert.Close(TorchAssert.ToArray(((logits + g * 0.6) / 0.3).softmax(-1)), fresh.forward(logits), 1e-12, "value");
    }

    [Fact]
    public void State_dict_load_state_dict_and_a_sequential_carry_tau_and_beta()
    {
        var node = discrete.BernoulliNode(EstimatorKind.ReinMax, new EstimatorOptions(Tau: 2.0));
        var model = nn.Sequential(("enc", nn.Linear(3, 3, dtype: ScalarType.Float64)), ("z", node));
        node.Tau = 0.45;
        var sd = model.state_dict();
        Assert.Contains("z.tau", sd.Keys);
        Assert.Contains("z.beta", sd.Keys);
        var other = discrete.BernoulliNode(EstimatorKind.ReinMax);
        var model2 = nn.Sequential(("enc", nn.Linear(3, 3, dtype: ScalarType.Float64)), ("z", other));
        model2.load_state_dict(sd);
        Assert.Equal(0.45, other.Tau);
        Assert.Equal(1.0, other.Beta);
    }

    [Fact]
    public void A_dtype_conversion_leaves_tau_and_beta_float64_and_exact()
    {
        var node = discrete.CategoricalNode(EstimatorKind.StraightThrough, new EstimatorOptions(Tau: 0.3, Beta: 0.7));
        var model = nn.Sequential(("enc", nn.Linear(4, 4, dtype: ScalarType.Float64)), ("z", node));
        model.to(ScalarType.Float32);
        Assert.Equal(0.3, node.Tau);                    // (double)0.3f would be 0.30000001192092896
        Assert.Equal(0.7, node.Beta);
        Assert.Equal(ScalarType.Float64, model.state_dict()["z.tau"].dtype);
        Assert.Equal(ScalarType.Float32, model.state_dict()["enc.weight"].dtype);
        node.Tau = 0.25;                                // the replaced buffer is the registered one
        Assert.Equal(0.25, model.state_dict()["z.tau"].ToDouble());
    }

    [Fact]
    public void Setters_validate()
    {
        var node = discrete.CategoricalNode(EstimatorKind.GumbelSoftmax);
        Assert.Equal("Tau", Assert.Throws<ArgumentOutOfRangeException>(() => node.Tau = 0).ParamName);
        Assert.Equal("Beta", Assert.Throws<ArgumentOutOfRangeException>(() => node.Beta = -1).ParamName);
        Assert.Equal("Tau", Assert.Throws<ArgumentOutOfRangeException>(() => node.Options = new EstimatorOptions(Tau: double.NaN)).ParamName);
        Assert.Equal(1.0, node.Tau);
        node.Options = new EstimatorOptions(Tau: 2, Beta: 0.5, Gap: 0.25, GumbelRaoK: 7);
        Assert.Equal(new EstimatorOptions(2, 0.5, 0.25, 7), node.Options);
    }
}
