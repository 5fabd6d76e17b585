namespace DiscreteGrad.Tests.Cli;

/// <summary>The vae, vae-bias and bernoulli-vae commands refuse bad settings before any cell starts, with one line naming
/// the option (and its range or the reason) and exit code 2.</summary>
public sealed class VaeCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-vae-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Theory]
    [InlineData("error: --epochs must be an integer in [1, 100000] (got '0'). (see --help)", "vae", "--epochs", "0")]
    [InlineData("error: --estimators: unknown value 'foo'; allowed: all, every, st, stgs, gst, grmck, reinmax, reinforce, nvil, vimco, muprop, gs, zgr, dstgs, dgs, indecater, rebar, relax. (see --help)",
        "vae", "--estimators", "st,foo")]
    [InlineData("error: --configs: 8x6 has 8^6 codes, more than the enumeration limit 65536.", "vae-bias", "--configs", "8x6")]
    [InlineData("error: every cell of the grid is left out: --k 3: ARM evaluates f at antithetic pairs: K must be even and >= 2 (got 3).",
        "bernoulli-vae", "--estimators", "arm", "--k", "3")]
    public void A_bad_setting_is_one_line_naming_the_option(string expected, params string[] args)
    {
        var (code, output) = CliProcess.Run(_dir, args.Append("--out").Append(Path.Combine(_dir, "out")).ToArray());
        Assert.Equal(2, code);
        Assert.Equal(expected, output.Trim());
        Assert.False(Directory.Exists(Path.Combine(_dir, "out", "cells")));
    }
}
