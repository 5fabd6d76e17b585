namespace DiscreteGrad.Tests.Cli;

/// <summary>
/// The tool's output read from a file (stdout redirected, as in a log): progress lines that end each cell on its final
/// evaluation, a resumed grid's finished cells shown done, tables whose rows are never wrapped, one seed's numbers without
/// a spread, and a cell whose process is gone shown as interrupted.
/// </summary>
public sealed class RedirectedOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-redirect-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string[] Lines(string output) => output.Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void A_grid_printed_to_a_file_ends_each_cell_at_100_percent_and_keeps_table_rows_whole()
    {
        string grid = Path.Combine(_dir, "grid");
        string[] Grid(string seeds, params string[] extra) => new[]
        {
            "polynomial", "--estimators", "st,reinmax", "--powers", "1.5", "--seeds", seeds, "--steps", "40", "--log-every", "20",
            "--out", grid, "--jobs", "1", "--threads", "1",
        }.Concat(extra).ToArray();

        var (code, output) = CliProcess.Run(_dir, Grid("1"));
        Assert.True(code == 0, output);
        var lines = Lines(output);
        foreach (var label in new[] { "[1/2] ST, p = 1.5 seed 0", "[2/2] ReinMax, p = 1.5 seed 0" })
        {
            var mine = lines.Where(l => l.StartsWith(label + ":", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(mine);
            Assert.Matches(@": done 100% \(40/40\)  train_loss [0-9.]+  exact_loss [0-9.]+  excess_loss [0-9.]+$", mine[^1]);
            Assert.DoesNotContain(mine, l => l.EndsWith(": 0%", StringComparison.Ordinal));
        }
        // The summary table: each row on one line with every column, far past 80 characters; one seed, so no "+-".
        var row = Assert.Single(lines, l => l.Contains("│ ReinMax, p = 1.5 ", StringComparison.Ordinal));
        Assert.True(row.Length > 80, row);
        Assert.Equal(lines.First(l => l.Contains("│ run ", StringComparison.Ordinal)).Count(c => c == '│'), row.Count(c => c == '│'));
        Assert.DoesNotContain("+-", row);
        Assert.DoesNotContain("+-", File.ReadAllText(Path.Combine(grid, "report.md")).Split("mean +- sample std")[0]);

        // Resumed with a second seed: the finished cells are shown done at 100% before the new ones run.
        (code, output) = CliProcess.Run(_dir, Grid("2", "--resume"));
        Assert.True(code == 0, output);
        lines = Lines(output);
        int firstNew = Array.FindIndex(lines, l => l.Contains("seed 1:", StringComparison.Ordinal));
        Assert.Matches(@"^\[1/4\] ST, p = 1\.5 seed 0: done 100% \(40/40\)  train_loss", lines.Single(l => l.Contains("ST, p = 1.5 seed 0:", StringComparison.Ordinal)));
        Assert.True(Array.FindIndex(lines, l => l.Contains("ReinMax, p = 1.5 seed 0: done 100%", StringComparison.Ordinal)) < firstNew, output);
        Assert.Contains(" +- ", Assert.Single(lines, l => l.Contains("│ ReinMax, p = 1.5 ", StringComparison.Ordinal)));   // two seeds now

        // `report` and `status` to a file: whole rows.
        (code, output) = CliProcess.Run(_dir, "report", grid);
        Assert.True(code == 0, output);
        row = Assert.Single(Lines(output), l => l.Contains("│ ST, p = 1.5 ", StringComparison.Ordinal));
        Assert.Equal(8, row.Count(c => c == '│'));   // run, seeds and the 5 metrics

        // A cell whose status says running while its process is gone (the grid was killed): interrupted.
        string cell = Directory.GetDirectories(Path.Combine(grid, "cells")).OrderBy(d => d, StringComparer.Ordinal).First();
        string statusFile = Path.Combine(cell, "status.json");
        File.WriteAllText(statusFile, File.ReadAllText(statusFile).Replace("\"done\"", "\"running\""));
        File.WriteAllText(Path.Combine(cell, ".lock.owner"), $"process {DeadPid()} on {Environment.MachineName}");
        (code, output) = CliProcess.Run(_dir, "status", grid);
        Assert.True(code == 0, output);
        Assert.Contains("│ interrupted │", output);
        Assert.Contains("1 interrupted", output);
        Assert.Contains("3 done", output);
    }

    private static int DeadPid()
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }
}
