using System.Diagnostics;

namespace DiscreteGrad.Tests.Build;

/// <summary>
/// ./discretegrad on a copy of this checkout: it builds only when the inputs changed, two concurrent calls never build
/// at once (the second waits and then just runs), and a rebuild leaves the patched libLibTorchSharp.so alone. Each test
/// builds the CLI in the copy (incrementally; about 10-15 s per build on 2 idle cores).
/// </summary>
public sealed class LauncherTests : IDisposable
{
    private readonly string _copy = Directory.CreateTempSubdirectory("dg-launcher-").FullName;

    public void Dispose() => Directory.Delete(_copy, true);

    private static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir != null && !(File.Exists(Path.Combine(dir, "discretegrad")) && File.Exists(Path.Combine(dir, "DiscreteGrad.sln"))))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException($"no checkout (discretegrad + DiscreteGrad.sln) above {AppContext.BaseDirectory}");
    }

    /// <summary>
    /// Copies what the CLI build reads (the launcher, root build files, build/, src/ with its bin and obj), keeping
    /// mtimes and permissions. Files over 1 MiB in bin folders (libtorch and friends, 600 MB) become symbolic links to the
    /// originals; the build never writes them (the stock Copy skips them as unchanged, and would unlink before writing).
    /// libLibTorchSharp.so is copied for real: it is what the compatibility step must not rewrite. The launcher's own
    /// state (stamp, lock, log) is not copied.
    /// </summary>
    private static void CopyCheckout(string from, string to)
    {
        foreach (var name in new[] { "discretegrad", "Directory.Build.props", "Directory.Build.targets", "global.json", "NuGet.Config", "nuget.config" })
            if (File.Exists(Path.Combine(from, name))) CopyFile(Path.Combine(from, name), Path.Combine(to, name));
        foreach (var top in new[] { "build", "src" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(from, top), "*", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(from, file);
                if (Path.GetFileName(file).StartsWith("discretegrad-launcher", StringComparison.Ordinal)) continue;
                string dest = Path.Combine(to, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                bool inBin = rel.Split(Path.DirectorySeparatorChar).Contains("bin");
                if (inBin && new FileInfo(file).Length > (1 << 20) && Path.GetFileName(file) != "libLibTorchSharp.so")
                    File.CreateSymbolicLink(dest, file);
                else
                    CopyFile(file, dest);
            }
        }
    }

    private static void CopyFile(string from, string to)
    {
        File.Copy(from, to);
        File.SetLastWriteTimeUtc(to, File.GetLastWriteTimeUtc(from));
    }

    private sealed record Run(int ExitCode, string Stdout, string Stderr, DateTime ExitedUtc)
    {
        public bool Built => Stderr.Contains("discretegrad: building", StringComparison.Ordinal);
    }

    private Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(_copy, "discretegrad"), args)
        {
            WorkingDirectory = _copy, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
        };
        // Not the outer dotnet test's MSBuild settings: the launcher's build must stand on its own.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            psi.Environment.Remove(key);
        var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start ./discretegrad");
        p.StandardInput.Close();
        return p;
    }

    private static async Task<Run> Finish(Process p)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await p.WaitForExitAsync(timeout.Token);
        var exited = DateTime.UtcNow;
        var run = new Run(p.ExitCode, await stdout, await stderr, exited);
        p.Dispose();
        return run;
    }

    private static void AssertHelp(Run r)
    {
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\nstdout:\n{r.Stdout}\nstderr:\n{r.Stderr}");
        Assert.Contains("mnist-addition", r.Stdout);
        Assert.Contains("imle-gradients", r.Stdout);
    }

    [Fact]
    public async Task Builds_once_when_a_source_changed_even_with_two_calls_at_once_and_not_again_after()
    {
        CopyCheckout(RepositoryRoot(), _copy);
        string native = Path.Combine(_copy, "src", "DiscreteGrad.Cli", "bin", "Release", "net10.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        string stamp = Path.Combine(_copy, "src", "DiscreteGrad.Cli", "obj", "discretegrad-launcher.stamp");
        FileIdentity? nativeCopied = File.Exists(native) ? FileIdentity.Of(native) : null;

        // First call: no build recorded by the launcher in this copy, so it builds.
        var first = await Finish(Start("--help"));
        AssertHelp(first);
        Assert.True(first.Built, first.Stderr);
        Assert.True(File.Exists(stamp));
        var nativeAfterFirst = FileIdentity.Of(native);
        if (nativeCopied is { } copied) Assert.Equal(copied, nativeAfterFirst); // already patched: not rewritten

        // Nothing changed: runs the built binary, no build, stamp untouched.
        var stampBefore = FileIdentity.Of(stamp);
        var quiet = await Finish(Start("--help"));
        AssertHelp(quiet);
        Assert.False(quiet.Built, quiet.Stderr);
        Assert.Equal("", quiet.Stderr);
        Assert.Equal(stampBefore, FileIdentity.Of(stamp));

        // A source file changes; two calls start at once: exactly one builds, the other waits for it and runs.
        File.AppendAllText(Path.Combine(_copy, "src", "DiscreteGrad.Cli", "Program.cs"), "\n// edited by LauncherTests\n");
        var a = Start("--help");
        var b = Start("--help");
        var runs = await Task.WhenAll(Finish(a), Finish(b));
        foreach (var r in runs) AssertHelp(r);
        Assert.Equal(1, runs.Count(r => r.Built));
        var builtAt = File.GetLastWriteTimeUtc(stamp);
        Assert.True(builtAt > stampBefore.LastWriteUtc, "the stamp was not rewritten by the rebuild");
        var waiter = runs.Single(r => !r.Built);
        Assert.True(waiter.ExitedUtc >= builtAt, $"the call that did not build ended at {waiter.ExitedUtc:O}, before the build finished at {builtAt:O}");

        // The rebuild did not rewrite the already patched native library (same inode, same mtime, same length).
        Assert.Equal(nativeAfterFirst, FileIdentity.Of(native));

        // And after it, nothing changed again: no build.
        var after = await Finish(Start("--help"));
        AssertHelp(after);
        Assert.False(after.Built, after.Stderr);
    }
}
