using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Solvers;

/// <summary>
/// How the CPU solvers spread a batch over cores. A batch runs on <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>
/// only when it has at least two instances and its estimated work (instances x per-instance cost) reaches
/// <see cref="MinParallelWork"/>; smaller batches run on the calling thread, where thread hand-off would cost more than
/// it saves.
/// </summary>
public static class SolverParallelism
{
    private static readonly AsyncLocal<(int MaxDegree, long MinWork)?> Scope = new();

    /// <summary>
    /// Upper bound on the worker threads of one batch: the innermost <see cref="Limit"/> scope's value on this logical
    /// thread, else libtorch's intra-op thread count (<c>torch.get_num_threads()</c>, which <c>--threads</c> of the
    /// experiment runner sets), so that a run given N threads uses N for its tensors and its solvers alike. 1 disables
    /// parallelism.
    /// </summary>
    public static int MaxDegreeOfParallelism => Scope.Value?.MaxDegree ?? Math.Max(1, torch.get_num_threads());

    /// <summary>Minimum estimated work (sum over instances of about n log n element operations) for a parallel batch:
    /// the innermost <see cref="Limit"/> scope's value, else 2^14.</summary>
    public static long MinParallelWork => Scope.Value?.MinWork ?? 1L << 14;

    /// <summary>
    /// Limits the solvers called inside the returned scope (on this logical thread and the tasks it starts) to
    /// <paramref name="maxDegreeOfParallelism"/> worker threads, without touching other runs in the same process; dispose
    /// it to restore the enclosing setting. Like <c>torch.no_grad()</c>:
    /// <code>using (SolverParallelism.Limit(1)) solver.Solve(weights);</code>
    /// </summary>
    /// <param name="maxDegreeOfParallelism">Worker threads per batch (&gt;= 1).</param>
    /// <param name="minParallelWork">Minimum work for a parallel batch (&gt;= 0); null keeps the enclosing value.</param>
    public static IDisposable Limit(int maxDegreeOfParallelism, long? minParallelWork = null)
    {
        Guard.AtLeast(maxDegreeOfParallelism, 1, nameof(maxDegreeOfParallelism));
        if (minParallelWork is long w) Guard.AtLeast(w, 0, nameof(minParallelWork));
        var previous = Scope.Value;
        Scope.Value = (maxDegreeOfParallelism, minParallelWork ?? MinParallelWork);
        return new Restore(() => Scope.Value = previous);
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        private Action? _restore = restore;
        public void Dispose() { _restore?.Invoke(); _restore = null; }
    }

    internal static void For(int count, long workPerItem, Action<int> body)
    {
        int maxDegree = MaxDegreeOfParallelism;
        if (count >= 2 && maxDegree > 1 && count * Math.Max(1, workPerItem) >= MinParallelWork)
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = maxDegree }, body);
        else
            for (int i = 0; i < count; i++) body(i);
    }
}

/// <summary>Tensor to CPU array and back, with the checks every solver shares.</summary>
internal static class BatchArrays
{
    /// <summary>Float64 copy of a floating-point tensor, row-major.</summary>
    public static double[] Read(Tensor weights, string name)
    {
        ArgumentNullException.ThrowIfNull(weights, name);
        if (!weights.is_floating_point())
            throw new ArgumentException($"{name} must be a floating-point tensor (got {weights.dtype}).", name);
        using var _ = torch.no_grad();
        using var t = weights.detach().to(ScalarType.Float64).cpu().contiguous();
        return t.data<double>().ToArray();
    }

    /// <summary>
    /// Copies the elements of <paramref name="contiguousCpu"/> (a contiguous CPU tensor whose element type is
    /// <typeparamref name="T"/>) into <paramref name="destination"/> with one block copy of its storage (the tensor
    /// accessor's ToArray goes element by element).
    /// </summary>
    public static void CopyTo<T>(Tensor contiguousCpu, Span<T> destination) where T : unmanaged
        => MemoryMarshal.Cast<byte, T>(contiguousCpu.bytes).CopyTo(destination);

    /// <summary>Throws naming <paramref name="name"/> when an entry is NaN or infinite; reports the first such entry.</summary>
    public static void RequireFinite(double[] values, string name)
    {
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
                throw new NonFiniteValueException(
                    $"{name} must be finite (no NaN or infinity); flat index {i} holds {values[i]}.", name);
    }

    /// <summary>0/1 result with the shape, dtype and device of <paramref name="like"/>.</summary>
    public static Tensor Write(double[] values, Tensor like)
    {
        using var t = torch.tensor(values, like.shape, dtype: ScalarType.Float64);
        return t.to(like.dtype, like.device);
    }

    /// <summary>
    /// A tensor with the shape, dtype and device of <paramref name="like"/> holding <paramref name="values"/> (row-major,
    /// of element type <typeparamref name="T"/> = <paramref name="dtype"/>), written by one block copy into a new CPU tensor.
    /// </summary>
    public static Tensor Write<T>(ReadOnlySpan<T> values, ScalarType dtype, Tensor like) where T : unmanaged
    {
        var t = torch.empty(like.shape, dtype: dtype);
        values.CopyTo(MemoryMarshal.Cast<byte, T>(t.bytes));
        if (like.dtype == dtype && like.device_type == DeviceType.CPU) return t;
        using (t) return t.to(like.dtype, like.device);
    }

    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
