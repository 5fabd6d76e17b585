using DiscreteGrad.Estimators;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Bench;

/// <summary>What one timed step computes. The estimator variants all go through <see cref="Categorical.Sample"/>.</summary>
public enum Variant
{
    /// <summary>Baseline: (logits / tau).softmax(-1), then (y * w).sum().backward().</summary>
    Softmax,
    GumbelSoftmax,
    StraightThroughGumbel,
    StraightThrough,
    ReinMax,
    GappedStraightThrough,
    GumbelRao,
    /// <summary>Bench-only GR-MCK that materialises [..., C, K] through autograd (for the memory comparison).</summary>
    NaiveGumbelRao,

    // Components (profile only; no backward unless stated).
    /// <summary>Guard.Finite: isfinite(logits).all().item().</summary>
    FiniteCheck,
    /// <summary>OneHot.Sample: Gumbel-max one-hot draw D ~ Cat(softmax(theta)).</summary>
    OneHotSample,
    /// <summary>The CategoricalSample extras every estimator computes: softmax(theta) and log_softmax(theta), forward only.</summary>
    ProbsAndLogProbs,
    /// <summary>Proposal: the finite check as one aminmax reduction (NaN propagates through min/max).</summary>
    FiniteCheckAminmax,
    /// <summary>Proposal: D by torch.multinomial on softmax(theta) rows instead of Gumbel-max (another random stream).</summary>
    MultinomialSample,

    // Hand-written references with raw torch ops (no checks, no Probs/LogProbs), forward + backward.
    /// <summary>softmax((theta + g) / tau), g = -log(Exp(1)) drawn in place.</summary>
    HandGumbelSoftmax,
    /// <summary>D by Gumbel-max (in place), p = softmax(theta / tau), out = D + p - sg(p).</summary>
    HandStraightThrough,
}

/// <summary>A shape of logits [..., K].</summary>
public sealed record Shape(long[] Dims)
{
    public static readonly Shape Binary = new([512, 128, 2]);
    public static readonly Shape Cat10 = new([100, 30, 10]);
    public static readonly Shape[] All = [Binary, Cat10];

    public override string ToString() => string.Join("x", Dims);

    public static Shape Parse(string s) => new(s.Split('x').Select(long.Parse).ToArray());
}

/// <summary>
/// Logits (requires_grad) and a fixed random upstream weight w of one shape, plus a seeded generator, and one step per
/// <see cref="Variant"/>: forward, then (value * w).sum().backward(). Every temporary is freed by a dispose scope per step.
/// </summary>
public sealed class Workload : IDisposable
{
    public Shape Shape { get; }
    public Tensor Logits { get; }
    public Tensor W { get; }
    public Generator Generator { get; }
    public EstimatorOptions Options { get; }

    public Workload(Shape shape, double tau, int grK, ulong seed = 1234)
    {
        Shape = shape;
        var init = new Generator(seed);
        Logits = torch.randn(shape.Dims, generator: init).requires_grad_(true);
        W = torch.randn(shape.Dims, generator: init);
        Generator = new Generator(seed + 1);
        Options = new EstimatorOptions(Tau: tau, GumbelRaoK: grK);
    }

