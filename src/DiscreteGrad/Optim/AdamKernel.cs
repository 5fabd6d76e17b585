using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Optim;

/// <summary>
/// The coefficients of one Adam-family update of one parameter, in double precision as the optimiser computes them; the
/// kernel rounds each to the parameter's element type once, as libtorch rounds a Scalar operand.
/// </summary>
internal readonly record struct AdamCoefficients(
    AdamRule Rule, bool Maximize, double Decay, double WeightDecay, double Beta1, double Beta2,
    double SqrtBiasCorrection2, double Eps, double StepScale, double BiasCorrection1, bool Rectified)
{
    /// <summary>TorchSharp's Adam / AdamW at step t (<c>decoupled</c>: AdamW's p (1 - lr lambda) instead of the L2 term).</summary>
    public static AdamCoefficients Adam(long t, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, bool maximize)
    {
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        return new AdamCoefficients(AdamRule.Adam, maximize, decoupled ? 1 - lr * weightDecay : 1, decoupled ? 0 : weightDecay,
            beta1, beta2, Math.Sqrt(bc2), eps, -(lr / bc1), 1, false);
    }

    /// <summary>DiscreteGrad's <see cref="Optim.RAdam"/> at step t.</summary>
    public static AdamCoefficients RAdam(long t, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled)
    {
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        double? r = Optim.RAdam.Rectification(t, beta2);
        return new AdamCoefficients(AdamRule.RAdam, false, decoupled ? 1 - lr * weightDecay : 1, decoupled ? 0 : weightDecay,
            beta1, beta2, Math.Sqrt(bc2), eps, r is double rect ? lr * rect * Math.Sqrt(bc2) : lr, bc1, r is not null);
    }
}

/// <summary>Which update the kernel applies after the moments.</summary>
internal enum AdamRule
{
    /// <summary>p = p + (-lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps) (TorchSharp's Adam and AdamW).</summary>
    Adam,
    /// <summary>p = p - c (m / bc1) / (sqrt(v) + eps) when rectified, else p = p - lr (m / bc1) (<see cref="Optim.RAdam"/>).</summary>
    RAdam,
}

/// <summary>
/// An Adam-family update of one parameter in two SIMD passes over memory, chunk by chunk, with libtorch's own square root
/// between them: pass 1 updates the moments m and v (and copies v to a scratch buffer), libtorch takes the square root of the
/// scratch in place, pass 2 updates p. Each element goes through exactly the float operations, in the same order and with
/// the same fused multiply-adds, as the chain of libtorch kernels the tensor-op optimisers launch (<c>mul_</c>;
/// <c>add_(other, alpha)</c> = fma(other, alpha, self); <c>addcmul_</c> = fma(value t1, t2, self); <c>sqrt</c>, which
/// libtorch's CPU build takes from its vector math library and which is not always the correctly rounded square root,
/// hence libtorch's call; <c>div</c>; <c>addcdiv_</c> = self + (value t1) / t2), so the result is bit-identical to them
/// (the tests check this against TorchSharp's Adam and AdamW and against the tensor-op path of <see cref="RAdam"/>), while
/// it reads and writes each array about twice instead of once per kernel and launches one kernel per chunk instead of
/// eight per parameter.
/// </summary>
internal sealed class AdamKernel : IDisposable
{
    /// <summary>Elements per chunk: the chunk's p, g, m, v and scratch (1.25 MiB in float32) stay in a core's L2 cache
    /// between the passes.</summary>
    public const int Chunk = 65536;

    private readonly Dictionary<ScalarType, Tensor> _scratch = new();

    /// <summary>Whether the kernel can update <paramref name="p"/> in place: a contiguous float32 or float64 CPU tensor of at
    /// most int.MaxValue bytes.</summary>
    public static bool Supports(Tensor p) =>
        p.device_type == DeviceType.CPU && (p.dtype == ScalarType.Float32 || p.dtype == ScalarType.Float64) && p.is_contiguous()
        && p.numel() * p.ElementSize <= int.MaxValue;

