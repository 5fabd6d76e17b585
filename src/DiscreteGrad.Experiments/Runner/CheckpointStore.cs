using System.Text.Json;
using DiscreteGrad.Layers;
using DiscreteGrad.Schedules;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Runner;

/// <summary>What a checkpoint records besides the model and optimiser files.</summary>
/// <param name="Run">The task's name.</param>
/// <param name="Step">Steps done.</param>
/// <param name="Schedules">Schedule states, in the task's order.</param>
/// <param name="Generators">Generator states (base64 of the state bytes), in the task's order.</param>
/// <param name="LogWindow">The runner's running sums of the training metrics not yet logged, and how many steps they hold,
/// so that a resumed run logs the same averages as an uninterrupted one.</param>
/// <param name="LogWindowCount">Number of steps in <paramref name="LogWindow"/>.</param>
/// <param name="Settings">The run's configuration fingerprint (setting -> canonical text) when it was written.</param>
public sealed record CheckpointState(string Run, long Step, List<ScheduleState> Schedules, List<string> Generators,
    Dictionary<string, double>? LogWindow = null, long LogWindowCount = 0, Dictionary<string, string>? Settings = null);

/// <summary>
/// Checkpoints of a run, written atomically: a checkpoint is written into a temporary folder, each file flushed to disk,
/// the folder renamed to <c>checkpoints/step-NNNNNNNNN</c>, and only then the pointer file <c>latest-checkpoint.json</c>
/// replaced by a rename. A crash at any point leaves the previous checkpoint intact and pointed to. The newest two are kept.
/// </summary>
public static class CheckpointStore
{
    /// <summary>Name of the pointer file in the run folder.</summary>
    public const string PointerFile = "latest-checkpoint.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes a checkpoint of <paramref name="task"/> after <paramref name="step"/> steps; returns its folder.</summary>
    public static string Save(ITrainingTask task, string runDirectory, long step, Dictionary<string, double>? logWindow = null, long logWindowCount = 0,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        string root = Path.Combine(runDirectory, "checkpoints");
        Directory.CreateDirectory(root);
        string final = Path.Combine(root, $"step-{step:D9}");
        string tmp = final + ".tmp";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        task.Model.save(Path.Combine(tmp, "model.bin"));
        task.Optimizer.save_state_dict(Path.Combine(tmp, "optimizer.bin"));
        var extra = task.GetExtraState();
        if (extra.Count > 0)
        {
            using var w = new BinaryWriter(File.Create(Path.Combine(tmp, "extra.bin")));
            w.Write(extra.Count);
            foreach (var (name, t) in extra.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                w.Write(name);
                t.Save(w);
            }
        }
        var state = new CheckpointState(task.Name, step,
            task.Schedules.Select(s => s.GetState()).ToList(),
            task.Generators.Select(g => Convert.ToBase64String(StateBytes(g))).ToList(), logWindow, logWindowCount,
            settings?.ToDictionary(kv => kv.Key, kv => kv.Value));
        File.WriteAllText(Path.Combine(tmp, "state.json"), JsonSerializer.Serialize(state, Json));
        foreach (var f in Directory.GetFiles(tmp)) FlushToDisk(f);
        if (Directory.Exists(final)) Directory.Delete(final, true);
        Directory.Move(tmp, final);
        string pointer = Path.Combine(runDirectory, PointerFile);
        File.WriteAllText(pointer + ".tmp", JsonSerializer.Serialize(new { checkpoint = Path.GetFileName(final), step }));
        FlushToDisk(pointer + ".tmp");
        File.Move(pointer + ".tmp", pointer, overwrite: true);
        foreach (var old in Directory.GetDirectories(root, "step-*").Where(d => !d.EndsWith(".tmp", StringComparison.Ordinal))
                     .OrderByDescending(d => d, StringComparer.Ordinal).Skip(2))
            Directory.Delete(old, true);
        return final;
    }

    /// <summary>The folder of the latest complete checkpoint of a run, or null.</summary>
    public static string? Latest(string runDirectory)
    {
        string pointer = Path.Combine(runDirectory, PointerFile);
        if (!File.Exists(pointer)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(pointer));
        string name = doc.RootElement.GetProperty("checkpoint").GetString()
            ?? throw new InvalidDataException($"{pointer} names no checkpoint.");
        string dir = Path.Combine(runDirectory, "checkpoints", name);
        if (!Directory.Exists(dir)) throw new InvalidDataException($"{pointer} points to {dir}, which does not exist.");
        return dir;
    }

    /// <summary>Restores the task from the latest checkpoint; returns the steps done, or null when there is none.</summary>
    public static long? TryRestore(ITrainingTask task, string runDirectory) => TryRestoreState(task, runDirectory)?.Step;

