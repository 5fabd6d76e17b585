using DiscreteGrad.Experiments.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace DiscreteGrad.Tests.Data;

/// <summary>The IDX reader on small files the tests write: exact round trip, tensor conversion, and every error path.</summary>
public class IdxReaderTests : IDisposable
{
    private readonly IdxTestData _d = new();

    public void Dispose() => _d.Dispose();

    private static readonly byte[] FiveLabels = { 3, 1, 4, 1, 5 };

    private (string Images, string Labels) WriteFive(bool gzip = false)
    {
        byte[] img = IdxTestData.ImagesBytes(5, 28, 28), lab = IdxTestData.LabelsBytes(FiveLabels);
        string s = gzip ? ".gz" : "";
        return (_d.Write("imgs" + s, gzip ? IdxTestData.Gzip(img) : img), _d.Write("labs" + s, gzip ? IdxTestData.Gzip(lab) : lab));
    }

    private static void AssertFive(LabeledImages data)
    {
        Assert.Equal(5, data.Count);
        Assert.Equal(5, data.Images.Count);
        Assert.Equal(28, data.Images.Rows);
        Assert.Equal(28, data.Images.Cols);
        Assert.Equal(IdxTestData.Pixels(5, 28, 28), data.Images.Pixels);
        Assert.Equal(FiveLabels, data.Labels);
        Assert.Equal(IdxTestData.Pixel(3, 10, 20), data.Images.Image(3)[10 * 28 + 20]);
    }

    [Fact]
    public void Round_trip_of_five_28x28_images_and_labels()
    {
        var (imgs, labs) = WriteFive();
        var data = IdxReader.Read(imgs, labs);
        AssertFive(data);
        Assert.Equal(new[] { 0, 2, 0, 1, 1, 1 }, data.LabelHistogram());

        float[] f = data.Images.ToSingles();
        Assert.Equal(data.Images.Pixels.Length, f.Length);
        for (int i = 0; i < f.Length; i++) Assert.Equal(data.Images.Pixels[i] / 255f, f[i]);
        Assert.Contains(f, v => v == 0f);
        Assert.Contains(f, v => v == 1f); // the pattern includes 255
    }

    [Fact]
    public void Gzipped_files_read_the_same()
    {
        var (imgs, labs) = WriteFive(gzip: true);
        Assert.Equal(0x1f, File.ReadAllBytes(imgs)[0]); // really gzipped on disk
        AssertFive(IdxReader.Read(imgs, labs));
    }

    [Fact]
    public void Tensors_have_the_documented_shape_type_scale_and_do_not_alias_the_arrays()
    {
        var (imgs, labs) = WriteFive();
        var data = IdxReader.Read(imgs, labs);
        var (x, y) = data.ToTensors();
        using (x)
        using (y)
        {
            Assert.Equal(new long[] { 5, 1, 28, 28 }, x.shape);
            Assert.Equal(ScalarType.Float32, x.dtype);
            Assert.Equal(new long[] { 5 }, y.shape);
            Assert.Equal(ScalarType.Int64, y.dtype);
            Assert.Equal(DeviceType.CPU, x.device_type);
            Assert.Equal(0f, x.min().item<float>());
            Assert.Equal(1f, x.max().item<float>());
            Assert.Equal(new long[] { 3, 1, 4, 1, 5 }, y.data<long>().ToArray());

            float[] xs = x.data<float>().ToArray();
            float[] expected = data.Images.ToSingles();
            Assert.Equal(expected.Length, xs.Length);
            for (int i = 0; i < xs.Length; i++) Assert.Equal(expected[i], xs[i]);
            // [i, 0, r, c] addresses image i, row r, column c.
            Assert.Equal(IdxTestData.Pixel(2, 5, 17) / 255f, x[2, 0, 5, 17].item<float>());

            data.Images.Pixels[0] = 77;
            data.Labels[0] = 9;
            Assert.Equal(expected[0], x[0, 0, 0, 0].item<float>());
            Assert.Equal(3L, y[0].item<long>());
        }
    }

    [Fact]
    public void Non_square_images_keep_row_major_layout()
    {
        string imgs = _d.Write("i", IdxTestData.ImagesBytes(3, 2, 5));
        var images = IdxReader.ReadImages(imgs);
        Assert.Equal((3, 2, 5), (images.Count, images.Rows, images.Cols));
        var (x, y) = new LabeledImages(images, new byte[] { 0, 1, 2 }).ToTensors();
        using (x)
        using (y)
        {
            Assert.Equal(new long[] { 3, 1, 2, 5 }, x.shape);
            for (int i = 0; i < 3; i++)
                for (int r = 0; r < 2; r++)
                    for (int c = 0; c < 5; c++)
                        Assert.Equal(IdxTestData.Pixel(i, r, c) / 255f, x[i, 0, r, c].item<float>());
        }
    }

    [Fact]
    public void Empty_dataset_is_valid()
    {
        var data = IdxReader.Read(_d.Write("i", IdxTestData.ImagesBytes(0, 28, 28)), _d.Write("l", IdxTestData.LabelsBytes(Array.Empty<byte>())));
        Assert.Equal(0, data.Count);
        Assert.Empty(data.LabelHistogram());
    }

