using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace DiscreteGrad.Experiments.Data;

/// <summary>
/// Images read from an IDX file (magic number 2051): <see cref="Count"/> images of <see cref="Rows"/> x
/// <see cref="Cols"/> unsigned bytes, stored row-major, image after image, exactly as in the file (0 = background,
/// 255 = full ink for MNIST).
/// </summary>
public sealed class IdxImages
{
    /// <summary>Wraps pixel data; <paramref name="pixels"/> must hold exactly count * rows * cols bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative dimension.</exception>
    /// <exception cref="ArgumentException">The pixel array has the wrong length.</exception>
    public IdxImages(byte[] pixels, int count, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        long expected = (long)count * rows * cols;
        if (pixels.LongLength != expected)
            throw new ArgumentException(
                $"pixels must hold count * rows * cols = {count} * {rows} * {cols} = {expected} bytes (got {pixels.LongLength}).",
                nameof(pixels));
        Pixels = pixels;
        Count = count;
        Rows = rows;
        Cols = cols;
    }

    /// <summary>The raw pixels, <see cref="Count"/> * <see cref="Rows"/> * <see cref="Cols"/> bytes, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Rows per image (28 for MNIST).</summary>
    public int Rows { get; }

    /// <summary>Columns per image (28 for MNIST).</summary>
    public int Cols { get; }

    /// <summary>Pixels per image, <see cref="Rows"/> * <see cref="Cols"/>.</summary>
    public int PixelsPerImage => Rows * Cols;

    /// <summary>The pixels of image <paramref name="index"/> (row-major, a view into <see cref="Pixels"/>).</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return Pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
    }

    /// <summary>All pixels as floats scaled to [0, 1] (byte / 255), same layout as <see cref="Pixels"/>.</summary>
    public float[] ToSingles()
    {
        var result = new float[Pixels.Length];
        for (int i = 0; i < result.Length; i++) result[i] = Pixels[i] / 255f;
        return result;
    }
}

/// <summary>
/// Images and their labels, checked to have the same count. <see cref="ToTensors"/> turns them into the tensors the
/// experiments use.
/// </summary>
public sealed class LabeledImages
{
    /// <summary>Pairs images with labels.</summary>
    /// <exception cref="ArgumentException">The label count differs from the image count.</exception>
    public LabeledImages(IdxImages images, byte[] labels)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length != images.Count)
            throw new ArgumentException($"labels must hold one entry per image ({images.Count}), got {labels.Length}.", nameof(labels));
        Images = images;
        Labels = labels;
    }

    /// <summary>The images.</summary>
    public IdxImages Images { get; }

    /// <summary>One label per image (0-9 for MNIST).</summary>
    public byte[] Labels { get; }

    /// <summary>Number of examples.</summary>
    public int Count => Images.Count;

    /// <summary>How many examples carry each label value: index v holds the count of label v (length = max label + 1).</summary>
    public int[] LabelHistogram()
    {
        int max = Labels.Length == 0 ? -1 : Labels.Max();
        var counts = new int[max + 1];
        foreach (byte l in Labels) counts[l]++;
        return counts;
    }

    /// <summary>
    /// Copies the data into new tensors on <paramref name="device"/> (CPU when null): images float32
    /// [N, 1, Rows, Cols] scaled to [0, 1], labels int64 [N]. The tensors own their memory (they do not alias
    /// <see cref="IdxImages.Pixels"/> or <see cref="Labels"/>); the caller disposes them.
    /// </summary>
    public (Tensor Images, Tensor Labels) ToTensors(Device? device = null)
    {
        device ??= CPU;
        Tensor? images = null;
        try
        {
            // Bytes travel to the device (4x less than floats) and are converted there.
            using (var raw = torch.tensor(Images.Pixels, new long[] { Count, 1, Images.Rows, Images.Cols }, ScalarType.Byte, device))
                images = raw.to_type(ScalarType.Float32).div_(255f);
            using var rawLabels = torch.tensor(Labels, new long[] { Count }, ScalarType.Byte, device);
            var labels = rawLabels.to_type(ScalarType.Int64);
            return (images, labels);
        }
        catch
        {
            images?.Dispose();
            throw;
        }
    }
}