    /// <summary>The state record of the latest checkpoint (without restoring anything), or null when there is none.</summary>
    public static CheckpointState? PeekState(string runDirectory)
    {
        string? dir = Latest(runDirectory);
        if (dir is null) return null;
        return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(Path.Combine(dir, "state.json")))
            ?? throw new InvalidDataException($"{dir}/state.json is empty.");
    }

    /// <summary>Restores the task from the latest checkpoint and returns the checkpoint's state, or null when there is none.</summary>
    public static CheckpointState? TryRestoreState(ITrainingTask task, string runDirectory)
    {
        string? dir = Latest(runDirectory);
        if (dir is null) return null;
        var state = PeekState(runDirectory)!;
        if (state.Run != task.Name)
            throw new InvalidDataException($"checkpoint {dir} belongs to run '{state.Run}', not '{task.Name}'.");
        if (state.Schedules.Count != task.Schedules.Count || state.Generators.Count != task.Generators.Count)
            throw new InvalidDataException($"checkpoint {dir} has {state.Schedules.Count} schedules and {state.Generators.Count} generators; the task has {task.Schedules.Count} and {task.Generators.Count}.");
        LoadModel(task.Model, Path.Combine(dir, "model.bin"), dir);
        task.Optimizer.load_state_dict(Path.Combine(dir, "optimizer.bin"));
        for (int i = 0; i < state.Schedules.Count; i++) task.Schedules[i].LoadState(state.Schedules[i]);
        for (int i = 0; i < state.Generators.Count; i++)
        {
            using var t = torch.tensor(Convert.FromBase64String(state.Generators[i]), dtype: ScalarType.Byte);
            task.Generators[i].set_state(t);
        }
        string extraPath = Path.Combine(dir, "extra.bin");
        if (File.Exists(extraPath))
        {
            using var r = new BinaryReader(File.OpenRead(extraPath));
            int n = r.ReadInt32();
            var extra = new Dictionary<string, Tensor>();
            for (int i = 0; i < n; i++)
            {
                string name = r.ReadString();
                extra[name] = TensorExtensionMethods.Load(r);
            }
            task.SetExtraState(extra);
        }
        task.OnRestored(state.Step);
        return state;
    }

    /// <summary>
    /// Loads the model's parameters and buffers: every entry of the file must belong to the model and every entry of the
    /// model must be in the file, except the <c>tau</c> and <c>beta</c> buffers of its stochastic nodes, which checkpoints
    /// written before the nodes kept them as buffers lack. Such a node keeps the values it was built with, and the task's
    /// schedules set them again in <see cref="ITrainingTask.OnRestored"/>, as they did when those checkpoints were written.
    /// </summary>
    internal static void LoadModel(nn.Module model, string path, string checkpoint)
    {
        var found = new Dictionary<string, bool>();
        model.load(path, strict: false, loadedParameters: found);
        var nodeState = model.named_modules().Where(m => m.module is StochasticNode)
            .SelectMany(m => new[] { $"{m.name}.tau", $"{m.name}.beta" }).ToHashSet(StringComparer.Ordinal);
        var unexpected = found.Where(kv => !kv.Value).Select(kv => kv.Key).ToList();
        var missing = model.state_dict().Keys.Where(k => !found.ContainsKey(k) && !nodeState.Contains(k)).ToList();
        if (unexpected.Count > 0 || missing.Count > 0)
            throw new InvalidDataException(
                $"checkpoint {checkpoint}: the model file does not match the model (not in the model: [{string.Join(", ", unexpected)}]; missing from the file: [{string.Join(", ", missing)}]).");
    }

    /// <summary>
    /// Whether every parameter and buffer of the model and every tensor of the optimiser's state is finite: a checkpoint
    /// is only worth keeping when a resume from it can continue (a diverged update leaves NaN in the weights or moments).
    /// </summary>
    public static bool IsFinite(ITrainingTask task)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var p in task.Model.parameters()) if (!AllFinite(p)) return false;
        foreach (var b in task.Model.buffers()) if (b.is_floating_point() && !AllFinite(b)) return false;
        const System.Reflection.BindingFlags Public = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance;
        foreach (var st in task.Optimizer.state_dict().State)
        {
            // Optimiser states keep their moments as public fields (TorchSharp's) or properties (ours).
            var values = st.GetType().GetFields(Public).Select(f => f.GetValue(st))
                .Concat(st.GetType().GetProperties(Public).Where(p => p.PropertyType == typeof(Tensor) && p.GetIndexParameters().Length == 0).Select(p => p.GetValue(st)));
            foreach (var v in values)
                if (v is Tensor t && t.is_floating_point() && !AllFinite(t)) return false;
        }
        return true;
    }

    private static bool AllFinite(Tensor t) => t.numel() == 0 || torch.isfinite(t).all().item<bool>();

    private static byte[] StateBytes(Generator g)
    {
        using var s = g.get_state();
        return s.data<byte>().ToArray();
    }

    private static void FlushToDisk(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        fs.Flush(true);
    }
}
