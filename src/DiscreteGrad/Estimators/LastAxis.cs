using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Estimators;

/// <summary>
/// softmax and log_softmax over the last axis, routed over the axis before it when the last one is narrow. libtorch's CPU
/// kernels for a reduction over a contiguous last axis narrower than a SIMD vector (the categorical VAE's C = 10 classes)
/// work row by row; over the axis before it they vectorise across rows. So for a last axis of fewer than 16 entries the
/// same function is computed as <c>x.transpose(-1, -2).softmax(-2).transpose(-1, -2)</c>, copied back to row-major
/// layout: the values of each row (equal to libtorch's up to rounding), about a third of the time for [100, 30, 10]
/// forward + backward on this machine (`vae-step --parts 1` in the benchmarks).
/// </summary>
internal static class LastAxis
{
    /// <summary>Last-axis width below which the transposed route is taken.</summary>
    public const long NarrowWidth = 16;

    private static bool Narrow(Tensor x) => x.device_type == DeviceType.CPU && x.dim() >= 2 && x.shape[^1] < NarrowWidth && x.shape[^2] > 1;

    /// <summary>softmax(x) over the last axis.</summary>
    public static Tensor Softmax(Tensor x) => Narrow(x) ? Contiguous(x.transpose(-1, -2).softmax(-2).transpose(-1, -2)) : x.softmax(-1);

    /// <summary>log_softmax(x) over the last axis.</summary>
    public static Tensor LogSoftmax(Tensor x) => Narrow(x) ? Contiguous(x.transpose(-1, -2).log_softmax(-2).transpose(-1, -2)) : x.log_softmax(-1);

    /// <summary>
    /// The result in row-major layout, as softmax(-1) gives it (callers <c>view</c> it): libtorch allocates the output of a
    /// reduction over a transposed view contiguous in the view's shape, so the transposed-back result needs one copy.
    /// </summary>
    private static Tensor Contiguous(Tensor y) => y.is_contiguous() ? y : y.contiguous();
}
