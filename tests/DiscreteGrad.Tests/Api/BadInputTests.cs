using DiscreteGrad.Diagnostics;
using DiscreteGrad.Estimators;
using DiscreteGrad.Imle;
using DiscreteGrad.Layers;
using DiscreteGrad.Sampling;
using DiscreteGrad.Schedules;
using DiscreteGrad.ScoreFunction;
using DiscreteGrad.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Api;

/// <summary>A solver that returns NaN: its output must be reported, naming the solver's type.</summary>
internal sealed class NanReturningSolver : IMapSolver
{
    public Tensor Solve(Tensor weights) => torch.full_like(weights, double.NaN);
}

/// <summary>
/// Bad input probed through the public API: each case returned a wrong value (or raised a native libtorch error) and must
/// raise an <see cref="ArgumentException"/> whose ParamName names the parameter and whose message gives the allowed
/// range, or (tiny temperatures that are representable) compute the exact tau -> 0 limit.
/// </summary>
[Collection(GlobalGenerator.Name)]
public class BadInputTests
{
    private static readonly ScalarType F64 = ScalarType.Float64;

    private static ArgumentException Throws(string param, Action act, string rangeText)
    {
        var e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.Equal(param, e.ParamName);
        Assert.Contains(rangeText, e.Message);
        return e;
    }

    // ---- One-hot helpers ----

    [Fact]
    public void OneHot_sample_refuses_nan_logits()
    {
        Throws("logits", () => OneHot.Sample(tensor(new[] { double.NaN, 0.2, 0.3 }), new Generator(1)), "finite");
        Throws("logits", () => OneHot.Sample(tensor(new[] { double.NaN, double.NaN }), new Generator(1)), "finite");
    }

    [Fact]
    public void OneHot_argmax_refuses_nan_scores()
    {
        Throws("scores", () => OneHot.Argmax(tensor(new[] { double.NaN, 1.0, 2.0 })), "finite");
        Throws("scores", () => OneHot.Argmax(tensor(new[,] { { 0.5, 1.0 }, { double.NaN, double.NaN } })), "finite");
    }

    [Fact]
    public void OneHot_argmax_refuses_a_scalar()
        => Throws("scores", () => OneHot.Argmax(tensor(3.0)), "at least one dimension");

    // ---- Gumbel-softmax at extreme temperature and scale ----

    private static readonly double[,] SmallLogits = { { 0.3, 1.2, -0.5 }, { 2.0, 1.9, 0.0 } };
    private static readonly double[,] PinnedGumbel = { { 0.1, -0.2, 0.4 }, { 0.0, 0.3, -1.0 } };

    [Theory]
    [InlineData(1e-45)]
    [InlineData(1e-300)]
    public void Gumbel_softmax_refuses_a_temperature_below_the_smallest_normal_float32(double tau)
    {
        var logits = tensor(SmallLogits, dtype: F64).to(ScalarType.Float32);
        var noise = tensor(PinnedGumbel, dtype: F64).to(ScalarType.Float32);
        Throws("tau", () => discrete.functional.gumbel_softmax(logits, tau, noise: noise), "1.1754944E-38");
        Throws("tau", () => discrete.functional.gumbel_softmax(logits, tau, hard: true, noise: noise), "smallest normal");
    }

    [Theory]
    [InlineData(EstimatorKind.StraightThrough)]
    [InlineData(EstimatorKind.ReinMax)]
    [InlineData(EstimatorKind.GappedStraightThrough)]
    [InlineData(EstimatorKind.GumbelRao)]
    public void Other_estimators_refuse_a_temperature_below_the_smallest_normal_float32(EstimatorKind kind)
    {
        // They returned a NaN gradient (and, but for ReinMax, a NaN value) at these temperatures.
        var logits = tensor(SmallLogits, dtype: F64).to(ScalarType.Float32);
        foreach (var tau in new[] { 1e-45, 1e-300 })
            Throws("tau", () => Categorical.Sample(logits, kind, new EstimatorOptions(Tau: tau, GumbelRaoK: 4), generator: new Generator(1)),
                "smallest normal");
    }

