namespace DiscreteGrad.Tests;

/// <summary>Plain double-precision arithmetic for hand-computed expectations (no TorchSharp involved).</summary>
internal static class Hand
{
    public static double[] Softmax(double[] x, double tau = 1.0)
    {
        double m = x.Max(v => v / tau);
        var e = x.Select(v => Math.Exp(v / tau - m)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    /// <summary>J(p)^T v = p * v - p (p . v), the softmax Jacobian-vector product.</summary>
    public static double[] Jtv(double[] p, double[] v)
    {
        double pv = p.Zip(v, (a, b) => a * b).Sum();
        return p.Select((pi, i) => pi * v[i] - pi * pv).ToArray();
    }

    public static double[] Add(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();
    public static double[] Scale(double[] a, double s) => a.Select(x => x * s).ToArray();
    public static double LogSumExp(double[] x) { double m = x.Max(); return m + Math.Log(x.Sum(v => Math.Exp(v - m))); }
    public static double[] OneHot(int k, int i) { var r = new double[k]; r[i] = 1; return r; }
}
