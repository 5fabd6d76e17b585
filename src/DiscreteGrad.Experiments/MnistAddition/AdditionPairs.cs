using DiscreteGrad.Experiments.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.MnistAddition;

/// <summary>
/// The examples of MNIST addition: index tuples into the MNIST images (train tuples from the training set, test tuples from
/// the test set), drawn once from the seed: without replacement when N x count fits in the set (2 x 30k train, 2 x 5k test),
/// with replacement otherwise.
/// </summary>
public sealed class AdditionPairs : IDisposable
{
    /// <summary>Builds the tuples; the image tensors live on <paramref name="device"/>.</summary>
    public AdditionPairs(MnistDataset mnist, MnistAdditionConfig config, Device device)
    {
        (TrainImages, TrainLabels) = mnist.Train.ToTensors(device);
        (TestImages, TestLabels) = mnist.Test.ToTensors(device);
        var gen = new Generator((ulong)(config.Seed * 1_000_003L + 7));
        TrainIndex = Draw(TrainImages.shape[0], config.TrainPairs, config.Digits, gen).to(device);
        TestIndex = Draw(TestImages.shape[0], config.TestPairs, config.Digits, gen).to(device);
    }

    /// <summary>Training images [60000, 1, 28, 28] in [0, 1].</summary>
    public Tensor TrainImages { get; }
    /// <summary>Training digit labels [60000] (used only for the sums and for diagnostics, never as supervision of the node).</summary>
    public Tensor TrainLabels { get; }
    /// <summary>Test images.</summary>
    public Tensor TestImages { get; }
    /// <summary>Test digit labels.</summary>
    public Tensor TestLabels { get; }
    /// <summary>Training tuples [TrainPairs, N] of image indices.</summary>
    public Tensor TrainIndex { get; }
    /// <summary>Test tuples [TestPairs, N].</summary>
    public Tensor TestIndex { get; }

    /// <summary>Draws <paramref name="count"/> tuples of <paramref name="digits"/> indices below <paramref name="n"/>.</summary>
    public static Tensor Draw(long n, long count, int digits, Generator gen)
    {
        if (count * digits <= n) return torch.randperm(n, generator: gen).narrow(0, 0, count * digits).view(count, digits);
        return torch.randint(0, n, new long[] { count, digits }, generator: gen);
    }

    /// <summary>Images [B, N, 1, 28, 28], digit labels [B, N] and sums [B] of the tuples <paramref name="index"/> [B, N].</summary>
    public static (Tensor Images, Tensor Digits, Tensor Sums) Gather(Tensor images, Tensor labels, Tensor index)
    {
        using var scope = torch.NewDisposeScope();
        long b = index.shape[0], n = index.shape[1];
        var flat = index.reshape(-1);
        var x = images.index_select(0, flat).view(b, n, 1, 28, 28);
        var d = labels.index_select(0, flat).view(b, n);
        var s = d.sum(1);
        return (scope.MoveToOuter(x), scope.MoveToOuter(d), scope.MoveToOuter(s));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        TrainImages.Dispose(); TrainLabels.Dispose(); TestImages.Dispose(); TestLabels.Dispose();
        TrainIndex.Dispose(); TestIndex.Dispose();
    }
}