    /// <summary>
    /// Updates parameter <paramref name="p"/> with gradient <paramref name="grad"/> (null: zero) and moments m, v (contiguous,
    /// same dtype as p). A non-contiguous gradient is copied first.
    /// </summary>
    public void Apply(Tensor p, Tensor? grad, Tensor m, Tensor v, in AdamCoefficients c)
    {
        if (p.numel() == 0) return;
        Tensor? contiguous = grad is not null && !grad.is_contiguous() ? grad.contiguous() : null;
        try
        {
            var g = contiguous ?? grad;
            if (g is not null && g.dtype != p.dtype)
                throw new ArgumentException($"gradient dtype {g.dtype} differs from the parameter's {p.dtype}.", nameof(grad));
            if (!_scratch.TryGetValue(p.dtype, out var scratch))
                _scratch[p.dtype] = scratch = torch.empty(Chunk, dtype: p.dtype).DetachFromDisposeScope();
            if (p.dtype == ScalarType.Float32) Apply<float>(p, g, m, v, scratch, c);
            else Apply<double>(p, g, m, v, scratch, c);
        }
        finally
        {
            contiguous?.Dispose();
        }
    }

    private static void Apply<T>(Tensor pt, Tensor? gt, Tensor mt, Tensor vt, Tensor scratch, in AdamCoefficients c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> p = Floats<T>(pt), m = Floats<T>(mt), v = Floats<T>(vt), s = Floats<T>(scratch);
        ReadOnlySpan<T> g = gt is null ? default : Floats<T>(gt);
        int n = p.Length;
        if (m.Length != n || v.Length != n || (gt is not null && g.Length != n))
            throw new ArgumentException($"buffers of different lengths (p {n}, g {g.Length}, m {m.Length}, v {v.Length}).");
        bool root = c.Rule == AdamRule.Adam || c.Rectified;
        for (int start = 0; start < n; start += Chunk)
        {
            int len = Math.Min(Chunk, n - start);
            var pc = p.Slice(start, len);
            var mc = m.Slice(start, len);
            var sc = s[..len];
            Moments(pc, g.IsEmpty ? g : g.Slice(start, len), mc, v.Slice(start, len), root ? sc : Span<T>.Empty, c);
            if (root)
            {
                using var view = len == Chunk ? null : scratch.narrow(0, 0, len);
                (view ?? scratch).sqrt_();
            }
            Update(pc, mc, sc, c);
        }
    }

