namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// When a training loop forces a garbage collection. The tensors and autograd graphs of a step are freed deterministically
/// (every step runs in a DisposeScope, and TorchSharp frees a custom autograd node, with the tensors it saved, when libtorch
/// releases the graph), but TorchSharp's <c>Scalar</c>, which every tensor operation with a number argument creates
/// (<c>x * 0.5</c>, <c>clamp(min, max)</c>, the <c>mul_(beta1)</c> of TorchSharp's own optimisers, ...), owns a small native
/// block that only its finaliser frees. Left between the large temporaries of a step, these blocks fragment glibc's heap,
/// which then grows by up to megabytes per step until the next natural collection, hundreds of steps later (the managed
/// heap grows slowly). So every <see cref="CheckEvery"/> steps <see cref="Check"/> reads the resident size and, when it
/// exceeds the size after the previous collection by more than <see cref="GrowthMiB"/> MiB, collects and waits for the
/// finalisers (the freed blocks let the heap reuse the holes). A run whose steps create few such objects (the fused
/// optimisers of DiscreteGrad.Optim create none) never pays for a collection; the runner forced one every 25 steps before.
/// </summary>
public sealed class NativeGarbage
{
    /// <summary>Steps between two reads of the resident size.</summary>
    public const long CheckEvery = 25;
    /// <summary>Growth of the resident size since the last collection (MiB) that triggers one.</summary>
    public const double GrowthMiB = 32;

    private readonly Func<double> _residentMiB;
    private readonly Action _collect;
    private double _floor = double.NaN;

    /// <summary>The policy on this process (VmRSS; GC.Collect and GC.WaitForPendingFinalizers).</summary>
    public NativeGarbage() : this(ExperimentRunner.ResidentMegabytes, () =>
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    })
    {
    }

    /// <summary>The policy with an injected resident-size probe and collection (for tests).</summary>
    public NativeGarbage(Func<double> residentMiB, Action collect)
    {
        ArgumentNullException.ThrowIfNull(residentMiB);
        ArgumentNullException.ThrowIfNull(collect);
        _residentMiB = residentMiB;
        _collect = collect;
    }

    /// <summary>Collections forced so far.</summary>
    public int Collections { get; private set; }

    /// <summary>Call after every step (<paramref name="stepsDone"/> = steps finished); returns whether it collected.</summary>
    public bool Check(long stepsDone)
    {
        if (stepsDone % CheckEvery != 0) return false;
        double rss = _residentMiB();
        if (double.IsNaN(_floor) || rss < _floor)
        {
            _floor = rss;
            return false;
        }
        if (rss <= _floor + GrowthMiB) return false;
        _collect();
        Collections++;
        _floor = _residentMiB();
        return true;
    }
}
