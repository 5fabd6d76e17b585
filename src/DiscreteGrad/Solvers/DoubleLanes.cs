using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DiscreteGrad.Solvers;

/// <summary>
/// The few SIMD operations of <see cref="GridSweepKernel"/> on a vector of float64 lanes, as static members so that the
/// kernel is written once and the JIT compiles one specialised copy per vector width (128, 256, 512 bits, and 1024 as a pair of 512).
/// </summary>
/// <typeparam name="TVec">The vector type (one lane per map).</typeparam>
internal interface IDoubleLanes<TVec> where TVec : struct
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes set to <paramref name="x"/>.</summary>
    static abstract TVec Broadcast(double x);

    /// <summary>Lane-wise minimum with the hardware instruction (MinNative): the kernel never holds NaN or -0.0, where it would differ from Math.Min.</summary>
    static abstract TVec Min(TVec a, TVec b);

    /// <summary>Lane-wise sum.</summary>
    static abstract TVec Add(TVec a, TVec b);

    /// <summary>Lane-wise a * s.</summary>
    static abstract TVec Scale(TVec a, double s);

    /// <summary>Lane-wise a &lt; b as an all-ones / all-zeros mask.</summary>
    static abstract TVec Less(TVec a, TVec b);

    /// <summary>Lane-wise a &lt;= b as an all-ones / all-zeros mask.</summary>
    static abstract TVec LessOrEqual(TVec a, TVec b);

    /// <summary>Lane-wise bitwise or.</summary>
    static abstract TVec Or(TVec a, TVec b);

    /// <summary>Whether any lane of a mask is set.</summary>
    static abstract bool Any(TVec mask);
}

/// <summary>Two float64 lanes (SSE2 / Arm64 AdvSimd).</summary>
internal readonly struct Lanes128 : IDoubleLanes<Vector128<double>>
{
    public static int Count => Vector128<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Broadcast(double x) => Vector128.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Min(Vector128<double> a, Vector128<double> b) => Vector128.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Add(Vector128<double> a, Vector128<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Scale(Vector128<double> a, double s) => a * s;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Less(Vector128<double> a, Vector128<double> b) => Vector128.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> LessOrEqual(Vector128<double> a, Vector128<double> b) => Vector128.LessThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Or(Vector128<double> a, Vector128<double> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Any(Vector128<double> mask) => mask != Vector128<double>.Zero;
}

/// <summary>Four float64 lanes (AVX2).</summary>
internal readonly struct Lanes256 : IDoubleLanes<Vector256<double>>
{
    public static int Count => Vector256<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Broadcast(double x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Min(Vector256<double> a, Vector256<double> b) => Vector256.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Add(Vector256<double> a, Vector256<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Scale(Vector256<double> a, double s) => a * s;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Less(Vector256<double> a, Vector256<double> b) => Vector256.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> LessOrEqual(Vector256<double> a, Vector256<double> b) => Vector256.LessThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Or(Vector256<double> a, Vector256<double> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Any(Vector256<double> mask) => mask != Vector256<double>.Zero;
}

/// <summary>Eight float64 lanes (AVX-512).</summary>
internal readonly struct Lanes512 : IDoubleLanes<Vector512<double>>
{
    public static int Count => Vector512<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Broadcast(double x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Min(Vector512<double> a, Vector512<double> b) => Vector512.MinNative(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Add(Vector512<double> a, Vector512<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Scale(Vector512<double> a, double s) => a * s;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Less(Vector512<double> a, Vector512<double> b) => Vector512.LessThan(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> LessOrEqual(Vector512<double> a, Vector512<double> b) => Vector512.LessThanOrEqual(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Or(Vector512<double> a, Vector512<double> b) => a | b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Any(Vector512<double> mask) => mask != Vector512<double>.Zero;
}

/// <summary>Two vectors processed side by side (twice the lanes), so that the row scans of <see cref="GridSweepKernel"/>
/// run two independent dependency chains per step.</summary>
internal struct Pair<TVec> where TVec : struct
{
    public TVec A, B;
}

/// <summary>The operations of <typeparamref name="TOps"/> applied to both halves of a <see cref="Pair{TVec}"/>.</summary>
internal readonly struct PairLanes<TVec, TOps> : IDoubleLanes<Pair<TVec>>
    where TVec : struct
    where TOps : struct, IDoubleLanes<TVec>
{
    public static int Count => 2 * TOps.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair<TVec> Broadcast(double x) => new() { A = TOps.Broadcast(x), B = TOps.Broadcast(x) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair<TVec> Min(Pair<TVec> a, Pair<TVec> b) => new() { A = TOps.Min(a.A, b.A), B = TOps.Min(a.B, b.B) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair<TVec> Add(Pair<TVec> a, Pair<TVec> b) => new() { A = TOps.Add(a.A, b.A), B = TOps.Add(a.B, b.B) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair<TVec> Scale(Pair<TVec> a, double s) => new() { A = TOps.Scale(a.A, s), B = TOps.Scale(a.B, s) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair<TVec> Less(Pair<TVec> a, Pair<TVec> b) => new() { A = TOps.Less(a.A, b.A), B = TOps.Less(a.B, b.B) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair<TVec> LessOrEqual(Pair<TVec> a, Pair<TVec> b) => new() { A = TOps.LessOrEqual(a.A, b.A), B = TOps.LessOrEqual(a.B, b.B) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Pair<TVec> Or(Pair<TVec> a, Pair<TVec> b) => new() { A = TOps.Or(a.A, b.A), B = TOps.Or(a.B, b.B) };
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static bool Any(Pair<TVec> mask) => TOps.Any(TOps.Or(mask.A, mask.B));
}