    [Fact]
    public void Labels_file_given_as_images_reports_expected_magic_and_the_swap()
    {
        string labs = _d.Write("labs", IdxTestData.LabelsBytes(FiveLabels));
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(labs));
        Assert.Equal(labs, e.FilePath);
        Assert.Contains(labs, e.Message);
        Assert.Contains("expected 2051", e.Message);
        Assert.Contains("found 2049", e.Message);
        Assert.Contains("swapped", e.Message);
    }

    [Fact]
    public void Images_file_given_as_labels_reports_expected_magic()
    {
        string imgs = _d.Write("imgs", IdxTestData.ImagesBytes(1, 28, 28));
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(imgs));
        Assert.Contains("expected 2049", e.Message);
        Assert.Contains("found 2051", e.Message);
        Assert.Equal(imgs, e.FilePath);
    }

    [Fact]
    public void Html_instead_of_idx_is_a_wrong_magic_error()
    {
        string p = _d.Write("imgs", "<!DOCTYPE html><html>Not found</html>"u8.ToArray());
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(p));
        Assert.Contains("wrong magic number", e.Message);
        Assert.Contains("expected 2051", e.Message);
        Assert.Contains("not an IDX header", e.Message);
    }

    [Fact]
    public void Truncated_images_file_reports_expected_and_found_bytes()
    {
        byte[] full = IdxTestData.ImagesBytes(5, 28, 28);
        Assert.Equal(16 + 5 * 784, full.Length);
        string p = _d.Write("imgs", full[..(16 + 4 * 784 + 100)]);
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(p));
        Assert.Contains("truncated", e.Message);
        Assert.Contains($"expected {16 + 5 * 784} bytes", e.Message);
        Assert.Contains($"found {16 + 4 * 784 + 100}", e.Message);
        Assert.Contains(p, e.Message);
    }

    [Fact]
    public void Truncated_header_reports_header_size()
    {
        string p = _d.Write("imgs", IdxTestData.ImagesBytes(5, 28, 28)[..10]);
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(p));
        Assert.Contains("expected at least 16 bytes", e.Message);
        Assert.Contains("found 10", e.Message);

        string empty = _d.Write("empty", Array.Empty<byte>());
        var e2 = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(empty));
        Assert.Contains("found 0", e2.Message);
    }

    [Fact]
    public void Truncated_labels_file_reports_expected_and_found_bytes()
    {
        string p = _d.Write("labs", IdxTestData.LabelsBytes(new byte[] { 1, 2, 3 }, declaredCount: 5));
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(p));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("expected 13 bytes", e.Message);
        Assert.Contains("found 11", e.Message);
    }

    [Fact]
    public void Trailing_bytes_are_an_error()
    {
        string p = _d.Write("labs", IdxTestData.LabelsBytes(new byte[] { 1, 2, 3, 4 }, declaredCount: 3));
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadLabels(p));
        Assert.Contains("longer than its header declares", e.Message);
        Assert.Contains("expected 11 bytes", e.Message);
        Assert.Contains("found 12", e.Message);
    }

    [Fact]
    public void Negative_dimension_is_an_error()
    {
        var bytes = IdxTestData.ImagesBytes(1, 28, 28);
        bytes[8] = 0xFF; // rows = negative
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(_d.Write("imgs", bytes)));
        Assert.Contains("negative row count", e.Message);
    }

    [Fact]
    public void Label_count_not_matching_image_count_names_both_files_and_counts()
    {
        string imgs = _d.Write("imgs", IdxTestData.ImagesBytes(5, 28, 28));
        string labs = _d.Write("labs", IdxTestData.LabelsBytes(new byte[] { 1, 2, 3, 4 }));
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.Read(imgs, labs));
        Assert.Equal(labs, e.FilePath);
        Assert.Contains("4 labels", e.Message);
        Assert.Contains("5 images", e.Message);
        Assert.Contains(imgs, e.Message);
        Assert.Contains(labs, e.Message);
    }

    [Fact]
    public void Truncated_gzip_is_a_format_error()
    {
        byte[] gz = IdxTestData.Gzip(IdxTestData.ImagesBytes(5, 28, 28));
        string p = _d.Write("imgs.gz", gz[..(gz.Length / 2)]);
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(p));
        Assert.Equal(p, e.FilePath);
        Assert.True(e.Message.Contains("gzip") || e.Message.Contains("truncated"), e.Message);
    }

    [Fact]
    public void Corrupt_gzip_is_a_format_error()
    {
        string p = _d.Write("imgs.gz", new byte[] { 0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x11, 0x22, 0x33 });
        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(p));
        Assert.Contains("gzip", e.Message);
    }

    [Fact]
    public void Missing_file_is_a_data_error_naming_the_path()
    {
        string p = _d.PathOf("nope/train-images-idx3-ubyte");
        var e = Assert.Throws<MnistDataException>(() => IdxReader.ReadImages(p));
        Assert.IsNotType<IdxFormatException>(e);
        Assert.Equal(p, e.FilePath);
        Assert.Contains(p, e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void Unreadable_path_is_a_data_error()
    {
        string dir = _d.PathOf("a-directory");
        Directory.CreateDirectory(dir);
        var e = Assert.Throws<MnistDataException>(() => IdxReader.ReadLabels(dir));
        Assert.Equal(dir, e.FilePath);
        Assert.Contains("cannot be read", e.Message);
        Assert.NotNull(e.InnerException);
    }
}
