using static TorchSharp.torch;

namespace DiscreteGrad.Tests;

internal static class TorchAssert
{
    public static double[] ToArray(Tensor t) => t.detach().to(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();

    public static void Close(double[] expected, Tensor actual, double tol, string what = "")
    {
        var a = ToArray(actual);
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol,
                $"{what}[{i}]: expected {expected[i]:R}, got {a[i]:R} (tol {tol})");
    }

    public static void AllFinite(Tensor t, string what)
        => Assert.True(isfinite(t).all().item<bool>(), $"{what} has NaN or inf");
}
