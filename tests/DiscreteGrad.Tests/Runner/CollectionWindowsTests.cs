using System.Runtime;
using System.Runtime.CompilerServices;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Schedules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Runner;

/// <summary>
/// The tests that open no-GC regions, which are the whole process's: they run alone, after every parallel test (an
/// induced collection or a seeded construction elsewhere would end a region or interleave with the toy task's draws).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideCollections
{
    /// <summary>The collection's name.</summary>
    public const string Name = "process-wide collections";
}

[Collection(ProcessWideCollections.Name)]
public sealed class CollectionWindowsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-windows-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void A_thread_that_allocates_starts_collections_during_steps_unless_the_window_is_a_no_gc_region()
    {
        // Steps of managed work only (a collection during a native call with an implicit Scalar is the failure itself).
        using var allocator = new AllocatingThread(microseconds: 100);
        // Unguarded and without forced collections, the allocating thread alone starts one during a step (within 20 s:
        // 4 GB at 200 MB/s, far beyond any gen-0 budget).
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool seen = false;
        while (!seen && clock.Elapsed.TotalSeconds < 20) seen = Step();
        Assert.True(seen, $"the allocating thread ({allocator.Megabytes} MB) started no collection during a step: the check shows nothing");

        int withCollection = 0;
        using (var windows = new CollectionWindows(exclusive: true))
        {
            for (int step = 1; step <= 1000; step++)   // 25 ms windows, 5 MB each
            {
                if (Step()) withCollection++;
                if (step % CollectionWindows.Steps == 0) windows.Next();
            }
            Assert.True(windows.Guarded);
            Assert.Equal(0, windows.Unguarded);
        }
        Assert.Equal(0, withCollection);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);

        static bool Step()
        {
            int before = GC.CollectionCount(0);
            var spin = System.Diagnostics.Stopwatch.StartNew();
            while (spin.Elapsed.TotalMilliseconds < 1) { }
            return GC.CollectionCount(0) != before;
        }
    }

    [Fact]
    public void A_run_in_a_process_of_its_own_sees_no_collection_during_its_steps_and_ends_as_a_shared_one()
    {
        var shared = Run(ownsProcess: false);
        CollectionCountingTask exclusive;
        using (new AllocatingThread(microseconds: 1000)) exclusive = Run(ownsProcess: true);
        Assert.Equal(0, exclusive.StepsWithACollection);
        Assert.Equal(shared.Inner.Parameters(), exclusive.Inner.Parameters());   // exact float equality: only the collections moved
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);   // the run ended its last window

        CollectionCountingTask Run(bool ownsProcess)
        {
            var task = new CollectionCountingTask(new ToyTask(7, 150));
            var context = new RunContext { OutputDirectory = Path.Combine(_dir, ownsProcess ? "own" : "shared"), OwnsProcess = ownsProcess };
            var options = context.ToRunnerOptions(logEvery: 50, defaultCheckpointEvery: 0) with { WriteReport = false };
            Assert.Equal(ownsProcess, options.ExclusiveProcess);
            var result = ExperimentRunner.Run(task, options);
            Assert.Equal(ownsProcess, result.CollectionsGuarded);
            Assert.Equal(0, result.WindowsUnguarded);
            return task;
        }
    }

    [Fact]
    public void A_window_that_allocates_beyond_its_budget_is_counted_and_the_next_window_is_guarded_again()
    {
        using var windows = new CollectionWindows(exclusive: true);
        Assert.True(windows.Guarded);
        Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        int before = GC.CollectionCount(0);
        for (long allocated = 0; allocated < CollectionWindows.Budget + (32L << 20); allocated += 8192) GC.KeepAlive(new byte[8192]);
        Assert.True(GC.CollectionCount(0) > before);   // past the budget collections start again
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        windows.Next();
        Assert.Equal(1, windows.Unguarded);
        Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        windows.Next();
        Assert.Equal(1, windows.Unguarded);
        windows.Dispose();
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        windows.Dispose();   // twice is harmless
    }

    [Fact]
    public void The_garbage_of_a_guarded_window_is_collected_and_finalised_when_the_next_window_opens()
    {
        // A region's start collects only when the heap lacks room: the window's own collection is what frees TorchSharp's
        // Scalars (without it a Bernoulli-VAE cell grew by 1 MB per window).
        using var windows = new CollectionWindows(exclusive: true);
        var finalised = new StrongBox<bool>();
        LeaveGarbage(finalised);
        GC.WaitForPendingFinalizers();
        Assert.False(finalised.Value);   // no collection inside the window
        windows.Next();
        GC.WaitForPendingFinalizers();
        Assert.True(finalised.Value);
        Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);

        [MethodImpl(MethodImplOptions.NoInlining)]
        static void LeaveGarbage(StrongBox<bool> flag) => _ = new Finalisable(flag);
    }

    private sealed class Finalisable(StrongBox<bool> flag)
    {
        ~Finalisable() => flag.Value = true;
    }

    [Fact]
    public void In_a_shared_process_windows_only_collect_and_never_open_a_region()
    {
        using var windows = new CollectionWindows(exclusive: false);
        Assert.False(windows.Guarded);
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        int before = GC.CollectionCount(0);
        windows.Next();
        Assert.Equal(before + 1, GC.CollectionCount(0));
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.Equal(0, windows.Unguarded);
    }

    /// <summary>A thread that allocates 20 kB every so many microseconds until disposed (at 100: 200 MB/s, a collection
    /// every tenth of a second or so and 5 MB per window of 1 ms steps; at 1000, 20 MB/s, a few MB per window of the toy
    /// run's steps on a loaded machine, within the budget).</summary>
    private sealed class AllocatingThread : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private long _bytes;

        public AllocatingThread(int microseconds)
        {
            _thread = new Thread(() =>
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                for (long n = 1; !_stop.IsCancellationRequested; n++)
                {
                    GC.KeepAlive(new byte[20_000]);
                    Interlocked.Add(ref _bytes, 20_000);
                    while (clock.Elapsed.TotalMicroseconds < n * microseconds && !_stop.IsCancellationRequested) Thread.SpinWait(20);
                }
            }) { IsBackground = true };
            _thread.Start();
        }

        public long Megabytes => Interlocked.Read(ref _bytes) / 1_000_000;

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join();
            _stop.Dispose();
        }
    }

    /// <summary>The toy task, counting the steps during which a garbage collection happened.</summary>
    private sealed class CollectionCountingTask(ToyTask inner) : ITrainingTask
    {
        public ToyTask Inner => inner;
        public int StepsWithACollection { get; private set; }
        public string Name => inner.Name;
        public long TotalSteps => inner.TotalSteps;
        public nn.Module Model => inner.Model;
        public OptimizerHelper Optimizer => inner.Optimizer;
        public IReadOnlyList<Schedule> Schedules => inner.Schedules;
        public IReadOnlyList<Generator> Generators => inner.Generators;
        public EvaluationCadence Cadence => inner.Cadence;
        public IReadOnlyDictionary<string, string> Configuration => inner.Configuration;
        public IReadOnlyDictionary<string, double> Evaluate(long stepsDone) => inner.Evaluate(stepsDone);
        public void OnRestored(long stepsDone) => inner.OnRestored(stepsDone);

        public IReadOnlyDictionary<string, double> TrainStep(long step)
        {
            int before = GC.CollectionCount(0);
            var metrics = inner.TrainStep(step);
            if (GC.CollectionCount(0) != before) StepsWithACollection++;
            return metrics;
        }
    }
}
