using DiscreteGrad.Estimators;
using DiscreteGrad.Layers;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// dim: the categories on axis 1 of [B, K, N] give exactly (bit for bit) what the transposed logits [B, N, K] give on the
/// last axis with the same generator seed or the same pinned tensors: values, hard samples, probabilities, indices and
/// gradients.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class DimTests
{
    private const long B = 3, K = 4, N = 5;
    private static readonly EstimatorOptions Options = new(Tau: 0.7, Beta: 0.8, Gap: 1.0, GumbelRaoK: 6);

    /// <summary>Two leaves with the same values: x [B, K, N] (categories on axis 1) and xt = x^T [B, N, K].</summary>
    private static (Tensor X, Tensor Xt) Leaves(int seed)
    {
        var x = randn(new[] { B, K, N }, dtype: ScalarType.Float64, generator: new Generator((ulong)seed)) * 1.5;
        return (x.detach().clone().requires_grad_(true), x.detach().transpose(1, 2).contiguous().requires_grad_(true));
    }

    private static Tensor Weights(int seed) => randn(new[] { B, K, N }, dtype: ScalarType.Float64, generator: new Generator((ulong)seed));

    /// <summary>a [B, K, N] equals b [B, N, K] transposed, element by element.</summary>
    private static void SameTransposed(Tensor a, Tensor b, string what)
    {
        Assert.Equal(new[] { B, K, N }, a.shape);
        Assert.True(TorchAssert.ToArray(b.transpose(1, 2)).SequenceEqual(TorchAssert.ToArray(a)),
            $"{what}: differs from the transposed result on the last axis");
    }

    public static TheoryData<EstimatorKind> Kinds => new(Enum.GetValues<EstimatorKind>());

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Sample_on_axis_1_equals_the_transposed_sample_on_the_last_axis(EstimatorKind kind)
    {
        var (x, xt) = Leaves(1);
        var w = Weights(2);
        var wp = Weights(3);
        var s = Categorical.Sample(x, kind, Options, dim: 1, generator: new Generator(11));
        var r = Categorical.Sample(xt, kind, Options, generator: new Generator(11));
        SameTransposed(s.Value, r.Value, "value");
        SameTransposed(s.Hard, r.Hard, "hard");
        SameTransposed(s.Probs, r.Probs, "probs");
        SameTransposed(s.LogProbs, r.LogProbs, "log-probs");
        Assert.Equal(TorchAssert.ToArray(r.Index), TorchAssert.ToArray(s.Index));
        Assert.Equal(1, s.Dim);
        // Every output in the loss (ReinMax's probabilities are an output of its autograd function).
        ((s.Value * w).sum() + (s.Probs * wp).sum()).backward();
        ((r.Value * w.transpose(1, 2)).sum() + (r.Probs * wp.transpose(1, 2)).sum()).backward();
        SameTransposed(x.grad!, xt.grad!, "gradient");
        Assert.True(x.grad!.abs().sum().item<double>() > 0);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Pinned_sample_and_noise_follow_the_axis(EstimatorKind kind)
    {
        var (x, xt) = Leaves(4);
        var w = Weights(5);
        var index = randint(0, K, new[] { B, N }, generator: new Generator(6));
        var d = nn.functional.one_hot(index, K).to(ScalarType.Float64);              // [B, N, K]
        var gumbel = Gumbel.Sample(new[] { B, N, K }, 1.0, new Generator(7), ScalarType.Float64);
        var exponential = empty(new[] { B, N, K, 6L }, dtype: ScalarType.Float64).exponential_(1.0, new Generator(8));
        Tensor? Sample(bool moved) => Categorical.DrawsCategoricalSample(kind) ? (moved ? d.transpose(1, 2) : d) : null;
        Tensor? Noise(bool moved) => kind switch
        {
            EstimatorKind.GumbelSoftmax or EstimatorKind.StraightThroughGumbel or EstimatorKind.DecoupledStraightThroughGumbel
                or EstimatorKind.DecoupledGumbelSoftmax => moved ? gumbel.transpose(1, 2) : gumbel,
            EstimatorKind.GumbelRao => moved ? exponential.permute(0, 2, 1, 3) : exponential,   // [B, K, N, 6]: K on axis 1
            _ => null,
        };
        // No generator at all: the pinned tensors alone must fix the result (ST/ReinMax/GST draw nothing else).
        var s = Categorical.Sample(x, kind, Options, dim: 1, sample: Sample(true), noise: Noise(true));
        var r = Categorical.Sample(xt, kind, Options, sample: Sample(false), noise: Noise(false));
        SameTransposed(s.Value, r.Value, "value");
        SameTransposed(s.Hard, r.Hard, "hard");
        if (Categorical.DrawsCategoricalSample(kind)) SameTransposed(s.Hard, d, "the pinned sample");
        (s.Value * w).sum().backward();
        (r.Value * w.transpose(1, 2)).sum().backward();
        SameTransposed(x.grad!, xt.grad!, "gradient");
    }

    [Fact]
    public void Functional_forms_take_dim()
    {
        var w = Weights(9);
        void Check(Func<Tensor, long, Generator, Tensor> f)
        {
            var (x, xt) = Leaves(10);
            var a = f(x, 1, new Generator(12));
            var b = f(xt, -1, new Generator(12));
            SameTransposed(a, b, "value");
            (a * w).sum().backward();
            (b * w.transpose(1, 2)).sum().backward();
            SameTransposed(x.grad!, xt.grad!, "gradient");
        }
        Check((l, d, g) => discrete.functional.gumbel_softmax(l, 0.6, hard: false, dim: d, beta: 0.9, generator: g));
        Check((l, d, g) => discrete.functional.gumbel_softmax(l, 0.6, hard: true, dim: d, generator: g));
        Check((l, d, g) => discrete.functional.straight_through(l, 0.6, dim: d, generator: g));
        Check((l, d, g) => discrete.functional.gapped_straight_through(l, 0.6, gap: 0.5, dim: d, generator: g));
        Check((l, d, g) => discrete.functional.gumbel_rao(l, 0.6, k: 5, dim: d, generator: g));
        Check((l, d, g) => discrete.functional.reinmax(l, 0.6, dim: d, generator: g).y_hard);
        // y_soft = softmax over the axis, and its gradient enters ReinMax's closed form exactly as on the last axis.
        Check((l, d, g) =>
        {
            var (hard, soft) = discrete.functional.reinmax(l, 0.6, dim: d, generator: g);
            return hard * 0.5 + soft;
        });
    }

    [Theory]
    [InlineData(EvalSampling.Argmax)]
    [InlineData(EvalSampling.Sample)]
    public void Nodes_take_dim_in_training_and_in_eval(EvalSampling eval)
    {
        foreach (bool training in new[] { true, false })
        {
            var (x, xt) = Leaves(13);
            var a = discrete.CategoricalNode(EstimatorKind.ReinMax, Options, eval, dim: 1, generator: new Generator(14));
            var b = discrete.CategoricalNode(EstimatorKind.ReinMax, Options, eval, generator: new Generator(14));
            a.train(training);
            b.train(training);
            SameTransposed(a.forward(x), b.forward(xt), "node output");
            Assert.Equal(1, a.Dim);
        }
    }

    [Fact]
    public void Negative_dims_count_from_the_end_and_out_of_range_dims_are_refused()
    {
        var (x, _) = Leaves(15);
        var a = Categorical.Sample(x, EstimatorKind.StraightThrough, Options, dim: -2, generator: new Generator(16));
        var b = Categorical.Sample(x, EstimatorKind.StraightThrough, Options, dim: 1, generator: new Generator(16));
        Assert.Equal(TorchAssert.ToArray(b.Value), TorchAssert.ToArray(a.Value));
        foreach (long bad in new long[] { 3, -4 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Categorical.Sample(x, EstimatorKind.ReinMax, dim: bad));
            Assert.Equal("dim", e.ParamName);
            Assert.Contains("[-3, 2]", e.Message);
            Assert.Equal("dim", Assert.Throws<ArgumentOutOfRangeException>(() => discrete.functional.gumbel_softmax(x, dim: bad)).ParamName);
            Assert.Equal("dim", Assert.Throws<ArgumentOutOfRangeException>(
                () => discrete.CategoricalNode(EstimatorKind.StraightThrough, dim: bad).forward(x)).ParamName);
        }
        // A pinned tensor is checked against the caller's layout, not the moved one.
        var e2 = Assert.Throws<ArgumentException>(() => Categorical.Sample(x, EstimatorKind.GumbelSoftmax, dim: 1,
            noise: zeros(new[] { B, N, K }, dtype: ScalarType.Float64)));
        Assert.Equal("noise", e2.ParamName);
        Assert.Contains($"[{B}, {K}, {N}]", e2.Message);
    }
}