    /// <summary>Pass 1: g (maximize, L2), m = fma(g, 1 - beta1, m beta1), v = fma((1 - beta2) g, g, v beta2); s = v.</summary>
    private static void Moments<T>(ReadOnlySpan<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, Span<T> s, in AdamCoefficients c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T wd = T.CreateChecked(c.WeightDecay), b1 = T.CreateChecked(c.Beta1), a1 = T.CreateChecked(1 - c.Beta1);
        T b2 = T.CreateChecked(c.Beta2), a2 = T.CreateChecked(1 - c.Beta2);
        bool l2 = c.WeightDecay != 0, zero = g.IsEmpty, copy = !s.IsEmpty, maximize = c.Maximize;
        int n = m.Length, i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var vp = MemoryMarshal.Cast<T, Vector<T>>(p);
            var vg = MemoryMarshal.Cast<T, Vector<T>>(g);
            var vm = MemoryMarshal.Cast<T, Vector<T>>(m);
            var vv = MemoryMarshal.Cast<T, Vector<T>>(v);
            var vs = MemoryMarshal.Cast<T, Vector<T>>(s);
            Vector<T> vWd = new(wd), vB1 = new(b1), vA1 = new(a1), vB2 = new(b2), vA2 = new(a2);
            for (int k = 0; k < vm.Length; k++)
            {
                var gk = zero ? Vector<T>.Zero : vg[k];
                if (maximize) gk = -gk;
                if (l2) gk = Fma(vp[k], vWd, gk);
                vm[k] = Fma(gk, vA1, vm[k] * vB1);
                var vk = Fma(vA2 * gk, gk, vv[k] * vB2);
                vv[k] = vk;
                if (copy) vs[k] = vk;
            }
            i = vm.Length * Vector<T>.Count;
        }
        for (; i < n; i++)
        {
            T gi = zero ? T.Zero : g[i];
            if (maximize) gi = -gi;
            if (l2) gi = T.FusedMultiplyAdd(p[i], wd, gi);
            m[i] = T.FusedMultiplyAdd(gi, a1, m[i] * b1);
            T vi = T.FusedMultiplyAdd(a2 * gi, gi, v[i] * b2);
            v[i] = vi;
            if (copy) s[i] = vi;
        }
    }

    /// <summary>Pass 2, with r = sqrt(v) from libtorch: p = p decay, then Adam p = p + (scale m) / (r / sqrt(bc2) + eps);
    /// RAdam p = p - ((m / bc1) scale) / (r + eps) when rectified, else p = p - (m / bc1) lr.</summary>
    private static void Update<T>(Span<T> p, ReadOnlySpan<T> m, ReadOnlySpan<T> r, in AdamCoefficients c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T decay = T.CreateChecked(c.Decay), sqrtBc2 = T.CreateChecked(c.SqrtBiasCorrection2), eps = T.CreateChecked(c.Eps);
        T scale = T.CreateChecked(c.StepScale), bc1 = T.CreateChecked(c.BiasCorrection1);
        bool decoupled = c.Decay != 1, adam = c.Rule == AdamRule.Adam, rectified = c.Rectified;
        int n = p.Length, i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var vp = MemoryMarshal.Cast<T, Vector<T>>(p);
            var vm = MemoryMarshal.Cast<T, Vector<T>>(m);
            var vr = MemoryMarshal.Cast<T, Vector<T>>(r);
            Vector<T> vDecay = new(decay), vSqrtBc2 = new(sqrtBc2), vEps = new(eps), vScale = new(scale), vBc1 = new(bc1);
            for (int k = 0; k < vp.Length; k++)
            {
                var pk = vp[k];
                if (decoupled) pk *= vDecay;
                if (adam) pk += vScale * vm[k] / (vr[k] / vSqrtBc2 + vEps);
                else if (rectified) pk -= vm[k] / vBc1 * vScale / (vr[k] + vEps);
                else pk -= vm[k] / vBc1 * vScale;
                vp[k] = pk;
            }
            i = vp.Length * Vector<T>.Count;
        }
        for (; i < n; i++)
        {
            T pi = p[i];
            if (decoupled) pi *= decay;
            if (adam) pi += scale * m[i] / (r[i] / sqrtBc2 + eps);
            else if (rectified) pi -= m[i] / bc1 * scale / (r[i] + eps);
            else pi -= m[i] / bc1 * scale;
            p[i] = pi;
        }
    }

    /// <summary>a b + c with one rounding.</summary>
    private static Vector<T> Fma<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        throw new NotSupportedException($"{typeof(T).Name} is not a supported element type.");
    }

    private static Span<T> Floats<T>(Tensor t) where T : unmanaged => MemoryMarshal.Cast<byte, T>(t.bytes);

    /// <summary>Frees the scratch buffers.</summary>
    public void Dispose()
    {
        foreach (var t in _scratch.Values) t.Dispose();
        _scratch.Clear();
    }
}

/// <summary>
/// What the fused optimisers share: gradients are released in <c>zero_grad()</c> (PyTorch's default
/// <c>set_to_none=True</c>: the next backward stores its gradient tensors instead of adding them into zero-filled ones),
/// while a parameter that had a gradient before and gets none from the next backward is still updated with a zero
/// gradient, as the tensor-op optimisers do after their zero-filling <c>zero_grad()</c>; so the trajectory is the same.
/// </summary>
internal sealed class ReleasedGradients
{
    private readonly HashSet<IntPtr> _had = new();

    /// <summary>Releases every gradient and remembers which parameters had one. Call from <c>zero_grad()</c>.</summary>
    public void Release(IEnumerable<Parameter> parameters)
    {
        foreach (var p in parameters)
        {
            using var g = p.grad;
            if (g is null) continue;
            _had.Add(p.Handle);
            p.grad = null;
        }
    }

    /// <summary>Whether <paramref name="p"/> takes an update this step with gradient <paramref name="grad"/>: it has one, or
    /// it had one before a <see cref="Release"/> (then it is updated with zero).</summary>
    public bool TakesUpdate(Parameter p, Tensor? grad) => grad is not null || _had.Contains(p.Handle);

    /// <summary>Gives every parameter that had a gradient a zero-filled one again (before a tensor-op fallback step).</summary>
    public void Restore(IEnumerable<Parameter> parameters)
    {
        foreach (var p in parameters)
        {
            if (!_had.Contains(p.Handle)) continue;
            using var g = p.grad;
            if (g is null) p.grad = torch.zeros_like(p).DetachFromDisposeScope();
        }
    }
}
