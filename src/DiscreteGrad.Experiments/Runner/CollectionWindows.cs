using System.Runtime;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// The garbage collections of a training loop, held to the boundaries between windows of <see cref="Steps"/> steps.
/// <para>Why: TorchSharp passes a number argument (the 0.5 of <c>x * 0.5</c>, the alpha of every <c>add</c>, softplus's
/// beta and threshold) to libtorch as a <c>Scalar</c> object that nothing references once its native handle has been
/// read, and frees it only in its finaliser. A collection that starts while libtorch runs (another thread's allocation
/// can start one at any moment: a worker of the solvers' parallel loops, the runtime's own threads) can find that Scalar
/// unreachable, and the finaliser thread then frees it while libtorch still reads it: the run stops with "Expected false
/// to be true" from <c>c10::Scalar::toFloat</c>, at a step that differs from run to run. Inside a window no collection
/// starts, from any thread.</para>
/// <para>How: in a process the run has to itself (<see cref="RunnerOptions.ExclusiveProcess"/>), each window is a no-GC
/// region (<see cref="GC.TryStartNoGCRegion(long)"/> of <see cref="Budget"/> bytes): no collection starts inside it, from
/// any thread, unless the window allocates more than the budget (then collections go on as usual until the window ends;
/// <see cref="Unguarded"/> counts such windows, and those whose region the runtime refused). Between two windows the region ends, a forced gen-0 collection on the
/// training thread frees the window's garbage, Scalars included (their small native blocks, left to natural collections,
/// fragment glibc's heap; see the runner's loop), and the next region starts. A no-GC region is the whole process's, so in
/// a shared process (tests, inline grids) windows end with the same collection but are not guarded.</para>
/// <para>Measured on a Bernoulli-VAE cell (2 x 200, 4000 steps): a window allocates 0.9 MB of managed memory, the
/// boundary takes 1.2-1.3 ms with or without the guard, and the resident size stays flat (477-483 MB from step 1000 to
/// 4000; without the collection, region starts alone, it grew by 1 MB per window); the guard changes no metric
/// (the training log is byte-identical). <c>DiscreteGrad.Bench scalar-race</c> reproduces the failure and shows the
/// guard preventing it.</para>
/// </summary>
public sealed class CollectionWindows : IDisposable
{
    /// <summary>Steps per window.</summary>
    public const long Steps = 25;

    /// <summary>Managed bytes a window may allocate before the guard lapses, reserved for small and again for large objects
    /// (a Bernoulli-VAE window allocates 0.9 MB).</summary>
    public const long Budget = 64L << 20;

    private readonly bool _exclusive;
    private bool _open;

    /// <summary>Opens the first window.</summary>
    /// <param name="exclusive">Whether the process is the run's own (then windows are no-GC regions).</param>
    public CollectionWindows(bool exclusive)
    {
        _exclusive = exclusive;
        Start();
    }

    /// <summary>Whether windows were no-GC regions (an exclusive process whose runtime granted at least one).</summary>
    public bool Guarded { get; private set; }

    /// <summary>Windows of an exclusive process in which collections could start after all: the runtime refused the
    /// region, the window allocated more than <see cref="Budget"/>, or a collection was induced inside it.</summary>
    public int Unguarded { get; private set; }

    /// <summary>Ends the current window (with a collection) and opens the next.</summary>
    public void Next()
    {
        End();
        // Starting a region collects only when the heap lacks room for the budget: the window's garbage (and the
        // Scalars' native blocks) needs a collection of its own.
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        Start();
    }

    /// <summary>Ends the current window; collections go on as usual afterwards.</summary>
    public void Dispose() => End();

    private void Start()
    {
        if (!_exclusive || GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) return;
        try
        {
            _open = GC.TryStartNoGCRegion(Budget);
        }
        catch (ArgumentOutOfRangeException)
        {
            _open = false;   // a budget beyond what this runtime's configuration allows (a heap hard limit)
        }
        Guarded |= _open;
        if (!_open) Unguarded++;
    }

    private void End()
    {
        if (!_open) return;
        _open = false;
        try
        {
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
                return;
            }
        }
        catch (InvalidOperationException)
        {
            // The region ended early: the window allocated more than the budget, or a collection was induced.
        }
        Unguarded++;
    }
}
