using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Diagnostics;

/// <summary>The exact expectation of f over N independent categoricals and its exact gradient with respect to the logits.</summary>
/// <param name="Value">E_{z ~ prod_i softmax(theta_i)}[f(z)].</param>
/// <param name="Gradient">d E[f] / d theta, shape [N, K] (autograd through sum_z p(z) f(z)).</param>
public sealed record ExactExpectation(double Value, Tensor Gradient);

/// <summary>
/// Exact computations by enumerating every joint state of N independent categoricals with K categories each (K^N states,
/// at most <see cref="MaxStates"/>). A function f of the states takes one-hot states [S, N, K] and returns values [S].
/// </summary>
public static class Enumeration
{
    /// <summary>The largest joint state space enumerated (2^16).</summary>
    public const long MaxStates = 1L << 16;

    /// <summary>Number of joint states K^N; throws when it exceeds <see cref="MaxStates"/>.</summary>
    public static long StateCount(long n, long k)
    {
        Guard.AtLeast(n, 1, nameof(n));
        Guard.AtLeast(k, 2, nameof(k));
        double count = Math.Pow(k, n);
        if (count > MaxStates)
            throw new ArgumentOutOfRangeException(nameof(n), n, $"K^N = {k}^{n} joint states exceed the enumeration limit {MaxStates}.");
        return (long)Math.Round(count);
    }

    /// <summary>Every joint state as one-hot [K^N, N, K], in lexicographic order (the last node varies fastest).</summary>
    public static Tensor JointStates(long n, long k, ScalarType dtype = ScalarType.Float64, Device? device = null)
    {
        long s = StateCount(n, k);
        using var scope = torch.NewDisposeScope();
        var idx = torch.arange(s, dtype: ScalarType.Int64, device: device).unsqueeze(1);     // [S, 1]
        var pow = torch.tensor(Enumerable.Range(0, (int)n).Select(i => (long)Math.Round(Math.Pow(k, n - 1 - i))).ToArray(),
            dtype: ScalarType.Int64, device: device).unsqueeze(0);                            // [1, N]
        var digits = idx.div(pow, rounding_mode: RoundingMode.floor).remainder(k);          // [S, N]
        var states = torch.nn.functional.one_hot(digits, k).to(dtype);
        return scope.MoveToOuter(states);
    }

    /// <summary>log p(z) of every joint state for logits [N, K]: sum_i log_softmax(theta_i)[z_i], shape [S].</summary>
    /// <param name="logits">theta [N, K], floating point.</param>
    /// <param name="states">One-hot states [S, N, K] (e.g. <see cref="JointStates"/>(N, K)).</param>
    public static Tensor LogProbabilities(Tensor logits, Tensor states)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(states);
        if (logits.dim() != 2)
            throw new ArgumentException($"logits must have shape [N, K] (got {logits.dim()} dimensions).", nameof(logits));
        Guard.CategoricalShape(logits);
        if (states.dim() != 3 || states.shape[1] != logits.shape[0] || states.shape[2] != logits.shape[1])
            throw new ArgumentException(
                $"states must have shape [S, {logits.shape[0]}, {logits.shape[1]}] for logits [{logits.shape[0]}, {logits.shape[1]}] "
                + $"(got [{string.Join(", ", states.shape)}]).", nameof(states));
        return LogProbabilitiesCore(logits, states);
    }

    private static Tensor LogProbabilitiesCore(Tensor logits, Tensor states)
        => (states * logits.log_softmax(-1).unsqueeze(0)).sum(new long[] { 1, 2 });

    /// <summary>Exact E[f] and its gradient with respect to <paramref name="logits"/> [N, K].</summary>
    /// <param name="logits">theta [N, K], any floating dtype; it need not require grad (a detached copy is differentiated).</param>
    /// <param name="f">Values of the joint states: [S, N, K] one-hot in (in the logits' dtype), [S] out.</param>
    /// <returns>The value as a double and the gradient in the logits' dtype; both are accumulated in float64 (the
    /// probabilities and the sum over states), so float32 logits give the float64 numbers to float32 rounding.</returns>
    public static ExactExpectation Exact(Tensor logits, Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(f);
        if (logits.dim() != 2)
            throw new ArgumentException($"logits must have shape [N, K] (got {logits.dim()} dimensions).", nameof(logits));
        Guard.CategoricalLogits(logits);
        using var scope = torch.NewDisposeScope();
        var theta = logits.detach().clone().requires_grad_(true);
        var states = JointStates(theta.shape[0], theta.shape[1], theta.dtype, theta.device);
        var values = f(states);
        if (values.dim() != 1 || values.shape[0] != states.shape[0])
            throw new ArgumentException($"f must return one value per state, shape [{states.shape[0]}] (got [{string.Join(", ", values.shape)}]).", nameof(f));
        // The sum over (up to 2^16) states in float64 whatever the logits' dtype; for float64 logits these are the same
        // operations as without the conversions (they are no-ops).
        var p = LogProbabilitiesCore(theta.to(ScalarType.Float64), states.to(ScalarType.Float64)).exp();
        var expectation = (p * values.to(ScalarType.Float64)).sum();
        var grad = torch.autograd.grad(new[] { expectation }, new[] { theta })[0];
        double v = expectation.item<double>();
        return new ExactExpectation(v, scope.MoveToOuter(grad.detach()));
    }
}