    /// <summary>One forward + backward (or, for the components, the forward alone).</summary>
    public void Step(Variant v)
    {
        using var scope = torch.NewDisposeScope();
        switch (v)
        {
            case Variant.Softmax:
                Backward((Logits / Options.Tau).softmax(-1));
                break;
            case Variant.NaiveGumbelRao:
                Backward(NaiveGumbelRao(Logits, Options.Tau, Options.GumbelRaoK, Generator));
                break;
            case Variant.FiniteCheck:
                Guard.Finite(Logits, "logits");
                break;
            case Variant.OneHotSample:
                OneHot.Sample(Logits, Generator);
                break;
            case Variant.ProbsAndLogProbs:
                Logits.softmax(-1);
                Logits.log_softmax(-1);
                break;
            case Variant.FiniteCheckAminmax:
            {
                var (mn, mx) = torch.aminmax(Logits);
                if (!(float.IsFinite(mn.item<float>()) && float.IsFinite(mx.item<float>())))
                    throw new ArgumentException("logits must be finite");
                break;
            }
            case Variant.MultinomialSample:
                using (torch.no_grad())
                {
                    long k = Shape.Dims[^1];
                    var idx = torch.multinomial(Logits.detach().softmax(-1).view(-1, k), 1, generator: Generator);
                    torch.zeros(idx.shape[0], k).scatter_(-1, idx, torch.ones_like(idx, dtype: ScalarType.Float32)).view(Shape.Dims);
                }
                break;
            case Variant.HandGumbelSoftmax:
            {
                var g = torch.empty_like(Logits).exponential_(1.0, Generator).log_().neg_();
                Backward(((Logits + g) / Options.Tau).softmax(-1));
                break;
            }
            case Variant.HandStraightThrough:
            {
                Tensor d;
                using (torch.no_grad())
                {
                    var g = torch.empty_like(Logits).exponential_(1.0, Generator).log_().neg_().add_(Logits);
                    var idx = g.argmax(-1, keepdim: true);
                    d = torch.zeros_like(Logits).scatter_(-1, idx, torch.ones_like(idx, dtype: Logits.dtype));
                }
                var p = (Logits / Options.Tau).softmax(-1);
                Backward(d + (p - p.detach()));
                break;
            }
            default:
                Backward(Categorical.Sample(Logits, ToKind(v), Options, generator: Generator).Value);
                break;
        }
    }

    private void Backward(Tensor value) => (value * W).sum().backward();

    public static bool IsEstimator(Variant v) => v is >= Variant.GumbelSoftmax and <= Variant.GumbelRao;

    public static EstimatorKind ToKind(Variant v) => v switch
    {
        Variant.GumbelSoftmax => EstimatorKind.GumbelSoftmax,
        Variant.StraightThroughGumbel => EstimatorKind.StraightThroughGumbel,
        Variant.StraightThrough => EstimatorKind.StraightThrough,
        Variant.ReinMax => EstimatorKind.ReinMax,
        Variant.GappedStraightThrough => EstimatorKind.GappedStraightThrough,
        Variant.GumbelRao => EstimatorKind.GumbelRao,
        _ => throw new ArgumentOutOfRangeException(nameof(v), v, "not an estimator"),
    };

    /// <summary>
    /// GR-MCK written the obvious way (bench only, for comparison): the conditional Gumbels gk [..., C, K] in one go (same
    /// formula as the library's), then p = softmax((theta.unsqueeze(-1) + gk) / tau, dim = -2).mean(-1) through autograd,
    /// out = D + p - sg(p). Autograd keeps the [..., C, K] softmax output (and the temporaries of the forward) alive.
    /// </summary>
    public static Tensor NaiveGumbelRao(Tensor logits, double tau, int k, Generator generator)
    {
        var d = OneHot.Sample(logits, generator);
        Tensor gk;
        using (torch.no_grad())
        {
            var t = logits.detach();
            var fi = torch.finfo(t.dtype);
            var logZ = t.logsumexp(-1, keepdim: true).unsqueeze(-1);
            var tu = t.unsqueeze(-1);
            var du = d.unsqueeze(-1);
            var e = torch.empty(t.shape.Append(k).ToArray(), dtype: t.dtype).exponential_(1.0, generator);
            var logE = e.clamp(fi.tiny, fi.max).log();
            var logED = (logE * du).sum(-2, keepdim: true);
            var top = logZ - logED;
            var other = torch.logaddexp(logE - tu, logED - logZ).neg_();
            gk = torch.where(du == 1, top, other) - tu;
        }
        var p = ((logits.unsqueeze(-1) + gk) / tau).softmax(-2).mean(new long[] { -1 });
        return d + (p - p.detach());
    }

    public void Dispose()
    {
        Logits.Dispose();
        W.Dispose();
        Generator.Dispose();
    }
}
