namespace DiscreteGrad.Tests.Cli;

/// <summary>
/// The tool calls itself `discretegrad` (its command name as a .NET tool), not by its assembly's name, and reports the
/// packages' version.
/// </summary>
public sealed class UsageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-usage-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string[] Lines(string output) => output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void Help_names_the_command_discretegrad_at_the_root_and_in_subcommands()
    {
        var (code, output) = CliProcess.Run(_dir, "--help");
        Assert.Equal(0, code);
        Assert.Contains("  discretegrad [command] [options]", Lines(output));
        Assert.DoesNotContain("DiscreteGrad.Cli", output, StringComparison.Ordinal);

        (code, output) = CliProcess.Run(_dir, "polynomial", "--help");
        Assert.Equal(0, code);
        Assert.Contains("  discretegrad polynomial [options]", Lines(output));
    }

    [Fact]
    public void Version_is_the_package_version()
    {
        var (code, output) = CliProcess.Run(_dir, "--version");
        Assert.Equal(0, code);
        string expected = typeof(DiscreteGrad.discrete).Assembly.GetName().Version!.ToString(3);
        Assert.StartsWith(expected, output.Trim(), StringComparison.Ordinal); // e.g. 0.1.0+<commit>
    }
}
