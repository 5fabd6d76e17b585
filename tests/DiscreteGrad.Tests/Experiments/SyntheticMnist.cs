using DiscreteGrad.Experiments.Data;
using DiscreteGrad.Tests.Data;

namespace DiscreteGrad.Tests.Experiments;

/// <summary>
/// Synthetic 28 x 28 "digits" for the MNIST experiments' tests: digit d lights a 4 x 4 block at a position of its own, on
/// seeded noise. In memory (<see cref="Dataset"/>) or as the four IDX files of an MNIST folder (<see cref="WriteFolder"/>),
/// so a grid's cells can load them through their --data setting.
/// </summary>
internal static class SyntheticMnist
{
    /// <summary>Pixels [count * 784] and labels of <paramref name="count"/> images drawn from <paramref name="seed"/>.</summary>
    public static (byte[] Pixels, byte[] Labels) Digits(int count, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[count * 784];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int d = rng.Next(10);
            labels[i] = (byte)d;
            for (int p = 0; p < 784; p++) pixels[i * 784 + p] = (byte)rng.Next(40);
            int r0 = 2 + (d / 5) * 12, c0 = 2 + (d % 5) * 5;
            for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) pixels[i * 784 + (r0 + r) * 28 + c0 + c] = 250;
        }
        return (pixels, labels);
    }

    /// <summary>The images as labelled images.</summary>
    public static LabeledImages Images(int count, int seed)
    {
        var (pixels, labels) = Digits(count, seed);
        return new LabeledImages(new IdxImages(pixels, count, 28, 28), labels);
    }

    /// <summary>A dataset of <paramref name="train"/> training and <paramref name="test"/> test images, in memory.</summary>
    public static MnistDataset Dataset(int train = 600, int test = 200)
    {
        var loc = new MnistLocation("/synthetic", MnistLocationSource.Option);
        return new MnistDataset(Images(train, 1), Images(test, 2), new MnistFiles(loc, "a", "b", "c", "d"));
    }

    /// <summary>Writes the same images as <see cref="Dataset"/> as the four MNIST IDX files into <paramref name="folder"/>.</summary>
    public static string WriteFolder(string folder, int train = 600, int test = 200)
    {
        Directory.CreateDirectory(folder);
        foreach (var (name, count, seed) in new[] { ("train", train, 1), ("t10k", test, 2) })
        {
            var (pixels, labels) = Digits(count, seed);
            File.WriteAllBytes(Path.Combine(folder, $"{name}-images-idx3-ubyte"), IdxTestData.ImagesBytes(count, 28, 28, pixels));
            File.WriteAllBytes(Path.Combine(folder, $"{name}-labels-idx1-ubyte"), IdxTestData.LabelsBytes(labels));
        }
        return folder;
    }
}
