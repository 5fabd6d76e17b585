namespace DiscreteGrad.Experiments.Data;

/// <summary>The MNIST folder setting of the experiments: "default" stands for the search path of <see cref="MnistSource"/>.</summary>
public static class MnistFolder
{
    /// <summary>The word for "no folder given": <c>$DISCRETEGRAD_DATA/mnist</c>, else the MNIST cache (fetched when missing).</summary>
    public const string Default = "default";

    /// <summary>Loads MNIST from <paramref name="folder"/> (or the default search path), logging downloads to <paramref name="log"/>.</summary>
    public static MnistDataset Load(string folder, Action<string> log) =>
        MnistSource.Load(new MnistOptions { DataDirectory = folder == Default ? null : folder, Log = log });
}
