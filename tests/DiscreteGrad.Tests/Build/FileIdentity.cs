using System.Diagnostics;

namespace DiscreteGrad.Tests.Build;

/// <summary>Which file a path names right now (inode) and when it was last written, for tests of how files are replaced.</summary>
internal readonly record struct FileIdentity(long Inode, DateTime LastWriteUtc, long Length)
{
    /// <summary>The identity of the file at <paramref name="path"/> (the inode comes from stat(1)).</summary>
    public static FileIdentity Of(string path)
    {
        var psi = new ProcessStartInfo("stat", ["-L", "-c", "%i", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start stat");
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"stat {path} failed: {error}");
        return new FileIdentity(long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture),
            File.GetLastWriteTimeUtc(path), new FileInfo(path).Length);
    }
}
