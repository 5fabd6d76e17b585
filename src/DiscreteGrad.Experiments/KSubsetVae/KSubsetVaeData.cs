using DiscreteGrad.Experiments.Data;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.KSubsetVae;

/// <summary>MNIST images flattened to [n, 784], grey levels byte / 255 in [0, 1] (not binarised, as the reference's ToTensor()).</summary>
public sealed class KSubsetVaeData : IDisposable
{
    /// <summary>The first <see cref="KSubsetVaeConfig.TrainExamples"/> training and <see cref="KSubsetVaeConfig.TestExamples"/> test images.</summary>
    public KSubsetVaeData(MnistDataset mnist, KSubsetVaeConfig config, Device device)
    {
        ArgumentNullException.ThrowIfNull(mnist);
        ArgumentNullException.ThrowIfNull(config);
        if (config.TrainExamples > mnist.Train.Count)
            throw new ArgumentException($"--train-examples must be at most {mnist.Train.Count}, the images of the MNIST training set (got {config.TrainExamples}).", "--train-examples");
        if (config.TestExamples > mnist.Test.Count)
            throw new ArgumentException($"--test-examples must be at most {mnist.Test.Count}, the images of the MNIST test set (got {config.TestExamples}).", "--test-examples");
        Train = Flatten(mnist.Train, config.TrainExamples, device);
        Test = Flatten(mnist.Test, config.TestExamples, device);
    }

    /// <summary>Training images [n, 784].</summary>
    public Tensor Train { get; }
    /// <summary>Test images [n, 784].</summary>
    public Tensor Test { get; }

    private static Tensor Flatten(LabeledImages images, int count, Device device)
    {
        var (x, labels) = images.ToTensors(device);
        labels.Dispose();
        using (x)
            return x.reshape(x.shape[0], -1).narrow(0, 0, count).clone();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}
