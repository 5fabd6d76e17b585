using System.Diagnostics;

namespace DiscreteGrad.Tests.Cli;

/// <summary>Runs the built command-line tool (<c>dotnet DiscreteGrad.Cli.dll ...</c>) as a process and captures its output.</summary>
internal static class CliProcess
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The tool's dll of the configuration these tests were built in.</summary>
    public static string Dll { get; } = Path.Combine(RepositoryRoot, "src", "DiscreteGrad.Cli", "bin",
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release", "net10.0", "DiscreteGrad.Cli.dll");

    public static (int ExitCode, string Output) Run(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = workingDirectory;   // error logs and caches go under the test's folder
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(true);
            throw new TimeoutException($"discretegrad {string.Join(' ', args)} did not finish in 120 s");
        }
        return (p.ExitCode, stdout + stderr.GetAwaiter().GetResult());
    }

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir != null && !File.Exists(Path.Combine(dir, "DiscreteGrad.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException($"no DiscreteGrad.sln above {AppContext.BaseDirectory}");
    }
}
