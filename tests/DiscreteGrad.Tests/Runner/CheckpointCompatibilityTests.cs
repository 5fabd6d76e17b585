using DiscreteGrad.Experiments.Runner;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Runner;

/// <summary>
/// Checkpoints written before the nodes kept Tau and Beta as buffers lack their <c>tau</c> / <c>beta</c> entries: they
/// still resume, bit-identically (the schedules set the node again), while any other mismatch between the file and the
/// model is refused.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class CheckpointCompatibilityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-compat-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Rewrites the latest checkpoint's model file of <paramref name="run"/> with the entries chosen by <paramref name="edit"/>.</summary>
    private static void RewriteModel(string run, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> edit)
    {
        string path = Path.Combine(CheckpointStore.Latest(run)!, "model.bin");
        var holder = new ToyTask(0, 1).Model;
        holder.load(path);
        var entries = edit(holder.state_dict());
        using var w = new BinaryWriter(File.Create(path));
        nn.Module.save_state_dict(w, entries);
    }

    [Fact]
    public void A_checkpoint_without_the_node_buffers_resumes_bit_identically()
    {
        var straight = new ToyTask(7, 40);
        ExperimentRunner.Run(straight, new RunnerOptions(Path.Combine(_dir, "a"), LogEvery: 10, CheckpointEvery: 0, WriteReport: false));

        string b = Path.Combine(_dir, "b");
        ExperimentRunner.Run(new ToyTask(7, 40), new RunnerOptions(b, LogEvery: 10, CheckpointEvery: 0, WriteReport: false, StopAtStep: 23));
        RewriteModel(b, sd => sd.Where(kv => kv.Key is not ("z.tau" or "z.beta")).ToDictionary(kv => kv.Key, kv => kv.Value));
        var resumed = new ToyTask(7, 40);
        var rest = ExperimentRunner.Run(resumed, new RunnerOptions(b, LogEvery: 10, CheckpointEvery: 0, Resume: true, WriteReport: false));
        Assert.Equal(23, rest.StartStep);
        Assert.Equal(straight.Parameters(), resumed.Parameters());
    }

    [Fact]
    public void Any_other_mismatch_between_the_file_and_the_model_is_refused()
    {
        string c = Path.Combine(_dir, "c");
        ExperimentRunner.Run(new ToyTask(3, 20), new RunnerOptions(c, LogEvery: 10, CheckpointEvery: 0, WriteReport: false, StopAtStep: 10));
        RewriteModel(c, sd => sd.Where(kv => kv.Key != "enc.weight").ToDictionary(kv => kv.Key, kv => kv.Value));
        var missing = Assert.Throws<InvalidDataException>(() => CheckpointStore.TryRestore(new ToyTask(3, 20), c));
        Assert.Contains("missing from the file: [enc.weight]", missing.Message);

        string d = Path.Combine(_dir, "d");
        ExperimentRunner.Run(new ToyTask(3, 20), new RunnerOptions(d, LogEvery: 10, CheckpointEvery: 0, WriteReport: false, StopAtStep: 10));
        RewriteModel(d, sd => new Dictionary<string, Tensor>(sd) { ["extra.state"] = zeros(3) });
        var unexpected = Assert.Throws<InvalidDataException>(() => CheckpointStore.TryRestore(new ToyTask(3, 20), d));
        Assert.Contains("not in the model: [extra.state]", unexpected.Message);
    }
}
