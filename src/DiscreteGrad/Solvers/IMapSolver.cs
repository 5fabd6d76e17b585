using static TorchSharp.torch;

namespace DiscreteGrad.Solvers;

/// <summary>
/// A batched MAP solver: z = argmax_{z in C} &lt;theta, z&gt; over a discrete set C of 0/1 vectors (top-k subsets, paths,
/// spanning trees, ...), or argmin for a cost-minimising solver such as a shortest path.
/// <para>Contract: <c>Solve</c> takes weights [B, ...] (B independent instances) and returns a 0/1 tensor of the same
/// shape; it must not keep references to its argument, must not need gradients, and may be called several times per
/// training step (once in the forward pass and once or twice in the backward pass of I-MLE).</para>
/// <para>Inside the I-MLE layers <c>Solve</c> runs within a TorchSharp dispose scope: temporaries it creates are freed
/// afterwards, and a tensor it wants to keep beyond the call (a log, a cache) must leave the scope
/// (<c>DetachFromDisposeScope()</c>).</para>
/// </summary>
public interface IMapSolver
{
    /// <summary>Solves every instance of the batch: weights [B, ...] in, 0/1 solutions [B, ...] out.</summary>
    Tensor Solve(Tensor weights);
}

/// <summary>Adapts a delegate to <see cref="IMapSolver"/>.</summary>
public sealed class DelegateMapSolver : IMapSolver
{
    private readonly Func<Tensor, Tensor> _solve;

    /// <summary>Wraps <paramref name="solve"/>: weights [B, ...] to 0/1 solutions [B, ...].</summary>
    public DelegateMapSolver(Func<Tensor, Tensor> solve)
    {
        ArgumentNullException.ThrowIfNull(solve);
        _solve = solve;
    }

    /// <inheritdoc />
    public Tensor Solve(Tensor weights) => _solve(weights);
}

/// <summary>Factory helpers for <see cref="IMapSolver"/>.</summary>
public static class MapSolver
{
    /// <summary>An <see cref="IMapSolver"/> that calls <paramref name="solve"/>.</summary>
    public static IMapSolver FromDelegate(Func<Tensor, Tensor> solve) => new DelegateMapSolver(solve);
}
