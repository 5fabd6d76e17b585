using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;

namespace DiscreteGrad.Tests.Runner;

/// <summary>The local backend with a fake cell: a script that records its index and exits as a finished cell.</summary>
[Collection(GlobalGenerator.Name)]
public sealed class LocalProcessBackendTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-local-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A grid folder of the toy experiment with one cell per seed.</summary>
    private (string Grid, GridFile File, IReadOnlyList<GridCell> Cells) Grid(string name, int seeds)
    {
        var toy = new ToyExperiment();
        var cells = toy.Plan(new Dictionary<string, string> { ["seeds"] = seeds.ToString(System.Globalization.CultureInfo.InvariantCulture), ["lr"] = "0.1" }, null);
        string grid = Path.Combine(_dir, name);
        Directory.CreateDirectory(grid);
        var file = new GridFile(toy.Name, "test", new GridRunSettings(), cells.ToList());
        GridFolder.Write(grid, file);
        return (grid, file, cells);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Cells_start_in_the_grids_order_at_most_jobs_at_once(int jobs)
    {
        if (OperatingSystem.IsWindows()) return;
        var (grid, file, cells) = Grid($"grid{jobs}", seeds: 6);
        // bash SCRIPT run-cell GRID INDEX (a script run by bash, not executed itself: a process forked elsewhere in the test
        // host while the file was open for writing would make its exec fail): note the start, stay a moment so that later
        // cells queue, note the end.
        string calls = Path.Combine(_dir, $"calls{jobs}");
        string cell = Path.Combine(_dir, $"cell{jobs}");
        File.WriteAllText(cell, $"#!/bin/bash\necho \"start $3\" >> {calls}\nsleep 0.2\necho \"end $3\" >> {calls}\n");

        new LocalProcessBackend(jobs, new CellLauncher("/bin/bash", new[] { cell })).Launch(grid, file, cells, null, CancellationToken.None);

        var lines = File.ReadAllLines(calls);
        // Taken in order; with several workers two processes that start together may write their lines either way round.
        var started = lines.Where(l => l.StartsWith("start ")).Select(l => int.Parse(l[6..])).ToList();
        Assert.Equal(cells.Select(c => c.Index).Order(), started.Order());
        for (int position = 0; position < started.Count; position++)
            Assert.True(Math.Abs(started[position] - cells[position].Index) < jobs, $"cell {started[position]} started at position {position}: {string.Join(", ", started)}");
        int running = 0, most = 0;
        foreach (var l in lines) most = Math.Max(most, running += l.StartsWith("start ") ? 1 : -1);
        Assert.Equal(jobs, most);
    }

    [Fact]
    public void A_cell_whose_process_cannot_start_fails_with_one_line_and_the_others_still_run()
    {
        if (OperatingSystem.IsWindows()) return;
        var (grid, file, cells) = Grid("missing", seeds: 2);
        string missing = Path.Combine(_dir, "no-such-cell");

        new LocalProcessBackend(1, new CellLauncher(missing, Array.Empty<string>())).Launch(grid, file, cells, null, CancellationToken.None);

        foreach (var c in cells)
        {
            var status = GridFolder.ReadStatus(GridFolder.CellDirectory(grid, c));
            Assert.Equal("failed", status.State);
            Assert.StartsWith("its process could not be started: ", status.Message);
            Assert.DoesNotContain('\n', status.Message!);
        }
    }
}
