namespace DiscreteGrad.Experiments.Runner;

/// <summary>
/// <c>--resume</c> under settings that differ from those the checkpoint was written with. The message names each key
/// with its old and new value and the option that allows it (<c>--resume-override KEY,...</c>).
/// </summary>
public sealed class ConfigurationMismatchException(string run, IReadOnlyList<(string Key, string? Saved, string? Current)> differences)
    : ArgumentException(
        $"--resume: run '{run}' was started with other settings: " +
        string.Join("; ", differences.Select(d => $"{d.Key} {d.Saved ?? "(unset)"} -> {d.Current ?? "(unset)"}")) +
        $". Resume with the original settings, use another --out, or allow the change with --resume-override {string.Join(",", differences.Select(d => d.Key))}.",
        "--resume")
{
    /// <summary>The differing keys, with the checkpoint's and the current value.</summary>
    public IReadOnlyList<(string Key, string? Saved, string? Current)> Differences { get; } = differences;

    /// <inheritdoc />
    public override string Message => base.Message.Split(" (Parameter '")[0];
}
