using System.Diagnostics;
using System.Globalization;
using DiscreteGrad.Experiments.Figures;
using DiscreteGrad.Experiments.ImleGradients;
using DiscreteGrad.Experiments.Reporting;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;

namespace DiscreteGrad.Tests.Runner;

/// <summary>
/// What a reader of a grid sees: the progress lines for a log (each cell ending on its final evaluation, cells finished
/// before a resume shown done), the state of a cell whose process is gone, one-seed numbers without a spread, and
/// report sections merged into an existing document.
/// </summary>
[Collection(GlobalGenerator.Name)]
public sealed class GridProgressAndStatusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dg-progress-").FullName;
    private static readonly ToyExperiment Toy = new();

    public void Dispose() => Directory.Delete(_dir, true);

    private static GridCell Cell(int index, string label) => new(index, $"k{index}", label, label, new Dictionary<string, string>());

    private static string[] Lines(StringWriter w) => w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    [Fact]
    public void The_progress_log_prints_milestones_and_ends_each_cell_once_with_its_final_evaluation()
    {
        var w = new StringWriter();
        var log = new GridProgressLog(w, cells: 3, milestonePercent: 10);
        var a = Cell(0, "ST seed 1");
        var b = Cell(2, "GST seed 1");
        log.Update(a, new CellStatus("pending"));
        log.Update(a, new CellStatus("running", 0, 200));
        log.Update(a, new CellStatus("running", 10, 200));                       // 5%: below the next milestone
        log.Update(a, new CellStatus("running", 24, 200, "mse 0.5"));            // 12%
        log.Update(a, new CellStatus("running", 30, 200, "mse 0.4"));            // 15%: same milestone
        log.Update(a, new CellStatus("running", 90, 200, "mse 0.2"));            // 45%: one line, not one per milestone passed
        log.Update(a, new CellStatus("running", 200, 200, "mse 0.1"));           // all steps, not finished yet
        log.Update(a, new CellStatus("done", 200, 200, "mse 0.05"));
        log.Update(a, new CellStatus("done", 200, 200, "mse 0.05"));             // reported once
        log.Update(b, new CellStatus("running", 5, 0));
        log.Update(b, new CellStatus("failed", 7, 0, "run 'toy' stopped at step 7: the loss is NaN."));
        Assert.Equal(new[]
        {
            "[1/3] ST seed 1: running 0% (0/200)",
            "[1/3] ST seed 1: 12% (24/200)  mse 0.5",
            "[1/3] ST seed 1: 45% (90/200)  mse 0.2",
            "[1/3] ST seed 1: done 100% (200/200)  mse 0.05",
            "[3/3] GST seed 1: running step 5",
            "[3/3] GST seed 1: failed at step 7: run 'toy' stopped at step 7: the loss is NaN.",
        }, Lines(w));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GridProgressLog(w, cells: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GridProgressLog(w, cells: 1, milestonePercent: 0));
    }

    [Fact]
    public void A_resumed_grid_shows_the_cells_finished_before_as_done_at_100_percent_with_their_final_evaluation()
    {
        string grid = Path.Combine(_dir, "g");
        var backend = new InProcessBackend(ToyExperiment.Catalog);
        var first = new StringWriter();
        var one = Toy.Plan(new Dictionary<string, string> { ["seeds"] = "1" }, null);
        GridRunner.Run(Toy, one, new GridOptions(grid), backend, new GridProgressLog(first, one.Count));
        var status = GridFolder.ReadStatus(GridFolder.CellDirectory(grid, one[0]));
        Assert.Equal("done", status.State);
        Assert.StartsWith("mse ", status.Message);   // the final evaluation
        Assert.Equal(new[] { $"[1/1] lr 0.01 seed 1: done 100% (30/30)  {status.Message}" }, Lines(first));

        var second = new StringWriter();
        var two = Toy.Plan(new Dictionary<string, string> { ["seeds"] = "2" }, null);
        GridRunner.Run(Toy, two, new GridOptions(grid, Resume: true), backend, new GridProgressLog(second, two.Count));
        var lines = Lines(second);
        Assert.Equal(2, lines.Length);
        Assert.Equal($"[1/2] lr 0.01 seed 1: done 100% (30/30)  {status.Message}", lines[0]);   // before the cell that runs
        Assert.StartsWith("[2/2] lr 0.01 seed 2: done 100% (30/30)  mse ", lines[1]);
    }

    [Fact]
    public void A_running_cell_whose_process_is_gone_reads_as_interrupted()
    {
        string cell = Path.Combine(_dir, "cell");
        Directory.CreateDirectory(cell);
        string owner = Path.Combine(cell, ".lock.owner");
        void Owner(int pid, string host) => File.WriteAllText(owner, $"process {pid} on {host}");
        GridFolder.WriteStatus(cell, new CellStatus("running", 5, 10, "mse 0.3", Environment.ProcessId, DateTime.UtcNow));

        Owner(Environment.ProcessId, Environment.MachineName);   // alive, started before the status was written
        Assert.Equal("running", GridFolder.ReadObservedStatus(cell).State);
        Assert.Equal((Environment.ProcessId, Environment.MachineName), OutputLock.Holder(cell));

        using (var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            gone.WaitForExit();
            Owner(gone.Id, Environment.MachineName);
            var s = GridFolder.ReadObservedStatus(cell);
            Assert.Equal("interrupted", s.State);
            Assert.Equal($"its process {gone.Id} is gone (killed?); --resume continues it from its last checkpoint", s.Message);
            Assert.Equal(5, s.Steps);
            Assert.Equal("running", GridFolder.ReadStatus(cell).State);   // the file itself is not rewritten
        }

        Owner(Environment.ProcessId, "some-other-node");          // another machine's process cannot be checked here
        Assert.Equal("running", GridFolder.ReadObservedStatus(cell).State);

        // The same process id, but a process that started after the status was written: not the cell's process.
        GridFolder.WriteStatus(cell, new CellStatus("running", 5, 10, null, Environment.ProcessId, new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
        Owner(Environment.ProcessId, Environment.MachineName);
        Assert.Equal("interrupted", GridFolder.ReadObservedStatus(cell).State);

        File.Delete(owner);                                        // a released lock: nobody runs the cell
        Assert.Null(OutputLock.Holder(cell));
        Assert.Equal("no process holds it (killed?); --resume continues it from its last checkpoint", GridFolder.ReadObservedStatus(cell).Message);

        GridFolder.WriteStatus(cell, new CellStatus("done", 10, 10, "mse 0.1"));
        Assert.Equal("done", GridFolder.ReadObservedStatus(cell).State);   // only a running state is checked
    }

    [Fact]
    public void One_value_prints_the_mean_alone_and_several_print_mean_and_spread()
    {
        Assert.Equal("0.500000", GridReport.MeanStd(new[] { 0.5 }, "F6"));
        Assert.Equal("0.500000", GridReport.MeanStd(new[] { 0.5, double.NaN }, "F6"));   // one finite value
        Assert.Equal("2.000000 +- 1.000000", GridReport.MeanStd(new[] { 1.0, 2.0, 3.0 }, "F6"));
        Assert.Equal("-", GridReport.MeanStd(new[] { double.NaN }, "F6"));
        Assert.Equal("1.50", Statistics.FormatMeanSpread(1.5, 0, 1, x => x.ToString("F2", CultureInfo.InvariantCulture)));
        Assert.Equal("1.50 ± 0.00", Statistics.FormatMeanSpread(1.5, 0, 2, x => x.ToString("F2", CultureInfo.InvariantCulture), " ± "));
        Assert.Equal("0.250", MeanSe.Of(new[] { 0.25 }).ToString());
        Assert.Equal("0.500 ± 0.250", MeanSe.Of(new[] { 0.25, 0.75 }).ToString());
        Assert.Equal("0.128", FigureOutput.Pm(0.128, 0, 1, FigureOutput.G));
        Assert.Equal("0.128 ± 0", FigureOutput.Pm(0.128, 1e-12, 4, FigureOutput.G));
    }

    [Fact]
    public void A_report_written_into_a_document_replaces_only_its_own_section_and_keeps_the_others()
    {
        string report = "# Gradient bias\n\nintro\n\n```bash\n# a comment, not a heading\n```\n\n## Table\n\n| a |\n";
        string doc = "# VAE\n\ntext before\n\n<!-- vae-bias:begin -->\nold section\n<!-- vae-bias:end -->\n\ntext after\n";
        Assert.Equal("# VAE\n\ntext before\n\n<!-- vae-bias:begin -->\n## Gradient bias\n\nintro\n\n```bash\n# a comment, not a heading\n```\n\n### Table\n\n| a |\n<!-- vae-bias:end -->\n\ntext after\n",
            GridReport.Merge(doc, "vae-bias", report));
        // The whole-document report of another experiment keeps the section after it.
        Assert.Equal("# VAE report\n\n<!-- vae-bias:begin -->\nold section\n<!-- vae-bias:end -->\n", GridReport.Merge(doc, "vae", "# VAE report\n"));
        Assert.Equal("# VAE report\n", GridReport.Merge("# VAE\n\nno sections\n", "vae", "# VAE report\n"));

        // Through GridReport.Write: --docs into an existing document with the toy's section.
        string grid = Path.Combine(_dir, "w");
        GridRunner.Run(Toy, Toy.Plan(new Dictionary<string, string> { ["seeds"] = "1" }, null), new GridOptions(grid), new InProcessBackend(ToyExperiment.Catalog));
        string docs = Path.Combine(_dir, "doc.md");
        File.WriteAllText(docs, $"# Document\n\n{GridReport.SectionBegin("toy")}\nold\n{GridReport.SectionEnd("toy")}\n\nend\n");
        GridReport.Write(Toy, grid, docs);
        string merged = File.ReadAllText(docs);
        Assert.StartsWith("# Document\n\n<!-- toy:begin -->\n## toy\n", merged);
        Assert.EndsWith("<!-- toy:end -->\n\nend\n", merged);
        Assert.DoesNotContain("old", merged);
        Assert.StartsWith("# toy\n", File.ReadAllText(Path.Combine(grid, "report.md")));   // the grid's own report stays whole
    }
}