    /// <summary>
    /// A temperature the dtype represents but at which (theta + g) / tau overflows: the result must be the tau -> 0 limit,
    /// the one-hot argmax of theta + g, with a zero gradient (the limit of J(y) / tau), not NaN.
    /// </summary>
    [Theory]
    [InlineData(ScalarType.Float32, 2e-38, 10.0)]     // 22 / 2e-38 = 1.1e39: overflows float32
    [InlineData(ScalarType.Float64, 1e-300, 1e10)]    // 2e10 / 1e-300: overflows float64
    [InlineData(ScalarType.Float64, 1e-45, 1e300)]    // 1e300 / 1e-45: overflows float64
    public void Gumbel_softmax_at_a_tiny_temperature_is_the_one_hot_argmax_with_zero_gradient(ScalarType dtype, double tau, double scale)
    {
        // theta + g: row 0 (0.4, 1.0, -0.1) * scale, row 1 (2.0, 2.2, -1.0) * scale: argmax 1 in both rows.
        var logits = (tensor(SmallLogits, dtype: F64) * scale).to(dtype).requires_grad_(true);
        var noise = (tensor(PinnedGumbel, dtype: F64) * scale).to(dtype);
        var w = tensor(new double[,] { { 1, -2, 3 }, { 0.5, 4, -1 } }, dtype: F64).to(dtype);
        var expected = new double[] { 0, 1, 0, 0, 1, 0 };
        foreach (bool hard in new[] { false, true })
        {
            logits.grad?.zero_();
            var y = discrete.functional.gumbel_softmax(logits, tau, hard: hard, noise: noise);
            TorchAssert.Close(expected, y, 0, $"value (hard = {hard})");
            (y * w).sum().backward();
            TorchAssert.Close(new double[6], logits.grad!, 0, $"gradient (hard = {hard})");
        }
    }

    [Fact]
    public void Gumbel_softmax_refuses_a_scale_whose_noise_term_overflows()
    {
        // float32: beta = 1e300 is not even a float32 number; float64: beta * g = 1e300 * 1e10 overflows.
        var logits32 = tensor(SmallLogits, dtype: F64).to(ScalarType.Float32);
        Throws("beta", () => discrete.functional.gumbel_softmax(logits32, 1.0, beta: 1e300, generator: new Generator(3)), "3.4028235E+38");
        var logits64 = tensor(SmallLogits, dtype: F64);
        var noise = tensor(PinnedGumbel, dtype: F64) * 1e10;
        Throws("beta", () => discrete.functional.gumbel_softmax(logits64, 1.0, beta: 1e300, noise: noise), "overflows");
        // The dtype-dependent bound is checked where the dtype is known, by the estimator: it names its parameter beta.
        Throws("beta", () => Categorical.Sample(logits32, EstimatorKind.StraightThroughGumbel, new EstimatorOptions(Beta: 1e300),
            generator: new Generator(3)), "3.4028235E+38");
    }

    // ---- Pinned noise ----

    [Fact]
    public void Gumbel_softmax_refuses_nan_pinned_noise()
    {
        var noise = tensor(new double[,] { { 0.1, double.NaN, 0.4 }, { 0.0, 0.3, -1.0 } }, dtype: F64);
        Throws("noise", () => discrete.functional.gumbel_softmax(tensor(SmallLogits, dtype: F64), 1.0, noise: noise), "finite");
        Throws("noise", () => Categorical.Sample(tensor(SmallLogits, dtype: F64), EstimatorKind.StraightThroughGumbel, noise: noise), "finite");
    }

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void Gumbel_rao_refuses_pinned_exponential_noise_that_is_negative_or_nan(double bad)
    {
        var e = full(new long[] { 2, 3, 4 }, 0.5, dtype: F64);
        e[1, 2, 3] = tensor(bad, dtype: F64);
        Throws("exponentialNoise", () => discrete.functional.gumbel_rao(tensor(SmallLogits, dtype: F64), 1.0, k: 4,
            generator: new Generator(2), noise: e), ">= 0");
    }