/// <summary>
/// Reader for the IDX format of the original MNIST distribution: a big-endian header (magic number, then one int32 per
/// dimension) followed by unsigned bytes. Files whose content starts with the gzip signature (1f 8b), such as the
/// <c>*.gz</c> files of the original distribution, are decompressed transparently. Every problem is reported as a
/// <see cref="MnistDataException"/> naming the file: <see cref="IdxFormatException"/> for bad content (wrong magic
/// number with the expected one, truncation with the expected and found byte counts, trailing bytes, count mismatch),
/// the base type for files that are missing or cannot be read.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an IDX file of unsigned bytes with 3 dimensions (images): 0x00000803.</summary>
    public const int ImagesMagic = 2051;

    /// <summary>Magic number of an IDX file of unsigned bytes with 1 dimension (labels): 0x00000801.</summary>
    public const int LabelsMagic = 2049;

    /// <summary>Header size of an images file: magic, count, rows, cols.</summary>
    public const int ImagesHeaderBytes = 16;

    /// <summary>Header size of a labels file: magic, count.</summary>
    public const int LabelsHeaderBytes = 8;

    /// <summary>Reads an images file (magic 2051).</summary>
    /// <exception cref="IdxFormatException">Wrong magic, truncated or over-long content, corrupt gzip.</exception>
    /// <exception cref="MnistDataException">The file is missing or cannot be read.</exception>
    public static IdxImages ReadImages(string path)
    {
        byte[] data = ReadContent(path, out bool gz);
        CheckMagic(path, data, gz, ImagesMagic, "images");
        RequireLength(path, data, ImagesHeaderBytes, gz, "the 16-byte header (magic, count, rows, cols)");
        int count = Dimension(path, data, 4, "image count");
        int rows = Dimension(path, data, 8, "row count");
        int cols = Dimension(path, data, 12, "column count");
        long body = (long)count * rows * cols;
        ExactLength(path, data, ImagesHeaderBytes + body, gz,
            $"16-byte header + {count} images x {rows} x {cols} pixels");
        if (body > Array.MaxLength)
            throw new IdxFormatException(path, $"IDX images file '{path}' declares {body} pixels, more than one array can hold.");
        var pixels = data.AsSpan(ImagesHeaderBytes, (int)body).ToArray();
        return new IdxImages(pixels, count, rows, cols);
    }

    /// <summary>Reads a labels file (magic 2049) and returns one byte per label.</summary>
    /// <exception cref="IdxFormatException">Wrong magic, truncated or over-long content, corrupt gzip.</exception>
    /// <exception cref="MnistDataException">The file is missing or cannot be read.</exception>
    public static byte[] ReadLabels(string path)
    {
        byte[] data = ReadContent(path, out bool gz);
        CheckMagic(path, data, gz, LabelsMagic, "labels");
        RequireLength(path, data, LabelsHeaderBytes, gz, "the 8-byte header (magic, count)");
        int count = Dimension(path, data, 4, "label count");
        ExactLength(path, data, LabelsHeaderBytes + (long)count, gz, $"8-byte header + {count} labels");
        return data.AsSpan(LabelsHeaderBytes, count).ToArray();
    }

    /// <summary>Reads an images file and its labels file and checks that they hold the same number of entries.</summary>
    /// <exception cref="IdxFormatException">Either file is malformed, or the counts differ (reported on the labels file).</exception>
    /// <exception cref="MnistDataException">A file is missing or cannot be read.</exception>
    public static LabeledImages Read(string imagesPath, string labelsPath)
    {
        var images = ReadImages(imagesPath);
        var labels = ReadLabels(labelsPath);
        if (labels.Length != images.Count)
            throw new IdxFormatException(labelsPath,
                $"Label count does not match image count: '{labelsPath}' holds {labels.Length} labels but '{imagesPath}' holds {images.Count} images.");
        return new LabeledImages(images, labels);
    }

    /// <summary>
    /// The IDX content of a file: its bytes, gunzipped when they start with the gzip signature. Used by the reader and
    /// by checksum verification, so a gzipped copy of a canonical file verifies like the plain one.
    /// </summary>
    /// <exception cref="IdxFormatException">The gzip stream is corrupt.</exception>
    /// <exception cref="MnistDataException">The file is missing or cannot be read.</exception>
    public static byte[] ReadContent(string path) => ReadContent(path, out _);

    private static byte[] ReadContent(string path, out bool gzipped)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MnistDataException(path, $"IDX file '{path}' does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            throw new MnistDataException(path, $"IDX file '{path}' cannot be read: {e.Message}", e);
        }

        gzipped = raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
        if (!gzipped) return raw;
        try
        {
            using var input = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var output = new MemoryStream(raw.Length * 4);
            input.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException(path, $"IDX file '{path}' starts with the gzip signature but is not a valid gzip stream: {e.Message}", e);
        }
    }

    private static void CheckMagic(string path, byte[] data, bool gz, int expected, string kind)
    {
        if (data.Length < 4)
            throw new IdxFormatException(path,
                $"IDX {kind} file '{path}' is truncated: expected at least 4 bytes for the magic number, found {data.Length}{GzNote(gz)}.");
        int magic = BinaryPrimitives.ReadInt32BigEndian(data);
        if (magic == expected) return;
        string hint = magic switch
        {
            ImagesMagic => " (that is the magic number of an images file: were the images and labels files swapped?)",
            LabelsMagic => " (that is the magic number of a labels file: were the images and labels files swapped?)",
            _ when (magic & unchecked((int)0xFFFF0000)) == 0 =>
                $" (an IDX header with data type 0x{(magic >> 8) & 0xFF:X2} and {magic & 0xFF} dimensions)",
            _ => " (not an IDX header; the file may be corrupt, HTML from a failed download, or not MNIST at all)",
        };
        string expectedText = expected == ImagesMagic
            ? "2051 (0x00000803: unsigned bytes, 3 dimensions)"
            : "2049 (0x00000801: unsigned bytes, 1 dimension)";
        throw new IdxFormatException(path,
            $"IDX {kind} file '{path}' has the wrong magic number: expected {expectedText}, found {magic} (0x{magic:X8}){hint}.");
    }

    private static void RequireLength(string path, byte[] data, long needed, bool gz, string what)
    {
        if (data.Length < needed)
            throw new IdxFormatException(path,
                $"IDX file '{path}' is truncated: expected at least {needed} bytes for {what}, found {data.Length}{GzNote(gz)}.");
    }

    private static void ExactLength(string path, byte[] data, long expected, bool gz, string what)
    {
        if (data.Length < expected)
            throw new IdxFormatException(path,
                $"IDX file '{path}' is truncated: expected {expected} bytes ({what}), found {data.Length}{GzNote(gz)}.");
        if (data.Length > expected)
            throw new IdxFormatException(path,
                $"IDX file '{path}' is longer than its header declares: expected {expected} bytes ({what}), found {data.Length}{GzNote(gz)}.");
    }

    private static int Dimension(string path, byte[] data, int offset, string what)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset));
        if (value < 0)
            throw new IdxFormatException(path, $"IDX file '{path}' declares a negative {what} ({value}).");
        return value;
    }

    private static string GzNote(bool gz) => gz ? " after gunzip (the gzip stream may be truncated or corrupt)" : "";
}
