using System.CommandLine;
using System.Globalization;
using DiscreteGrad.Experiments;
using DiscreteGrad.Experiments.Runner;
using DiscreteGrad.Experiments.Runner.Backends;
using Spectre.Console;

namespace DiscreteGrad.Cli;

/// <summary><c>discretegrad run-cell GRID_DIR INDEX</c>: runs one cell of a grid in this process (what the backends start).</summary>
internal static class RunCellCommand
{
    public static Command Create()
    {
        var grid = new Argument<string>("GRID_DIR") { Description = "The grid folder (--out of the experiment command)." };
        var index = new Argument<int>("INDEX") { Description = "The cell's index (the Slurm array index)." };
        var exitCode = new Option<int?>("--exit-code")
        {
            Description = "Do not run the cell: record that its process exited with this code (a crash or kill marks it failed, 75 a stop before its checkpoint preempted; the Slurm array script calls this).",
            Hidden = true,
        };
        var log = new Option<string?>("--log") { Description = "With --exit-code: the file that holds the process's output.", Hidden = true };
        var command = new Command("run-cell", "Run one cell of a grid in this process (the local and Slurm backends start this).") { grid, index, exitCode, log };
        command.Hidden = false;
        command.SetAction(CommandErrors.Guarded(pr =>
        {
            string dir = pr.GetValue(grid)!;
            int i = pr.GetValue(index);
            if (pr.GetValue(exitCode) is not int code) return CellRunner.Run(ExperimentCatalog.All, dir, i, Console.Out);
            var file = GridFolder.Read(dir);
            if (i < 0 || i >= file.Cells.Count) throw new SettingException("INDEX", $"INDEX must be in [0, {file.Cells.Count - 1}] for {dir} (got {i}).");
            string cellDir = GridFolder.CellDirectory(dir, file.Cells[i]);
            CellRunner.RecordExit(cellDir, code, pr.GetValue(log) ?? Path.Combine(cellDir, "cell.log"));
            return 0;
        }, pr => null));
        return command;
    }
}

/// <summary><c>discretegrad report GRID_DIR</c>: the table, plots and markdown of whatever cells have finished.</summary>
internal static class ReportCommand
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var grid = new Argument<string>("GRID_DIR") { Description = "The grid folder." };
        var docs = new Option<string?>("--docs") { Description = "Also write the markdown to this path, its plots beside it." };
        var note = new Option<string?>("--note") { Description = "Text placed near the top of the report." };
        var command = new Command("report", "Aggregate the finished cells of a grid (also while it runs): table, plots, markdown; names missing and failed cells.")
        {
            grid, docs, note,
        };
        command.SetAction(CommandErrors.Guarded(pr =>
        {
            string dir = pr.GetValue(grid)!;
            var file = GridFolder.Read(dir);
            var experiment = ExperimentCatalog.Find(file.Experiment);
            return Print(experiment, dir, pr.GetValue(docs), pr.GetValue(note));
        }, pr => null));
        return command;
    }

    /// <summary>Writes the report, prints its table and every cell that did not finish; 2 when a cell failed.</summary>
    public static int Print(IExperiment experiment, string grid, string? docs, string? note)
    {
        var written = GridReport.Write(experiment, grid, docs, note);
        var outcomes = GridReport.Collect(grid);
        var (header, rows) = GridReport.Table(experiment, outcomes);
        var table = new Table().Title(Markup.Escape(experiment.Title)).Border(TableBorder.Rounded);
        for (int i = 0; i < header.Length; i++) table.AddColumn(i == 0 ? new TableColumn(Markup.Escape(header[i])) : new TableColumn(Markup.Escape(header[i])).RightAligned());
        foreach (var r in rows) table.AddRow(r.Select(Markup.Escape).ToArray());
        if (rows.Count > 0) AnsiConsole.Write(table);
        foreach (var o in outcomes.Where(o => o.State != "done"))
        {
            string colour = o.State == "failed" ? "red" : "yellow";
            AnsiConsole.MarkupLine($"[{colour}]{Markup.Escape(o.State)}:[/] {Markup.Escape(o.Cell.Label)}{(o.Message is null ? "" : ": " + Markup.Escape(o.Message))} [grey](log: {Markup.Escape(Path.Combine(o.Directory, "cell.log"))})[/]");
        }
        foreach (var p in written) AnsiConsole.MarkupLine($"[grey]wrote {Markup.Escape(p)}[/]");
        return outcomes.Any(o => o.State == "failed") ? 2 : 0;
    }
}

/// <summary><c>discretegrad status GRID_DIR</c>: every cell and its state.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var grid = new Argument<string>("GRID_DIR") { Description = "The grid folder." };
        var command = new Command("status", "List the cells of a grid and their state (pending, running, done, failed, preempted, interrupted: its process is gone).") { grid };
        command.SetAction(CommandErrors.Guarded(pr =>
        {
            string dir = pr.GetValue(grid)!;
            var file = GridFolder.Read(dir);
            var table = new Table().Title(Markup.Escape($"{file.Experiment}: {dir}")).Border(TableBorder.Rounded);
            // A grid submitted to Slurm: each cell's task as squeue sees it (pending for resources, requeued, ...).
            string? job = SlurmBackend.LatestJob(dir);
            var queue = job is null ? null : SlurmBackend.QueueStates(job);
            var headers = new List<string> { "index", "cell", "state", "steps", "message" };
            if (queue is not null) headers.Insert(3, $"slurm job {job}");
            foreach (var h in headers) table.AddColumn(h);
            var counts = new Dictionary<string, int>();
            foreach (var c in file.Cells)
            {
                var s = GridFolder.ReadObservedStatus(GridFolder.CellDirectory(dir, c));
                counts[s.State] = counts.GetValueOrDefault(s.State) + 1;
                var row = new List<string>
                {
                    c.Index.ToString(CultureInfo.InvariantCulture), Markup.Escape(c.Label), Markup.Escape(s.State),
                    s.TotalSteps > 0 ? $"{s.Steps}/{s.TotalSteps}" : s.Steps.ToString(CultureInfo.InvariantCulture), Markup.Escape(s.Message ?? ""),
                };
                if (queue is not null)
                {
                    string task = queue.TryGetValue(c.Index, out var q) ? q : s.State is "running" ? "[red]gone (killed? see slurm/*.out; resubmit with --resume)[/]" : "";
                    row.Insert(3, task.StartsWith('[') ? task : Markup.Escape(task));
                }
                table.AddRow(row.ToArray());
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(Markup.Escape(string.Join(", ", counts.Select(kv => $"{kv.Value} {kv.Key}"))));
            return 0;
        }, pr => null));
        return command;
    }
}
