using DiscreteGrad.Estimators;
using DiscreteGrad.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Estimators;

/// <summary>
/// GR-MCK for K &gt; 2 computes the conditional softmaxes from ratios r_i = pi_i E_x / (E_i + pi_i E_x) instead of the
/// conditional Gumbel logits: with the same pinned exponentials it gives the gradient of the textbook construction
/// (autograd through softmax((theta + gk) / tau), gk the top-down conditional Gumbels), and a fresh draw is that formula
/// applied to E = -log U with U the generator's uniforms.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class GumbelRaoFormTests
{
    /// <summary>The textbook GR-MCK through autograd: p = mean_k softmax((theta + gk) / tau), gk from the conditional Gumbels.</summary>
    private static Tensor Textbook(Tensor theta, Tensor d, Tensor e, double tau)
    {
        Tensor gk;
        using (no_grad())
        {
            var t = theta.detach();
            var logZ = t.logsumexp(-1, keepdim: true).unsqueeze(-1);
            var tu = t.unsqueeze(-1);
            var du = d.unsqueeze(-1);
            var logE = e.log();
            var logED = (logE * du).sum(-2, keepdim: true);
            var top = logZ - logED;
            var other = logaddexp(logE - tu, logED - logZ).neg();
            gk = where(du == 1, top, other) - tu;
        }
        var p = ((theta.unsqueeze(-1) + gk) / tau).softmax(-2).mean(new long[] { -1 });
        return d + (p - p.detach());
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.6)]
    [InlineData(2.5)]
    public void Pinned_noise_gives_the_textbook_gradient(double tau)
    {
        var theta = (randn(new long[] { 4, 3, 6 }, dtype: ScalarType.Float64, generator: new Generator(1)) * 2).requires_grad_(true);
        var thetaRef = theta.detach().clone().requires_grad_(true);
        var d = nn.functional.one_hot(randint(0, 6, new long[] { 4, 3 }, generator: new Generator(2)), 6).to(ScalarType.Float64);
        var e = empty(new long[] { 4, 3, 6, 9 }, dtype: ScalarType.Float64).exponential_(1.0, new Generator(3));
        var w = randn(new long[] { 4, 3, 6 }, dtype: ScalarType.Float64, generator: new Generator(4));
        var s = Categorical.Sample(theta, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: tau, GumbelRaoK: 9), sample: d, noise: e);
        var r = Textbook(thetaRef, d, e, tau);
        Assert.Equal(TorchAssert.ToArray(r), TorchAssert.ToArray(s.Value));
        (s.Value * w).sum().backward();
        (r * w).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(thetaRef.grad!), theta.grad!, 1e-12, "gradient");
    }

    [Fact]
    public void Chunks_of_draws_give_the_unchunked_gradient()
    {
        // 2^18 elements per chunk: [600, 50, 10] logits with K = 3 take three chunks of one draw each.
        var theta = randn(new long[] { 600, 50, 10 }, dtype: ScalarType.Float64, generator: new Generator(5)).requires_grad_(true);
        Assert.Equal(1, GumbelRaoEstimator.ChunkSize(theta, 3));
        var thetaRef = theta.detach().clone().requires_grad_(true);
        var d = OneHot.Sample(theta.detach(), new Generator(6));
        var e = empty(new long[] { 600, 50, 10, 3 }, dtype: ScalarType.Float64).exponential_(1.0, new Generator(7));
        var w = randn(new long[] { 600, 50, 10 }, dtype: ScalarType.Float64, generator: new Generator(8));
        var s = Categorical.Sample(theta, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: 0.8, GumbelRaoK: 3), sample: d, noise: e);
        (s.Value * w).sum().backward();
        (Textbook(thetaRef, d, e, 0.8) * w).sum().backward();
        TorchAssert.Close(TorchAssert.ToArray(thetaRef.grad!), theta.grad!, 1e-12, "gradient");
    }

    [Fact]
    public void A_fresh_draw_is_the_formula_at_minus_log_of_the_counter_streams_uniforms()
    {
        var theta = randn(new long[] { 5, 7 }, generator: new Generator(9)).requires_grad_(true);
        var thetaPinned = theta.detach().clone().requires_grad_(true);
        var w = randn(new long[] { 5, 7 }, generator: new Generator(10));
        var fresh = Categorical.Sample(theta, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: 0.7, GumbelRaoK: 11), generator: new Generator(11));
        // The same stream by hand: first the sample (Gumbel-max), then one key for the counter stream whose words 0, 1, ...
        // give log U of the draws [5, 7, 11] (on CPU the estimator computes log U on SIMD lanes from that stream).
        var gen = new Generator(11);
        var d = OneHot.Sample(theta.detach(), gen);
        var logU = empty(new long[] { 5, 7, 11 });
        DiscreteGrad.Imle.NoiseKernels.LogUniform(logU, DiscreteGrad.Imle.CounterStream.KeyFrom(gen, null), 0);
        Assert.True((logU < 0).all().item<bool>() && isfinite(logU).all().item<bool>(), "log U of U in (0, 1)");
        var pinned = Categorical.Sample(thetaPinned, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: 0.7, GumbelRaoK: 11), sample: d,
            noise: logU.neg());
        Assert.Equal(TorchAssert.ToArray(d), TorchAssert.ToArray(fresh.Hard));
        (fresh.Value * w).sum().backward();
        (pinned.Value * w).sum().backward();
        Assert.Equal(TorchAssert.ToArray(thetaPinned.grad!), TorchAssert.ToArray(theta.grad!));
    }

    [Fact]
    public void Extreme_exponentials_and_an_improbable_pinned_sample_stay_finite()
    {
        // E = 0 and E = +inf (clamped), and a sample whose probability underflows in float32: the ratios stay in [0, 1].
        var theta = tensor(new float[,] { { 0, 1, -200 }, { 3, 0, -1 } }).requires_grad_(true);
        var d = tensor(new float[,] { { 0, 0, 1 }, { 1, 0, 0 } });
        var e = tensor(new float[,,] { { { 0, 1 }, { float.PositiveInfinity, 2 }, { 0.5f, 0 } }, { { 1, 1 }, { 0, 3 }, { 2, float.PositiveInfinity } } });
        var s = Categorical.Sample(theta, EstimatorKind.GumbelRao, new EstimatorOptions(Tau: 0.5, GumbelRaoK: 2), sample: d, noise: e);
        (s.Value * tensor(new float[,] { { 1, -2, 3 }, { 0.5f, 1, -1 } })).sum().backward();
        TorchAssert.AllFinite(theta.grad!, "gradient");
    }
}