    [Theory]
    [InlineData(-0.5)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void Gumbel_from_uniform_refuses_values_outside_the_unit_interval(double bad)
        => Throws("uniform", () => Gumbel.FromUniform(tensor(new[] { 0.25, bad, 0.75 })), "[0, 1]");

    [Theory]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void Gumbel_from_exponential_refuses_negative_or_nan_values(double bad)
        => Throws("exponential", () => Gumbel.FromExponential(tensor(new[] { 0.25, bad, 2.0 })), ">= 0");

    [Fact]
    public void Imle_layer_refuses_nan_pinned_noise()
    {
        var layer = new ImleLayer(new TopKSolver(1));
        var noise = tensor(new double[,] { { 0.1, double.NaN, 0.4 } }, dtype: F64);
        Throws("noise", () => layer.forward(tensor(new double[,] { { 0.3, 1.2, -0.5 } }, dtype: F64), noise), "finite");
    }

    [Fact]
    public void Gumbel_sample_refuses_a_negative_shape()
        => Throws("shape", () => Gumbel.Sample(new long[] { 2, -1 }, 1.0, new Generator(1)), ">= 0");

    // ---- Score function ----

    [Fact]
    public void Reinforce_refuses_a_leave_one_out_baseline_without_a_sample_dimension()
    {
        // Logits [B = 4, K = 3], one sample per row: dimension 0 of f is the batch, not samples.
        var logits = tensor(new double[,] { { 0.1, 0.2, 0.3 }, { 1, 0, 0 }, { 0, 0, 1 }, { 0.5, 0.5, 0 } }, dtype: F64);
        Throws("samples", () => Reinforce.Categorical(logits, z => z.select(-1, 0), new LeaveOneOutBaseline(), samples: null,
            generator: new Generator(1)), "samples >= 2");
        Throws("samples", () => Reinforce.Bernoulli(tensor(new[] { 0.1, -0.3, 2.0 }, dtype: F64), z => z, new LeaveOneOutBaseline(),
            samples: null, generator: new Generator(1)), "samples >= 2");
    }

    [Fact]
    public void Log_prob_refuses_samples_that_are_not_one_hot_or_binary()
    {
        var logits = tensor(new double[,] { { 0.1, 0.2, 0.3 } }, dtype: F64);
        Throws("sample", () => LogProb.Categorical(logits, tensor(new double[,] { { 0.5, 0.5, 0 } }, dtype: F64)), "one-hot");
        Throws("sample", () => LogProb.Categorical(logits, tensor(new double[,] { { 1, 1, 0 } }, dtype: F64)), "one-hot");
        Throws("sample", () => LogProb.Bernoulli(tensor(new[] { 0.1, -0.3 }, dtype: F64), tensor(new[] { 0.5, 1.0 }, dtype: F64)), "0 and 1");
    }

    // ---- Solvers and I-MLE ----

    [Fact]
    public void Spanning_tree_solver_refuses_an_asymmetric_weight_matrix()
    {
        var w = tensor(new double[,] { { 0, 1, 2 }, { 5, 0, 3 }, { 2, 3, 0 } }, dtype: F64).unsqueeze(0);
        Throws("weights", () => new MaximumSpanningTreeSolver().Solve(w), "symmetric");
        // Within the relative tolerance (1e-6 of the largest off-diagonal |W| = 5) a matrix counts as symmetric: the tree of
        // edges {1, 2} (weight 5) and {0, 2} (weight 3 + 1e-7 vs 3): {0, 2} and {1, 2}.
        var nearly = tensor(new double[,] { { 0, 1, 3 }, { 1, 0, 5 }, { 3 + 1e-7, 5, 0 } }, dtype: F64).unsqueeze(0);
        TorchAssert.Close(new double[] { 0, 0, 1, 0, 0, 1, 1, 1, 0 }, new MaximumSpanningTreeSolver().Solve(nearly), 0, "nearly symmetric");
        // Opting in reads W as (W + W^T) / 2: edges {1, 2} (weight 3) and {0, 1} (weight 3) beat {0, 2} (weight 2).
        TorchAssert.Close(new double[] { 0, 1, 0, 1, 0, 1, 0, 1, 0 }, new MaximumSpanningTreeSolver(acceptAsymmetric: true).Solve(w), 0,
            "symmetric part");
    }

    [Fact]
    public void Imle_layer_reports_a_solver_that_returns_nan_naming_its_type()
    {
        var theta = tensor(new double[,] { { 0.3, 1.2, -0.5 } }, dtype: F64);
        var e = Throws("solver", () => new ImleLayer(new NanReturningSolver()).forward(theta), nameof(NanReturningSolver));
        Assert.Contains("finite", e.Message);
        Throws("solver", () => new StraightThroughMapLayer(new NanReturningSolver()).forward(theta), nameof(NanReturningSolver));
        Throws("solver", () => new ScoreFunctionMap(new NanReturningSolver(), ImleNoise.Gumbel, generator: new Generator(1)).Sample(theta),
            nameof(NanReturningSolver));
        // The scan is one of the value checks that Guard.FiniteChecks(false) switches off for hot loops.
        using (Guard.FiniteChecks(false))
            Assert.True(isnan(new ImleLayer(new NanReturningSolver()).forward(theta)).all().item<bool>());
    }

    // ---- Layers and schedules ----

    [Fact]
    public void Discrete_continuous_component_refuses_an_undefined_drop_res_mode()
    {
        Throws("dropRes", () => discrete.DiscreteContinuousComponent(4, 3, 4, EstimatorKind.StraightThrough, dropRes: (DropResMode)7),
            "None, PerBatch or PerExample");
        using var c = discrete.DiscreteContinuousComponent(4, 3, 4, EstimatorKind.StraightThrough);
        Throws("DropRes", () => c.DropRes = (DropResMode)(-1), "None, PerBatch or PerExample");
    }

    [Fact]
    public void Schedules_refuse_a_negative_step()
    {
        Throws("t", () => new TempMatchSchedule(8, 0.008).At(-10), ">= 0");
        Throws("t", () => new ExponentialDecaySchedule(2, 0.9, 0.5).At(-1), ">= 0");
        Throws("t", () => new LinearSchedule(0, 1, 0.1).At(-1), ">= 0");
        Throws("t", () => new ConstantSchedule(3).At(-1), ">= 0");
    }

    // ---- Diagnostics ----

    [Fact]
    public void Enumeration_log_probabilities_refuse_states_of_another_shape()
    {
        var logits = tensor(new double[,] { { 0.1, 0.2, 0.3 }, { 0, 1, 2 } }, dtype: F64);
        Throws("states", () => Enumeration.LogProbabilities(logits, Enumeration.JointStates(2, 4)), "[S, 2, 3]");
        Throws("states", () => Enumeration.LogProbabilities(logits, Enumeration.JointStates(3, 3)), "[S, 2, 3]");
    }

    private static readonly double[,] DiagnosticLogits = { { 0.2, -0.5, 1.0 }, { 0.0, 0.7, -0.3 } };

    /// <summary>f(z) = sum_i (sum_k c_k z_ik - 0.4)^2, written in the dtype of z.</summary>
    private static Tensor Quadratic(Tensor z)
    {
        var c = tensor(new[] { -1.0, 0.5, 2.0 }, dtype: F64).to(z.dtype);
        return ((z * c).sum(-1) - 0.4).pow(2).sum(-1);
    }

    [Fact]
    public void Exact_enumeration_accepts_float32_and_matches_float64()
    {
        var r64 = Enumeration.Exact(tensor(DiagnosticLogits, dtype: F64), Quadratic);
        var r32 = Enumeration.Exact(tensor(DiagnosticLogits, dtype: F64).to(ScalarType.Float32), Quadratic);
        Assert.Equal(ScalarType.Float32, r32.Gradient.dtype);
        Assert.Equal(r64.Value, r32.Value, 1e-6);
        TorchAssert.Close(TorchAssert.ToArray(r64.Gradient), r32.Gradient, 1e-6, "float32 gradient");
    }

    [Theory]
    [InlineData(EstimatorKind.StraightThrough)]
    [InlineData(EstimatorKind.ReinMax)]
    [InlineData(EstimatorKind.GumbelSoftmax)]
    public void Estimator_diagnostics_accept_float32_and_match_float64(EstimatorKind kind)
    {
        // Monte Carlo kinds draw from generators of the same seed, so both dtypes see the same noise.
        var e64 = EstimatorDiagnostics.ExpectedGradient(tensor(DiagnosticLogits, dtype: F64), Quadratic, kind,
            monteCarloSamples: 500, generator: new Generator(8));
        var e32 = EstimatorDiagnostics.ExpectedGradient(tensor(DiagnosticLogits, dtype: F64).to(ScalarType.Float32), Quadratic, kind,
            monteCarloSamples: 500, generator: new Generator(8));
        Assert.Equal(EstimatorDiagnostics.IsEnumerable(kind), e32.Exact);
        Assert.Equal(ScalarType.Float64, e32.Mean.dtype);
        Assert.Equal(e64.Variance, e32.Variance, 1e-6);
        TorchAssert.Close(TorchAssert.ToArray(e64.Mean), e32.Mean, 1e-6, "float32 expected gradient");
        var b64 = EstimatorDiagnostics.Analyse(tensor(DiagnosticLogits, dtype: F64), Quadratic, kind, monteCarloSamples: 500,
            generator: new Generator(8));
        var b32 = EstimatorDiagnostics.Analyse(tensor(DiagnosticLogits, dtype: F64).to(ScalarType.Float32), Quadratic, kind,
            monteCarloSamples: 500, generator: new Generator(8));
        Assert.Equal(b64.CosineSimilarity, b32.CosineSimilarity, 1e-6);
        Assert.Equal(b64.RelativeL2Error, b32.RelativeL2Error, 1e-6);
    }
}
