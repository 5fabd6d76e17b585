using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// The slopes c of ST, ReinMax and GST for two classes (the formulas of <see cref="TwoClassEstimator"/>) in one managed
/// SIMD pass over (delta, pi_0, d_0), instead of the one to six libtorch kernels the tensor form launches (each a pass
/// over memory with a fresh output; on polynomial programming's 65,536 variables they made GST's step 15-20% dearer than
/// ST's). With sigma(x) = 1 / (1 + e^-x), sigma' = sigma (1 - sigma), q = sigma(delta / tau), b = delta (d_0 = 1) or
/// -delta (d_0 = 0):
/// <code>
/// ST:       c = q (1 - q) / tau                                  (pi_0 (1 - pi_0) at tau = 1)
/// ReinMax:  pi_1 = (d_0 + q) / 2,  c = 2 pi_1 (1 - pi_1) - pi_0 (1 - pi_0) / 2   (|d_0 - pi_0| / 2 at tau = 1)
/// GST:      c = sigma'(max(b, gap) / tau) / tau
/// </code>
/// computed in the logits' dtype (float32: 16 lanes, float64: 8), with .NET's vector exponential (within an ulp or two
/// of libtorch's sigmoid, so the slopes agree with the tensor form to rounding, not bit for bit).
/// </summary>
internal static class TwoClassSlopeKernel
{
    /// <summary>Whether the kernel applies: CPU float32 / float64 tensors of one dtype and size (contiguous or made so).</summary>
    public static bool Supports(Tensor delta, Tensor pi0, Tensor d0) =>
        delta.device_type == DeviceType.CPU && pi0.device_type == DeviceType.CPU && d0.device_type == DeviceType.CPU
        && delta.dtype is ScalarType.Float32 or ScalarType.Float64 && pi0.dtype == delta.dtype && d0.dtype == delta.dtype
        && delta.numel() == pi0.numel() && delta.numel() == d0.numel() && delta.numel() < int.MaxValue;

    /// <summary>The slope of <paramref name="kind"/> (ST, ReinMax or GST) per variable, delta's shape and dtype.</summary>
    public static Tensor Slope(EstimatorKind kind, Tensor delta, Tensor pi0, Tensor d0, double tau, double gap)
    {
        if (kind is not (EstimatorKind.StraightThrough or EstimatorKind.ReinMax or EstimatorKind.GappedStraightThrough))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "the slope kernel computes ST, ReinMax and GST");
        var dc = delta.contiguous();
        var pc = pi0.contiguous();
        var sc = d0.contiguous();
        var c = torch.empty_like(dc);
        if (dc.dtype == ScalarType.Float32)
            Run<float, FloatExp>(kind, Cast<float>(dc), Cast<float>(pc), Cast<float>(sc), Cast<float>(c), (float)tau, (float)gap);
        else
            Run<double, DoubleExp>(kind, Cast<double>(dc), Cast<double>(pc), Cast<double>(sc), Cast<double>(c), tau, gap);
        foreach (var (made, given) in new[] { (dc, delta), (pc, pi0), (sc, d0) })
            if (!ReferenceEquals(made, given)) made.Dispose();
        return c;
    }

    private static Span<T> Cast<T>(Tensor t) where T : unmanaged => MemoryMarshal.Cast<byte, T>(t.bytes);

    private interface IExp<T> where T : unmanaged
    {
        static abstract Vector512<T> Exp(Vector512<T> x);
    }

    private readonly struct FloatExp : IExp<float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Exp(Vector512<float> x) => Vector512.Exp(x);
    }

    private readonly struct DoubleExp : IExp<double>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<double> Exp(Vector512<double> x) => Vector512.Exp(x);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T, TExp>(EstimatorKind kind, ReadOnlySpan<T> delta, ReadOnlySpan<T> pi0, ReadOnlySpan<T> d0, Span<T> c, T tau, T gap)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TExp : IExp<T>
    {
        int n = delta.Length, lanes = Vector512<T>.Count, i = 0;
        bool unitTau = tau == T.One;
        T half = T.CreateTruncating(0.5), two = T.CreateTruncating(2.0), inverseTau = T.One / tau;
        var vOne = Vector512.Create(T.One);
        var vHalf = Vector512.Create(half);
        var vInverseTau = Vector512.Create(inverseTau);
        var vGap = Vector512.Create(gap);
        for (; i + lanes <= n; i += lanes)
        {
            var dl = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(delta), (nuint)i);
            var p = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(pi0), (nuint)i);
            var s = Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(d0), (nuint)i);
            Vector512<T> r;
            switch (kind)
            {
                case EstimatorKind.StraightThrough:
                {
                    var q = unitTau ? p : vOne / (vOne + TExp.Exp(-dl * vInverseTau));
                    r = (q - q * q) * vInverseTau;
                    break;
                }
                case EstimatorKind.ReinMax when unitTau:
                    r = Vector512.Abs(s - p) * vHalf;
                    break;
                case EstimatorKind.ReinMax:
                {
                    var q = vOne / (vOne + TExp.Exp(-dl * vInverseTau));
                    var pi1 = (s + q) * vHalf;
                    r = (pi1 - pi1 * pi1) * Vector512.Create(two) - (p - p * p) * vHalf;
                    break;
                }
                default:
                {
                    var b = Vector512.ConditionalSelect(Vector512.Equals(s, Vector512<T>.Zero), -dl, dl);
                    var m = Vector512.Max(b, vGap) * vInverseTau;
                    var q = vOne / (vOne + TExp.Exp(-m));
                    r = (q - q * q) * vInverseTau;
                    break;
                }
            }
            r.StoreUnsafe(ref MemoryMarshal.GetReference(c), (nuint)i);
        }
        for (; i < n; i++) c[i] = Scalar(kind, delta[i], pi0[i], d0[i], tau, gap, unitTau, half, two);
    }

    private static T Scalar<T>(EstimatorKind kind, T delta, T p, T s, T tau, T gap, bool unitTau, T half, T two)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T Sigmoid(T x) => T.One / (T.One + T.Exp(-x));
        switch (kind)
        {
            case EstimatorKind.StraightThrough:
            {
                var q = unitTau ? p : Sigmoid(delta / tau);
                return (q - q * q) / tau;
            }
            case EstimatorKind.ReinMax when unitTau:
                return T.Abs(s - p) * half;
            case EstimatorKind.ReinMax:
            {
                var pi1 = (s + Sigmoid(delta / tau)) * half;
                return (pi1 - pi1 * pi1) * two - (p - p * p) * half;
            }
            default:
            {
                var b = s == T.Zero ? -delta : delta;
                var q = Sigmoid(T.Max(b, gap) / tau);
                return (q - q * q) / tau;
            }
        }
    }
}
